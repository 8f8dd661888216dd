"""Importing this module warms math-verify up: it exists to be preloaded by the forkserver.

sympy and latex2sympy import much of themselves lazily, on the first comparison of each kind (a first
symbolic check costs ~0.5-1.5 s, the next one milliseconds). Running one check of each common kind here,
in the forkserver, means every worker forked from it starts warm, and a worker replaced after a timeout
is ready at once. A worker started with `spawn` imports this module itself before it says it is ready.
"""

from __future__ import annotations

import logging

from ._mathverify import check

WARM_PAIRS = (  # (gold, prediction): numbers, polynomials, sets, intervals, equations, trig, roots, matrices
    ("1", "1"),
    ("1+x", "x+1"),
    ("(x+1)^2", "x^2+2x+1"),
    ("\\{1,2\\}", "\\{2,1\\}"),
    ("(1,2]", "[1,2]"),
    ("2", "x=2"),
    ("1", "\\sin^2 x+\\cos^2 x"),
    ("\\frac{\\pi}{2}", "\\pi/2"),
    ("2\\sqrt{2}", "\\sqrt{8}"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}"),
    ("x<2", "x\\le 2"),
)

logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # its "timeout is disabled" warnings
for _gold, _pred in WARM_PAIRS:
    try:
        check(_gold, _pred)
    except Exception:
        pass
WARM = True
