"""mmreason.core: the shared layer (records, I/O, models, generation, grading, config)."""
