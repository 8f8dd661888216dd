"""Short-text normalisation (SQuAD-style: case, punctuation, articles, whitespace) plus LaTeX wrappers.

Also the yes/no reading used for `boolean` answers, and `latex_prose`: the words of an answer once its
LaTeX is parsed, so that `\\right` is never read as the word "right" nor `\\sqrt[3]{..}` as the digit 3.
"""

from __future__ import annotations

import re
import unicodedata

TEXT_WRAP = re.compile(  # \text{...} and friends: group 1 is the content
    r"\\(?:text|textrm|textbf|textit|textsf|texttt|mathrm|mathbf|mathit|mathsf|mbox|emph|operatorname)\s*\{([^{}]*)\}"
)
_MATH_DELIMS = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$")
_LATEX_SPACES = re.compile(r"\\[!,;: ]|~")
_SIZING = re.compile(r"\\(?:left|right|[bB]igg?[lr]?|displaystyle|textstyle|q?quad)(?![A-Za-z])")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_PUNCT = re.compile(r"[^\w\s]|_")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_WS = re.compile(r"\s+")


def unwrap_latex_text(s: str) -> str:
    """`\\text{B}` -> `B`, `\\textbf{\\text{x}}` -> `x`; math delimiters and LaTeX spaces dropped."""
    s = _LATEX_SPACES.sub(" ", _MATH_DELIMS.sub("", s))
    for _ in range(4):  # nested wrappers, a few levels at most
        t = TEXT_WRAP.sub(r"\1", s)
        if t == s:
            break
        s = t
    return s


def latex_prose(s: str) -> str | None:
    """The plain words of an answer, LaTeX parsed: text wrappers unwrapped (`\\text{Yes}` -> `Yes`), math
    delimiters, spacing and sizing commands (`\\left`, `\\quad`) dropped. None when any other command
    remains: the answer is mathematics, and the letters and digits inside it are not words."""
    s = _SIZING.sub(" ", unwrap_latex_text(s))
    return None if _COMMAND.search(s) else s


def normalize_text(s: str) -> str:
    """Lower case, LaTeX text wrappers removed, punctuation -> space, articles dropped, spaces collapsed."""
    s = unicodedata.normalize("NFKC", unwrap_latex_text(s)).lower()
    s = _PUNCT.sub(" ", s)
    s = _ARTICLES.sub(" ", s)
    return _WS.sub(" ", s).strip()


# Official-style yes/no reading: each word below votes for one side; "not X" votes for the other side.
_TRUE_WORDS = frozenset({"yes", "true", "correct", "right", "y", "t", "是", "对", "正确"})  # + Chinese 是/对/正确
_FALSE_WORDS = frozenset({"no", "false", "incorrect", "wrong", "n", "f", "否", "不是", "错", "错误", "不对"})
_NEGATORS = frozenset({"not", "isn", "isnt", "aren", "wasn", "never"})  # "isn't" -> "isn t" after normalising


def read_boolean(s: str, lenient: bool = True) -> bool | None:
    """True/False for a yes/no answer; None when it is not one (or, lenient, when its votes disagree).

    Lenient (the default, e.g. for a judge's reply): each yes/no word of a short phrase votes and "not X"
    votes for the other side ("No, it is not true" -> False, "yes or no" -> None). Strict (`grade`'s
    default for answers): the whole answer is one yes/no word ("Yes", "\\text{False}", "**correct**.";
    y/n/t/f alone). Either way LaTeX is parsed first (`latex_prose`): a word inside a math command
    ("\\left(x\\right)") is no vote.
    """
    prose = latex_prose(s)
    if prose is None:
        return None
    words = normalize_text(prose).split()
    if len(words) == 1 and words[0] in {"y", "t", "n", "f"}:
        return words[0] in {"y", "t"}
    if not lenient:
        w = words[0] if len(words) == 1 else ""
        return True if w in _TRUE_WORDS else False if w in _FALSE_WORDS else None
    votes: set[bool] = set()
    negate = False
    for w in words:
        if len(w) == 1 and w.isascii():  # "t" of "isn't", stray letters (not 是 / 否)
            continue
        if w in _NEGATORS:
            negate = True
            continue
        if w in _TRUE_WORDS or w in _FALSE_WORDS:
            votes.add((w in _TRUE_WORDS) != negate)
        negate = False
    return votes.pop() if len(votes) == 1 else None
