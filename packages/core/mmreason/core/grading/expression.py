"""`expression` answers: cheap exact / numeric comparisons first, math-verify in a worker only when needed."""

from __future__ import annotations

import re
import time

from . import _mathverify
from .numbers import parse_number, parsed_match
from .text import unwrap_latex_text

MAX_EXPRESSION_CHARS = 1000  # a predicted expression longer than this (and 4x the gold) is wrong

_NOISE = re.compile(r"\\left|\\right|\\displaystyle|\\[!,;: ]|~|\s+")


def canonical(s: str) -> str:
    """Spacing, \\left/\\right, \\dfrac/\\tfrac, $ delimiters, \\text{} and a final period removed."""
    s = unwrap_latex_text(s).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return _NOISE.sub("", s).rstrip(".")


def cheap_verdict(pred: str, gold: str, rel_tol: float) -> bool | None:
    """True/False when text or numbers settle it, None when it needs math-verify."""
    cp, cg = canonical(pred), canonical(gold)
    if not cp:
        return False
    if cp == cg:
        return True
    p, g = parse_number(pred), parse_number(gold)
    if p is not None and g is not None:
        return parsed_match(p, g, rel_tol)
    return None


MIN_WORKER_SECONDS = 0.05  # what a check gets even when the cheap steps used up the budget


def grade_expression(pred: str, gold: str, deadline: float, rel_tol: float) -> tuple[bool, str]:
    """(correct, how) with math-verify answering by `deadline` (time.monotonic());
    how is "exact", "numeric", "math-verify", "timeout" or "too long"."""
    v = cheap_verdict(pred, gold, rel_tol)
    if v is not None:
        return v, "exact" if v and canonical(pred) == canonical(gold) else "numeric"
    if len(pred) > max(MAX_EXPRESSION_CHARS, 4 * len(gold)):
        return False, "too long"
    budget = max(deadline - time.monotonic(), MIN_WORKER_SECONDS)
    verdict = _mathverify.pool().verify(gold, pred, budget)
    if verdict is None:
        return False, "timeout"
    return verdict, "math-verify"
