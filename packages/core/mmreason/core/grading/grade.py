"""`grade(prediction, answer, answer_type, choices)`: is the model's whole response right?

The response's answer is extracted first (`extract.py`); a rejected extraction (several different boxes,
an empty or unclosed box) is wrong; when nothing is extracted and the response is short (`FALLBACK_CHARS`),
the whole stripped response is the answer. Then one rule per `answer_type` (the record schema's five types):

- choice:     the option the whole answer picks (a letter, "B) <option B's text>" or exactly one option's
              text; several -> none; see `choice.py`).
- number:     `numbers.py`: relative tolerance `rel_tol` (1e-4), absolute 1e-8, units/currency/thousands
              separators stripped, percent read both ways; a LaTeX-looking answer goes to math-verify.
- expression: exact text after canonicalisation, then numbers, then math-verify in a worker (budget).
- text:       normalised text equality (case, punctuation, articles, whitespace, \\text{}), or equal numbers.
- boolean:    the answer is one yes/true/correct or no/false/incorrect word.

Strictness (`lenient`, config `reward.lenient` / eval `benchmark_args.<name>.lenient`, default False):
strict is the RL reward's rule, made so that a policy cannot learn to game it. `lenient=True` relaxes
exactly three things, for scoring free-form replies of models not trained on the format:
- choice:  a letter followed by text naming no other option ("B, since it is longest"), and a sentence
           naming one option letter ("Option B is the right one");
- boolean: a short phrase votes ("No, it is not true" -> no; "yes or no" -> none);
- an unclosed `<answer>` tag (truncated reply) is read.
Never relaxed: LaTeX is parsed before any word or letter is read (`\\left(x\\right)` says no "right",
`\\sqrt[3]{74}` picks no option "3"), an option's text counts only as the whole answer, an unclosed
`\\boxed{` is no answer, and conflicting boxes are wrong.

Nothing here calls `eval`; the only unbounded computation (sympy) runs in a killable worker.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import NamedTuple

from .choice import gold_index, pick_option
from .expression import grade_expression
from .extract import extract
from .numbers import REL_TOL, parse_number, parsed_match
from .text import normalize_text, read_boolean, unwrap_latex_text

ANSWER_TYPES = ("choice", "number", "expression", "text", "boolean")  # the record schema's types, one rule each

FALLBACK_CHARS = 128  # a response with no extractable answer is its own answer only if this short
MAX_TEXT_ANSWER_CHARS = 1000

_MATHY = re.compile(r"\\[a-zA-Z]+|\^|\*\*|sqrt|\bpi\b|[+*/()]|\d\s*-")
_ASSIGN = re.compile(r"^.{0,40}?(?:=|\\approx|≈)\s*(?=\S)")


class GradeResult(NamedTuple):
    correct: bool
    extracted: str | None  # the answer that was graded (None: nothing usable in the response)
    reason: str  # "correct", "wrong", "no answer", "timeout", or why the response was rejected


def _gold_number(answer: str):
    p = parse_number(answer)
    if p is None:
        p = parse_number(_ASSIGN.sub("", answer, count=1))
    return p


def _grade_number(pred: str, answer: str, g, deadline: float, rel_tol: float) -> tuple[bool, str]:
    if g is None:  # gold like "\sqrt{2}" typed as a number: compare as expressions
        return grade_expression(pred, answer, deadline, rel_tol)
    p = parse_number(pred)
    if p is None:  # "x = 5", "2+3 = 5", "AB \approx 5.2 cm": the value after the last '='
        tail = pred
        while (t := _ASSIGN.sub("", tail, count=1)) != tail:
            tail = t
        p = parse_number(tail) if tail != pred else None
    if p is not None:
        ok = parsed_match(p, g, rel_tol)
        return ok, "correct" if ok else "wrong"
    if _MATHY.search(pred) and len(pred) <= 200:  # "2^{10}", "\frac{\pi}{2}": let math-verify decide
        return grade_expression(pred, answer, deadline, rel_tol)
    return False, "wrong"


def _grade_text(pred: str, answer: str, rel_tol: float) -> bool:
    if len(pred) > MAX_TEXT_ANSWER_CHARS:
        return False
    p, g = normalize_text(pred), normalize_text(answer)
    if p and p == g:
        return True
    pn, gn = parse_number(pred), parse_number(answer)
    return pn is not None and gn is not None and parsed_match(pn, gn, rel_tol)


def _read_gold(answer, answer_type: str, choices: list[str]):
    """The gold as its type reads it (choice: option index; boolean: bool; number: ParsedNumber, or None for
    a math expression such as "\\sqrt{2}"; else the text); ValueError when it cannot be read."""
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"answer_type {answer_type!r} is not one of {ANSWER_TYPES}")
    if not isinstance(answer, str):
        raise ValueError(f"gold answer must be a string, got {type(answer).__name__}: {answer!r}")
    if not answer.strip():
        raise ValueError("gold answer is empty")
    if answer_type == "choice":
        return gold_index(answer, choices)
    if answer_type == "boolean":
        gold = read_boolean(answer, lenient=True)
        if gold is None:
            raise ValueError(f"boolean answer {answer!r} is not yes/no/true/false/correct/incorrect")
        return gold
    if answer_type == "number":
        gold = _gold_number(answer)
        if gold is None and not _MATHY.search(unwrap_latex_text(answer)):
            raise ValueError(f"number answer {answer!r} is neither a number nor a math expression")
        return gold
    return answer


def gold_error(answer, answer_type: str, choices: Sequence[str] = ()) -> str | None:
    """Why `grade` cannot read gold `answer` as an `answer_type` (None: it can). Used at load time by
    `core.schema.validate_record`, so that bad data stops before training instead of scoring 0 forever."""
    try:
        _read_gold(answer, answer_type, [str(c) for c in choices or ()])
    except ValueError as e:
        return str(e)
    return None


def grade_detailed(
    prediction: str,
    answer: str,
    answer_type: str,
    choices: Sequence[str] = (),
    timeout: float = 1.0,
    *,
    rel_tol: float = REL_TOL,
    lenient: bool = False,
) -> GradeResult:
    """`grade` with the extracted answer and the reason (for reports and debugging)."""
    deadline = time.monotonic() + timeout
    choices = [] if choices is None else [str(c) for c in choices]  # lists, tuples, arrays
    gold = _read_gold(answer, answer_type, choices)  # unreadable gold is a data error: raise before the prediction
    if not isinstance(prediction, str):
        return GradeResult(False, None, "no answer")
    ex = extract(prediction, lenient)
    if ex.rejected:
        return GradeResult(False, None, ex.rejected)
    pred = ex.answer
    if pred is None and len(prediction) <= 4 * FALLBACK_CHARS:
        stripped = prediction.strip()
        pred = stripped if len(stripped) <= FALLBACK_CHARS else None
    if not pred or not pred.strip():
        return GradeResult(False, None, "no answer")
    pred = pred.strip()

    how = None
    if answer_type == "choice":
        n_options = len(choices) if choices else max(4, gold + 1)
        ok = pick_option(pred, choices, n_options, lenient) == gold
    elif answer_type == "number":
        ok, how = _grade_number(pred, answer, gold, deadline, rel_tol)
    elif answer_type == "expression":
        ok, how = grade_expression(pred, answer.strip(), deadline, rel_tol)
    elif answer_type == "text":
        ok = _grade_text(pred, answer, rel_tol)
    else:
        ok = len(pred) <= MAX_TEXT_ANSWER_CHARS and read_boolean(pred, lenient) is gold
    reason = "correct" if ok else ("timeout" if how == "timeout" else "wrong")
    return GradeResult(bool(ok), pred, reason)


def grade(
    prediction: str,
    answer: str,
    answer_type: str,
    choices: Sequence[str] = (),
    timeout: float = 1.0,
    *,
    rel_tol: float = REL_TOL,
    lenient: bool = False,
) -> bool:
    """True when the response `prediction` answers gold `answer` of `answer_type` correctly.

    `timeout` is the wall-clock budget (seconds) for the one step that can be slow, math-verify on an
    `expression` (or LaTeX `number`) answer; running out grades False. Works from any thread.
    `lenient` relaxes the three rules listed in the module docstring (default False: the RL reward's rule).
    Raises ValueError for an unknown `answer_type` or a gold answer its type cannot read (`gold_error`).
    """
    return grade_detailed(prediction, answer, answer_type, choices, timeout, rel_tol=rel_tol, lenient=lenient).correct

