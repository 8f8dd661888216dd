"""Multiple-choice answers: which option (0-based index) does an extracted answer pick?

Accepted: a letter ("B", "(b)", "B.", "Option B", "\\text{B}"), a letter with its option text ("B) 12 cm";
the text must not name another option), or an option's text alone ("12 cm" when choices[1] == "12 cm",
numbers compared numerically). Naming several different options ("A, B, C, D", "A or B", "12 cm or 15 cm")
picks nothing, so it grades wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .numbers import parse_number, parsed_match
from .text import normalize_text, unwrap_latex_text

MAX_CHOICE_ANSWER_CHARS = 500  # an extracted "choice" longer than this picks nothing

_LETTER_PREFIX = re.compile(r"^\s*\(?([A-Z])\s*[).:]\s*")  # "A. 12 cm", "(A) 12 cm" inside an option
_LONE = re.compile(r"^(?:(?:the\s+)?(?:option|choice|answer)\s*)?\(?\s*([A-Za-z])\s*\)?\s*[.:]?$", re.I)
_LEAD = re.compile(r"^(?:(?:option|choice)\s*)?(?:\(\s*([A-Z])\s*\)|([A-Z])\s*[).:,])\s*(.*)$", re.S)
_TOKEN = re.compile(r"(?<![A-Za-z0-9\\])\(?([A-Z])\)?(?![A-Za-z0-9'’])")
_NOT_ARTICLE = frozenset(
    {"and", "or", "nor", "is", "was", "seems", "appears", "would", "should", "must", "fits", "matches", "only"}
)


def letter_index(s: str) -> int | None:
    """'B' / '(b)' / 'B.' -> 1; None when `s` is not a single letter."""
    m = _LONE.match(unwrap_latex_text(s).strip(" *_`\"'"))
    return ord(m.group(1).upper()) - ord("A") if m else None


def _option_key(c: str) -> str:
    return normalize_text(_LETTER_PREFIX.sub("", c, count=1)).replace(" ", "")


def _match_option_text(s: str, choices: Sequence[str]) -> set[int]:
    """Options whose normalised text equals `s` (or whose number equals `s`'s number)."""
    key = normalize_text(s).replace(" ", "")
    hits = {i for i, c in enumerate(choices) if key and _option_key(c) == key}
    if not hits:
        p = parse_number(s)
        if p is not None:
            for i, c in enumerate(choices):
                q = parse_number(_LETTER_PREFIX.sub("", c, count=1))
                if q is not None and parsed_match(p, q):
                    hits.add(i)
    return hits


def _letters_in(s: str, n_options: int) -> set[int]:
    """Standalone option letters mentioned in `s` ("A, B or D" -> {0, 1, 3}); the article "A" and the
    pronoun "I" followed by an ordinary word are not letters."""
    found: set[int] = set()
    for m in _TOKEN.finditer(s):
        idx = ord(m.group(1)) - ord("A")
        if idx >= n_options:
            continue
        if m.group(1) in "AI" and not m.group(0).startswith("("):
            nxt = re.match(r"\s+([a-z]+)", s[m.end() :])
            if nxt and nxt.group(1) not in _NOT_ARTICLE:
                continue
        found.add(idx)
    return found


def _contained_options(s: str, choices: Sequence[str]) -> set[int]:
    """Options whose text appears as whole words in `s`, minus those inside a longer matching option."""
    text = f" {normalize_text(s)} "
    keys = {i: normalize_text(_LETTER_PREFIX.sub("", c, count=1)) for i, c in enumerate(choices)}
    hits = {i for i, k in keys.items() if k and f" {k} " in text}
    return {i for i in hits if not any(j != i and keys[i] in keys[j] and keys[i] != keys[j] for j in hits)}


def pick_option(pred: str, choices: Sequence[str], n_options: int) -> int | None:
    """The option index `pred` picks, or None when it picks none or several."""
    s = unwrap_latex_text(pred).strip(" \t\n*_`\"'")
    if not s or len(s) > MAX_CHOICE_ANSWER_CHARS:
        return None
    idx = letter_index(s)
    if idx is not None:
        return idx if idx < max(n_options, 1) or not choices else None
    m = _LEAD.match(s)
    if m is not None:  # "B) 12 cm": the letter decides unless the rest names another option
        idx = ord(m.group(1) or m.group(2)) - ord("A")
        rest = m.group(3)
        if idx < n_options and not (_letters_in(rest, n_options) - {idx}):
            named = _match_option_text(rest, choices) if rest.strip() else set()
            return idx if not named or named == {idx} else None
    hits = _match_option_text(s, choices)
    if hits:
        return hits.pop() if len(hits) == 1 else None
    letters = _letters_in(s, n_options)
    if letters:
        return letters.pop() if len(letters) == 1 and not _contained_options(s, choices) - letters else None
    hits = _contained_options(s, choices)
    return hits.pop() if len(hits) == 1 else None


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
