"""mmreason.pipeline: the one job that chains synth -> train (SFT, RL) -> eval (conf/pipeline.yaml)."""
