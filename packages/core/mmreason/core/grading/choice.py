"""Multiple-choice answers: which option (0-based index) does an extracted answer pick?

Strict (the default, RL rewards): the whole answer is
- a letter ("B", "(b)", "B.", "Option B", "\\text{B}"), or
- a letter with its own option text ("B) 12 cm"; any other text after the letter picks nothing), or
- exactly one option's text ("12 cm" when choices[1] == "12 cm"; numbers compare numerically, so "12"
  picks "12 cm"; text compares case-, space- and punctuation-insensitively, LaTeX exactly).
Lenient adds: a letter followed by any text that names no other option ("B, since it is the longest"),
and a sentence naming exactly one option letter ("Option B is the right one").
Never: an option's text found *inside* a longer answer, or a letter or digit inside a LaTeX command
(`\\sqrt[3]{74}` does not pick option "3"); naming several options ("A, B, C, D", "A or B") picks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .expression import canonical
from .numbers import parse_number, parsed_match
from .text import latex_prose, normalize_text, unwrap_latex_text

MAX_CHOICE_ANSWER_CHARS = 500  # an extracted "choice" longer than this picks nothing

_LETTER_PREFIX = re.compile(r"^\s*\(?([A-Z])\s*[).:]\s*")  # "A. 12 cm", "(A) 12 cm" inside an option
_LONE = re.compile(r"^(?:(?:the\s+)?(?:option|choice|answer)\s*)?\(?\s*([A-Za-z])\s*\)?\s*[.:]?$", re.I)
_LEAD = re.compile(r"^(?:(?:option|choice)\s*)?(?:\(\s*([A-Z])\s*\)|([A-Z])\s*[).:,])\s*(.*)$", re.S)
_TOKEN = re.compile(r"(?<![A-Za-z0-9\\])\(?([A-Z])\)?(?![A-Za-z0-9'’])")
_MATH_CHARS = re.compile(r"[\\^_+\-*/=<>{}\[\]|]|\d[.,:]\d")  # "3.5" is not the prose "3 5"
_NOT_ARTICLE = frozenset(
    {"and", "or", "nor", "is", "was", "seems", "appears", "would", "should", "must", "fits", "matches", "only"}
)


def letter_index(s: str) -> int | None:
    """'B' / '(b)' / 'B.' -> 1; None when `s` is not a single letter."""
    m = _LONE.match(unwrap_latex_text(s).strip(" *_`\"'"))
    return ord(m.group(1).upper()) - ord("A") if m else None


def text_key(s: str) -> str:
    """Equality key of an answer or option text: prose ignores case, spaces, punctuation and articles
    ("The Eiffel Tower." = "eiffel tower"); math symbols, LaTeX and decimals are kept ("x+1" != "x-1")."""
    s = unwrap_latex_text(s).strip(" \t\n*_`\"'")
    if _MATH_CHARS.search(s):
        return canonical(s)
    return normalize_text(s).replace(" ", "")


def _option_text(c: str) -> str:
    return _LETTER_PREFIX.sub("", c, count=1)


def _match_option_text(s: str, choices: Sequence[str]) -> set[int]:
    """Options that the whole of `s` equals: the same text (`text_key`), else the same number."""
    key = text_key(s)
    hits = {i for i, c in enumerate(choices) if key and text_key(_option_text(c)) == key}
    if not hits and (p := parse_number(s)) is not None:
        for i, c in enumerate(choices):
            q = parse_number(_option_text(c))
            if q is not None and parsed_match(p, q):
                hits.add(i)
    return hits


def _letters_in(s: str, n_options: int) -> set[int]:
    """Standalone option letters in the prose of `s` ("A, B or D" -> {0, 1, 3}); the article "A" and the
    pronoun "I" followed by an ordinary word are not letters; a LaTeX answer has no letters."""
    s = latex_prose(s)
    found: set[int] = set()
    for m in _TOKEN.finditer(s or ""):
        idx = ord(m.group(1)) - ord("A")
        if idx >= n_options:
            continue
        if m.group(1) in "AI" and not m.group(0).startswith("("):
            nxt = re.match(r"\s+([a-z]+)", s[m.end() :])
            if nxt and nxt.group(1) not in _NOT_ARTICLE:
                continue
        found.add(idx)
    return found


def pick_option(pred: str, choices: Sequence[str], n_options: int, lenient: bool = False) -> int | None:
    """The option index `pred` picks, or None when it picks none or several (rules: module docstring)."""
    s = unwrap_latex_text(pred).strip(" \t\n*_`\"'")
    if not s or len(s) > MAX_CHOICE_ANSWER_CHARS:
        return None
    idx = letter_index(s)
    if idx is not None:
        return idx if idx < max(n_options, 1) or not choices else None
    m = _LEAD.match(s)
    if m is not None:  # "B) 12 cm": the letter, and its own text or (lenient) text naming no other option
        idx = ord(m.group(1) or m.group(2)) - ord("A")
        rest = m.group(3).strip()
        named = _match_option_text(rest, choices) if rest else set()
        if idx < n_options and (not rest or named == {idx}):
            return idx
        if idx < n_options and lenient and not named and not (_letters_in(rest, n_options) - {idx}):
            return idx
        return None
    hits = _match_option_text(s, choices)
    if hits:
        return hits.pop() if len(hits) == 1 else None
    if lenient:
        letters = _letters_in(s, n_options)
        return letters.pop() if len(letters) == 1 else None
    return None


def gold_index(answer: str, choices: Sequence[str]) -> int:
    """The gold option: a letter, or (for loosely made data) exactly one option's text."""
    idx = letter_index(answer)
    if idx is not None and (not choices or idx < len(choices)):
        return idx
    hits = _match_option_text(answer, choices) if choices else set()
    if len(hits) == 1:
        return hits.pop()
    raise ValueError(
        f"choice answer {answer!r} is neither a letter A..{chr(ord('A') + max(len(choices), 1) - 1)} "
        f"nor exactly one of the choices {list(choices)!r}"
    )
