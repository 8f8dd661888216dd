"""Find the final answer in a model's response.

Order, first hit wins (each looks only at the last `TAIL_CHARS` characters, so a megabyte of text costs
the same as a page):
1. `<answer>...</answer>` tags (R1-style); the tag's content is searched again for 2-3, else used as is.
2. `\\boxed{...}` / `\\fbox{...}` with nested braces.
3. An "Answer: ..." / "The (final) answer is ..." / "The correct option is ..." line (the last one).
4. A last line that is a lone choice letter: "B", "(B)", "B.", "**B**".

Reward-hacking guards live here too: several boxes (or answer tags) with different contents, an empty box,
an empty tag or an unclosed box (`\\boxed{42`: a truncated answer is no answer) make the extraction
*rejected*, and `grade` then says wrong. An unclosed `<answer>` tag is rejected too unless `lenient`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

TAIL_CHARS = 8192  # only the end of a response is read
MAX_ANSWER_CHARS = 2000  # longer extracted answers are cut (graders cap further)
MAX_LINE_CHARS = 500  # an "Answer: ..." line is read this far
MAX_BOX_NESTING = 3
MAX_PHRASES = 20  # "answer is" phrases tried, from the last one back

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_TAG = re.compile(r"<(/?)answer>", re.I)
_ANSWER_LINE = re.compile(
    r"\b(?:final\s+answer|correct\s+(?:answer|option|choice)|answer)[*_\s]*"
    r"(?:\bis\b[*_\s]*[:：]?|[:：=])[ \t*_]*",
    re.I,
)
_LONE_LETTER = re.compile(r"^(?:(?i:option|choice)\s*)?\(?\s*([A-Z])\s*\)?[.:]?$")  # upper case: "x" is no letter
_MATH_SPAN = re.compile(r"^(?:\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\])", re.S)
_HOPE = re.compile(r"\.?\s*I hope it is correct.*$", re.S | re.I)
_SENTENCE_END = re.compile(r"(?<!\b(?:Mr|Ms|Dr|St|Jr|Sr|vs|No))(?<=\w)\.\s+(?=(?:[A-Z][a-z]|I\s))")
_STRIP_CHARS = " \t\r\n*_`\"'“”"


class Extraction(NamedTuple):
    answer: str | None  # the extracted answer, None when nothing was found or it was rejected
    source: str  # "tag" | "box" | "line" | "letter" | "none"
    rejected: str | None = None  # why the response is wrong before grading ("several boxes", ...)


def _close_brace(s: str, i: int) -> int:
    """Index just past the brace that closes the one opened before `i`; -1 if it never closes."""
    depth, j, n = 1, i, len(s)
    while j < n:
        c = s[j]
        if c == "\\" and j + 1 < n and s[j + 1] in "{}":
            j += 2  # escaped brace \{ \} does not count
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return -1


def _unwrap_box(inner: str) -> str:
    """\\boxed{\\boxed{5}} -> 5 (a few levels; deeper nesting stays as it is and grades as garbage)."""
    for _ in range(MAX_BOX_NESTING):
        t = inner.strip()
        m = _BOX_OPEN.match(t)
        if m is None or _close_brace(t, m.end()) != len(t):
            break
        inner = t[m.end() : -1]
    return inner


def _boxes(s: str) -> tuple[list[str], bool]:
    """Contents of top-level boxes, in order, and whether a box was left unclosed (which ends the scan)."""
    out: list[str] = []
    pos = 0
    while (m := _BOX_OPEN.search(s, pos)) is not None:
        end = _close_brace(s, m.end())
        if end < 0:
            return out, True
        out.append(_unwrap_box(s[m.end() : end - 1]))
        pos = end
    return out, False


def _key(s: str) -> str:
    """Equality key for 'same content repeated': whitespace, $ and a final period ignored."""
    return re.sub(r"\s+|\$", "", s).rstrip(".")


def _one_of(contents: list[str], what: str) -> tuple[str | None, str | None]:
    """The single distinct content, or a rejection reason."""
    keys = {_key(c) for c in contents}
    if "" in keys:
        return None, f"empty {what}"
    if len(keys) > 1:
        return None, f"several {what}es with different contents" if what == "box" else f"several {what}s"
    return contents[-1].strip(), None


def clean_answer(s: str) -> str:
    """Trim markdown, quotes, a leading math span, Minerva's 'I hope it is correct' and a final period."""
    s = s.strip(_STRIP_CHARS)
    s = _HOPE.sub("", s).strip(_STRIP_CHARS)
    m = _MATH_SPAN.match(s)
    if m is not None:
        s = next(g for g in m.groups() if g is not None)
    else:
        s = _SENTENCE_END.split(s, maxsplit=1)[0]
    s = s.strip(_STRIP_CHARS)
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    return s[:MAX_ANSWER_CHARS]


def _line_at(s: str, i: int) -> str:
    j = s.find("\n", i, i + MAX_LINE_CHARS)
    return s[i : i + MAX_LINE_CHARS] if j < 0 else s[i:j]


def _answer_line(s: str) -> str | None:
    """The answer after the last "Answer:" / "the answer is" phrase that has one."""
    # phrases only, so "the answer is x. So the answer is y" sees y; latest first, so the work is bounded
    for m in reversed(list(_ANSWER_LINE.finditer(s))[-MAX_PHRASES:]):
        rest = clean_answer(_line_at(s, m.end()))
        if not rest:  # "Answer:\n B" -> the next non-empty line
            k = m.end()
            while k < len(s) and s[k] in " \t\r\n":
                k += 1
            nxt = _line_at(s, k)
            rest = clean_answer(nxt) if not _ANSWER_LINE.match(nxt) else ""
        if rest:
            return rest
    return None


def _lone_letter(s: str) -> str | None:
    lines = [ln for ln in s.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    m = _LONE_LETTER.match(lines[-1].strip(_STRIP_CHARS + "$"))
    return m.group(1) if m else None


def _inner(s: str, allow_plain: bool) -> Extraction:
    """Steps 2-4 on `s`; with allow_plain the whole cleaned `s` is the answer when nothing else is."""
    boxes, unclosed = _boxes(s)
    if unclosed:
        return Extraction(None, "box", "unclosed box")
    if boxes:
        ans, why = _one_of(boxes, "box")
        return Extraction(ans and ans[:MAX_ANSWER_CHARS], "box", why)
    line = _answer_line(s)
    if line:
        return Extraction(line, "line")
    letter = _lone_letter(s)
    if letter:
        return Extraction(letter, "letter")
    if allow_plain:
        plain = clean_answer(s)
        return Extraction(plain, "tag") if plain else Extraction(None, "tag", "empty answer tag")
    return Extraction(None, "none")


def extract(text: str, lenient: bool = False) -> Extraction:
    """The final answer of a response with where it came from and why it was rejected (if so)."""
    if not isinstance(text, str) or not text:
        return Extraction(None, "none")
    tail = text[-TAIL_CHARS:]
    tags, open_at = [], None
    for m in _TAG.finditer(tail):  # pair each </answer> with the latest <answer> before it (linear)
        if not m.group(1):
            open_at = m.end()
        elif open_at is not None:
            tags.append(tail[open_at : m.start()])
            open_at = None
    if not tags and open_at is not None:  # truncated generation: "<answer> 42" with no closing tag
        if not lenient:
            return Extraction(None, "tag", "unclosed answer tag")
        tags = [tail[open_at:]]
    if tags:
        ans, why = _one_of(tags, "answer tag")
        if why:
            return Extraction(None, "tag", why)
        return _inner(ans, allow_plain=True)
    return _inner(tail, allow_plain=False)


def extract_answer(text: str, lenient: bool = False) -> str | None:
    """The final answer in `text` (see the module docstring), or None when there is none or it is rejected
    (several different boxes, an empty or unclosed box, an empty tag)."""
    return extract(text, lenient).answer
