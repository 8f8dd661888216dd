"""Answer extraction and grading, shared by synth (answer checks), train (rewards) and eval (scores).

    extract_answer(text) -> str | None            extract(text) -> Extraction(answer, source, rejected)
    grade(prediction, answer, answer_type, choices=(), timeout=1.0, *, rel_tol=1e-4, lenient=False) -> bool
    grade_detailed(...) -> GradeResult(correct, extracted, reason)
    gold_error(answer, answer_type, choices=()) -> str | None   why a gold answer is unreadable (load-time check)
    normalize_number(s) -> float | None           parse_number(s) -> ParsedNumber(value, percent) | None
    numbers_match(pred, gold, rel_tol=1e-4)       normalize_text(s) -> str    read_boolean(s, lenient=True) -> bool | None
    warmup() / shutdown()                         the math-verify worker pool (expression answers)

Modules: extract (where the answer is), numbers, text, choice, expression (one per answer kind), grade
(the dispatch), _mathverify (worker processes with a wall-clock budget that works off the main thread).
"""

from ._mathverify import shutdown, warmup
from .extract import Extraction, extract, extract_answer
from .grade import GradeResult, gold_error, grade, grade_detailed
from .numbers import ParsedNumber, normalize_number, numbers_match, parse_number
from .text import normalize_text, read_boolean

__all__ = [
    "Extraction",
    "GradeResult",
    "ParsedNumber",
    "extract",
    "extract_answer",
    "gold_error",
    "grade",
    "grade_detailed",
    "normalize_number",
    "normalize_text",
    "numbers_match",
    "parse_number",
    "read_boolean",
    "shutdown",
    "warmup",
]
