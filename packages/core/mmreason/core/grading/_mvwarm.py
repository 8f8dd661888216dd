"""The worker side of math-verify: `check`, and importing this module warms it up.

sympy and latex2sympy import much of themselves lazily, on the first comparison of each kind (a first
symbolic check costs ~0.5-1.5 s, the next one milliseconds). The `_worker` server imports this module
once, running one check of each common kind, so every worker it forks starts warm and a worker replaced
after a timeout is ready at once. `check` lives here, not in `_mathverify` (which starts the server), so
the worker side never imports the parent side.
"""

from __future__ import annotations

import logging


def check(gold: str, pred: str) -> bool:
    """math-verify's verdict with its own (signal-based) timeouts off; run this only in a worker.

    Only the LaTeX parser is used: math-verify's plain-expression target goes through sympy's
    `parse_expr` (an `eval` underneath, though on regex-filtered text); LaTeX parsing never evaluates code.
    """
    from math_verify import LatexExtractionConfig, parse, verify

    latex_only = [LatexExtractionConfig()]
    gold, pred = gold.replace("**", "^"), pred.replace("**", "^")  # Python powers, LaTeX's way
    g = parse(f"\\boxed{{{gold}}}", extraction_config=latex_only, parsing_timeout=None)
    p = parse(f"\\boxed{{{pred}}}", extraction_config=latex_only, parsing_timeout=None)
    if not g or not p:
        return False
    return bool(verify(g, p, timeout_seconds=None))


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
