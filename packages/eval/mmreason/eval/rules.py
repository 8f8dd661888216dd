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


# Words after a capital "A"/"I" that make it a letter ("The answer is A because ...") rather than the
# article or pronoun ("The answer is a right triangle", "A triangle has", "So I pick").
_AFTER_LETTER = frozenset({"and", "or", "is", "was", "because", "since", "as", "which", "that", "so", "given",
                           "here", "there", "then", "for", "from", "with", "only", "fits", "matches"})


def _article(s: str, end: int, letter: str) -> bool:
    """Whether the capital `letter` ending at `end` in `s` reads as the article "A" or the pronoun "I"."""
    if letter not in "AI":
        return False
    nxt = re.match(r"\s+([A-Za-z]+)", s[end:])
    return bool(nxt) and nxt.group(1)[0].islower() and nxt.group(1) not in _AFTER_LETTER


_NOT_WORD = r"(?![A-Za-z0-9])"
_LETTER_PATTERNS = [  # only capital letters are option letters; keywords in any case
    r"^\(?([A-J])\)?[.):：]?$",  # "B", "(B)", "B."
    r"^\(?([A-J])\)?[.)：:]\s",  # "B. 12", "(B) because", "B: x"
    rf"(?i:answer)\s*(?:(?i:is)\s*)?[:：]?\s*\**\s*\(?([A-J])\)?{_NOT_WORD}",  # "the answer is (B)"
    rf"(?i:option|choice)\s*(?:(?i:is)\s*)?[:：]?\s*\**\s*\(?([A-J])\)?{_NOT_WORD}",  # "option B"
    r"\\boxed\{\s*\(?([A-J])\)?\s*\}",  # \boxed{B}
    r"^\(?([A-J])\)?\*+\s",  # "**B** because" (leading stars are stripped first)
]


def choice_letter(text: str | None, n_choices: int | None = None) -> str | None:
    """An option letter from a short answer or response ("B", "(B) 12", "the answer is B"), else None.

    Only capital letters count, and a capital "A"/"I" followed by an ordinary word is the article or
    pronoun: "The answer is a right triangle", "A triangle has three sides" pick nothing."""
    if not text:
        return None
    s = text.strip().strip("$* ").replace("\\text{", "").replace("\\mathrm{", "")
    allowed = LETTERS[: n_choices or len(LETTERS)]
    for pat in _LETTER_PATTERNS:
        hits = [m.group(1) for m in re.finditer(pat, s) if not _article(s, m.end(1), m.group(1))]
        hits = [h for h in hits if h in allowed]
        if hits:
            return hits[-1]
    return None


def same_value(answer: str, option: str) -> bool:
    """Whether a short answer states an option's value: equal normalised text ("140°" = "140°") or equal
    numbers ("140" = "140°", "0.5" = "1/2"), via core.grading's public normalisers."""
    from mmreason.core.grading import normalize_text, numbers_match, parse_number

    a, b = clean_short_answer(answer), clean_short_answer(option)
    na, nb = normalize_text(a), normalize_text(b)
    if na and na == nb:
        return True
    return parse_number(a) is not None and parse_number(b) is not None and numbers_match(a, b)


def choice_answer(response: str | None, choices) -> str | None:
    """The option letter a response picks: a stated letter (`choice_letter` on the extracted final answer,
    else on the response), else the one option whose value equals the whole extracted answer ("140°" picks
    C when option C is "140°"). None when it picks nothing or several options by value."""
    ext = extract_answer(response or "")
    n = len(choices) or None
    letter = choice_letter(ext, n) if ext else choice_letter(response, n)
    if letter is not None or not choices:
        return letter
    cand = ext if ext is not None else (response or "").strip()
    if not cand or len(cand) > 200:
        return None
    hits = [LETTERS[i] for i, opt in enumerate(choices) if same_value(cand, str(opt))]
    return hits[0] if len(hits) == 1 else None


_LABEL = r"\(?([A-J]|[1-9])\)?(?![A-Za-z0-9])"
_LABEL_LIST = re.compile(rf"{_LABEL}(?:\s*(?:,|，|、|;|&|\band\b)\s*{_LABEL})*")
_STATED = re.compile(r"(?i:\banswers?\b\s*(?:is|are)?\s*[:：]?|\boptions?\b|\bchoices?\b|\bpick(?:ed)?\b|"
                     r"\bselect(?:ed)?\b|\bchoose\b|\bchose\b)\s*(?:(?i:options?|choices?)\s*)?")


def _labels_in(span: str, digits: bool) -> frozenset[str]:
    found = re.findall(_LABEL, span)
    return frozenset(t for t in found if t.isalpha() or digits)


def stated_labels(text: str | None, digits: bool = False) -> frozenset[str]:
    """The option labels a LogicVista answer states: the whole text as a label list ("A, C", "B and D"),
    else the list right after "answer is" / "option" / "pick" / "select" (the last such statement), else a
    leading label ("B because ..."). Labels are capital letters, or digits when `digits` (questions whose
    options are numbered). "So I pick option B" -> {B}; "The answer is B because 3 squares" -> {B}."""
    if not text:
        return frozenset()
    s = text.strip().strip("*$.。 ")
    m = _LABEL_LIST.fullmatch(s)
    if m:
        return _labels_in(s, digits)
    stated = [sm for sm in _STATED.finditer(s) if _LABEL_LIST.match(s, sm.end())]
    for sm in reversed(stated):
        lm = _LABEL_LIST.match(s, sm.end())
        if not (lm.group(1) in "AI" and _article(s, lm.end(1), lm.group(1))):
            labels = _labels_in(lm.group(0), digits)
            if labels:
                return labels
    m = re.match(_LABEL, s)
    if m and not _article(s, m.end(1), m.group(1)):
        return _labels_in(m.group(0), digits)
    return frozenset()


def letter_set(text: str | None, allowed: str = LETTERS + "0123456789") -> frozenset[str]:
    """The set of labels (capital letters, digits) in a gold answer like "A, C" / "B and D" / "3"."""
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
    for pat in (r"\(([A-J])\)\s*", r"(?:(?<=^)|(?<=[\s;；,]))([A-J])\s*[\.．:：\)]\s*"):
        parts = re.split(pat, body)
        if len(parts) < 5:  # need at least 2 options
            continue
        letters, texts = parts[1::2], parts[2::2]
        if letters == list(LETTERS[: len(letters)]):
            return [t.strip().rstrip(";；,").strip() for t in texts]
    return []
