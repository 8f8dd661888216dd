"""Answer rules shared by the benchmark scorers: pure functions on strings.

The general path is `mmreason.core.grading` (`extract_answer`, `grade`); these are the small
benchmark-style rules that official scoring scripts apply on top of (or instead of) it: option letters,
yes/no, numbers with π, Levenshtein-closest choice. Each cites the script it mirrors.
"""

from __future__ import annotations

import math
import re

LETTERS = "ABCDEFGHIJ"


def extract_answer(text: str) -> str | None:
    """The final answer of a response (\\boxed{}, "answer is", <answer> tags …) via core.grading."""
    from mmreason.core.grading import extract_answer as _extract

    return _extract(text or "")


def grade(prediction: str, answer: str, answer_type: str, choices=(), timeout: float = 1.0, lenient: bool = False) -> bool:
    """Rule-based equivalence of a whole response and the gold answer (core.grading.grade)."""
    from mmreason.core.grading import grade as _grade

    return bool(_grade(prediction or "", answer, answer_type, choices=tuple(choices), timeout=timeout, lenient=lenient))


def final_answer(text: str) -> str:
    """The extracted final answer, else the last non-empty line of the response (stripped)."""
    ext = extract_answer(text)
    if ext is not None and ext.strip():
        return ext.strip()
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


_LETTER_PATTERNS = [
    r"^\(?([A-J])\)?$",  # "B", "(B)"
    r"^\(?([A-J])\)?[\.\):：]",  # "B." "B)" "(B)." "B:"
    r"(?:answer|option|choice)\s*(?:is|:|：)?\s*\(?\**\s*([A-J])\b",  # "the answer is (B)"
    r"\\boxed\{\s*\(?([A-J])\)?\s*\}",  # \boxed{B}
    r"^\**\(?([A-J])\)?\**\s",  # "**B** because"
]


def choice_letter(text: str | None, n_choices: int | None = None) -> str | None:
    """An option letter from a short answer or response ("B", "(B) 12", "the answer is B"), else None."""
    if not text:
        return None
    s = text.strip().strip("$* ").replace("\\text{", "").replace("\\mathrm{", "")
    allowed = LETTERS[: n_choices or len(LETTERS)]
    for pat in _LETTER_PATTERNS:
        hits = re.findall(pat, s, flags=re.IGNORECASE if "answer" in pat else 0)
        hits = [h.upper() for h in hits if h.upper() in allowed]
        if hits:
            return hits[-1]
    return None


def letter_set(text: str | None, allowed: str = LETTERS + "0123456789") -> frozenset[str]:
    """The set of option labels (capital letters, digits) in "A, C" / "B and D" / "3" (LogicVista)."""
    if not text:
        return frozenset()
    tokens = re.findall(r"(?<![A-Za-z0-9])([A-J]|\d)(?![A-Za-z0-9])", text)
    return frozenset(t for t in tokens if t in allowed)


def yes_no(text: str | None) -> str | None:
    """'yes' / 'no' if exactly one of the words occurs, else None (VLMEvalKit YOrN_Extraction)."""
    if not text:
        return None
    words = set(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())
    if "yes" in words and "no" not in words:
        return "yes"
    if "no" in words and "yes" not in words:
        return "no"
    return None


def to_float(text: str | None) -> float | None:
    """A float from '3.5', '1,200', '2π', '\\frac{1}{2}', '45°', '12 cm', else None."""
    if text is None:
        return None
    s = str(text).strip().strip("$").strip()
    s = re.sub(r"\\(?:text|mathrm|mbox)\{([^}]*)\}", r"\1", s)
    s = s.replace("\\%", "").replace("%", "").replace("°", "").replace("^\\circ", "").replace("^{\\circ}", "")
    s = s.replace("\\pi", "π").replace("\\left", "").replace("\\right", "").replace(",", "").strip()
    m = re.fullmatch(r"\\d?frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}", s)
    if m:
        den = float(m.group(2))
        return float(m.group(1)) / den if den else None
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)", s)
    if m:
        den = float(m.group(2))
        return float(m.group(1)) / den if den else None
    # DynaMath `transfer`: "2π" -> 2*pi
    m = re.fullmatch(r"(-?\d*(?:\.\d+)?)\s*\*?\s*π", s)
    if m:
        coef = m.group(1)
        return (float(coef) if coef not in ("", "-") else (-1.0 if coef == "-" else 1.0)) * math.pi
    m = re.match(r"^(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?:\s*[A-Za-z]{0,6}\.?)?$", s)
    if m:
        return float(m.group(1))
    return None


def last_number(text: str | None) -> float | None:
    """The last number written in a text ("... so there are 7 items." -> 7.0)."""
    if not text:
        return None
    nums = re.findall(r"-?\d+(?:,\d{3})*(?:\.\d+)?", text)
    return float(nums[-1].replace(",", "")) if nums else None


def closest_choice(prediction: str, choices: list[str]) -> str:
    """The choice with the least Levenshtein distance to the prediction (MathVista get_most_similar)."""
    from rapidfuzz.distance import Levenshtein

    dists = [Levenshtein.distance(prediction, c) for c in choices]
    return choices[dists.index(min(dists))]


def clean_short_answer(text: str) -> str:
    """Strip LaTeX/markdown wrappers from a short answer: '$13$' -> '13', '\\text{tokyo}' -> 'tokyo'."""
    s = text.strip()
    s = re.sub(r"\\(?:text|mathrm|textbf|mbox)\{([^}]*)\}", r"\1", s)
    s = s.replace("\\$", "").replace("$", "").replace("**", "").replace("\\%", "%")
    s = s.strip().rstrip(".").strip()
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    return s


def parse_inline_choices(question: str) -> list[str]:
    """Options written inside a question: 'Choices: (A) 1 (B) 2', 'A: 30° B: 60°', 'A. 200;B. 32'.

    Returns the option texts in letter order, or [] when the letters are not A, B, C, … in sequence.
    """
    if not question:
        return []
    # take the text after a "Choices:"/"Options:" header when there is one
    m = re.search(r"(?:Choices|Options|Option)\s*[:：]?\s*\n?", question)
    body = question[m.end():] if m else question
    for pat in (r"\(([A-J])\)\s*", r"(?:(?<=^)|(?<=[\s;；,]))([A-J])\s*[\.:：\)]\s*"):
        parts = re.split(pat, body)
        if len(parts) < 5:  # need at least 2 options
            continue
        letters, texts = parts[1::2], parts[2::2]
        if letters == list(LETTERS[: len(letters)]):
            return [t.strip().rstrip(";；,").strip() for t in texts]
    return []
