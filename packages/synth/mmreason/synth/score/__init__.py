"""Quality scoring: every dimension is stored in the record's `quality` JSON; thresholds come from config.

    support     every fact the reasoning uses is an edge of the graph attached to the sampled path,
                and the answer recomputes from the graph (support.py)
    difficulty  pass rate of a solver model over k samples, graded by core.grading (difficulty.py)
    complexity  hops, modalities, operations (complexity.py)
    diversity   near-duplicate removal with MinHash LSH (diversity.py)
"""

from .complexity import complexity
from .difficulty import solver_pass_rates
from .diversity import dedup, signature_text
from .support import support

__all__ = ["complexity", "dedup", "signature_text", "solver_pass_rates", "support"]
