"""Numbers written by people and models: "1,234", "$3.50", "12 cm", "45%", "3/4", "\\frac{3}{4}", "2.5e-3".

`normalize_number` turns one such string into a float, or None when it is not a single number. It never
calls `eval`: the string must match a small grammar (sign, digits with optional thousands separators,
decimal part, exponent, a simple fraction or `\\frac`, an optional percent sign and an optional unit).

The percent rule (used by `numbers_match`): a percent sign is dropped by `normalize_number`
("45%" -> 45.0); when either side of a comparison carries a percent sign, both readings of that side
are accepted, the literal one and the one divided by 100. So "45%" matches 45 and 0.45, and gold "45%"
accepts predictions "45", "45%" and "0.45"; without a percent sign anywhere, 45 never matches 0.45.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from .text import TEXT_WRAP

REL_TOL = 1e-4  # default relative tolerance for numeric answers
ABS_TOL = 1e-8  # absolute tolerance, so that a gold 0 can be matched at all
MAX_NUMBER_CHARS = 256  # longer strings are not "a number" (also bounds the regex work)
MAX_EXP10 = 400  # |k| in "m x 10^k" / "10^k" beyond which we do not even try

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+"
_SNUM = rf"[+-]?\s*(?:{_NUM})"
_EXP10 = r"\s*(?:\\times|\\cdot|×|x|\*|·)\s*10\s*\^\s*(?:\{\s*([+-]?\d+)\s*\}|([+-]?\d+))"
_UNIT_TOKEN = r"[a-zA-Zµμ°Ω]+\.?(?:\^\s*\{?\s*-?\d+\s*\}?|[²³])?"
_UNIT = rf"{_UNIT_TOKEN}(?:\s*(?:/|\\cdot|·|\*|\s)\s*{_UNIT_TOKEN}){{0,3}}"
_TAIL = rf"\s*(?P<pct>%|percent\b)?\s*(?P<unit>{_UNIT})?\s*"

_DECIMAL_RE = re.compile(rf"(?P<m>{_NUM})(?:[eE](?P<e>[+-]?\d+)|{_EXP10})?")
_FRAC_RE = re.compile(
    rf"\\frac\s*(?:\{{\s*(?P<a>{_SNUM})\s*\}}|(?P<a1>\d))\s*(?:\{{\s*(?P<b>{_SNUM})\s*\}}|(?P<b1>\d))"
)
_SLASH_RE = re.compile(rf"(?P<a>{_NUM})\s*/\s*(?P<b>{_NUM})")
_POW10_RE = re.compile(r"10\s*\^\s*(?:\{\s*(?P<k>[+-]?\d+)\s*\}|(?P<k1>[+-]?\d+))")

_BODY = re.compile(
    rf"^(?P<sign>[+-])?\s*(?:(?P<frac>\\frac.*?)|(?P<pow>10\s*\^.*?)|(?P<slash>(?:{_NUM})\s*/\s*(?:{_NUM}))|(?P<dec>(?:{_NUM})(?:[eE][+-]?\d+|{_EXP10})?)){_TAIL}$"
)
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree|°")
_DROP = re.compile(r"\\left|\\right|\\[!,;: ]|~|\\displaystyle|\\\$|\$|\\\(|\\\)|\\\[|\\\]")
_CURRENCY = re.compile(r"^(?P<sign>[+-])?\s*(?:[€£¥₹]|USD|EUR|Rs\.?)\s*")


class ParsedNumber(NamedTuple):
    value: float
    percent: bool  # the string carried a percent sign ("45%", "45\\%", "45 percent")


def _clean(s: str) -> str:
    s = s.strip().replace("\u2212", "-").replace("\u2013", "-").replace("\\%", "%")
    s = _DROP.sub("", s)
    for _ in range(3):  # \text{\textbf{cm}} is rare; three rounds are plenty
        t = TEXT_WRAP.sub(r" \1", s)  # "5\text{cm}" -> "5 cm"
        if t == s:
            break
        s = t
    s = _DEGREE.sub(" deg", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _CURRENCY.sub(lambda m: m.group("sign") or "", s.strip())
    return s.strip().rstrip(".").strip()


def _float(x: str) -> float:
    return float(x.replace(",", "").replace(" ", ""))


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def parse_number(s: str) -> ParsedNumber | None:
    """The value and percent flag of a single written number, or None (see the module docstring)."""
    if not isinstance(s, str) or len(s) > MAX_NUMBER_CHARS:
        return None
    s = _clean(s)
    if not s:
        return None
    m = _BODY.match(s)
    if m is None:
        return None
    sign = -1.0 if m.group("sign") == "-" else 1.0
    value: float | None
    try:
        if m.group("frac") is not None:
            f = _FRAC_RE.fullmatch(m.group("frac").strip())
            if f is None:
                return None
            a, b = _float(f.group("a") or f.group("a1")), _float(f.group("b") or f.group("b1"))
            value = a / b if b != 0 else None
        elif m.group("pow") is not None:
            p = _POW10_RE.fullmatch(m.group("pow").strip())
            if p is None:
                return None
            k = int(p.group("k") or p.group("k1"))
            value = float(f"1e{k}") if abs(k) <= MAX_EXP10 else None
        elif m.group("slash") is not None:
            f = _SLASH_RE.fullmatch(m.group("slash"))
            a, b = _float(f.group("a")), _float(f.group("b"))
            value = a / b if b != 0 else None
        else:
            d = _DECIMAL_RE.fullmatch(m.group("dec"))
            mant, e = d.group("m").replace(",", ""), d.group("e") or d.group(3) or d.group(4)
            if e is not None and abs(int(e)) > MAX_EXP10:
                return None
            value = float(f"{mant}e{e}") if e is not None else float(mant)
    except (ValueError, AttributeError, OverflowError):
        return None
    if value is None or _finite(value) is None:
        return None
    return ParsedNumber(sign * value, m.group("pct") is not None)


def normalize_number(s: str) -> float | None:
    """The float a written number stands for ("1,234" -> 1234.0, "45%" -> 45.0, "\\frac{3}{4}" -> 0.75).

    None when `s` is not one number (words around it, two numbers, an expression like "2^{10}").
    """
    p = parse_number(s)
    return None if p is None else p.value


def _readings(p: ParsedNumber) -> tuple[float, ...]:
    return (p.value, p.value / 100.0) if p.percent else (p.value,)


def close(a: float, b: float, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> bool:
    """|a - b| <= max(rel_tol * max(|a|, |b|), abs_tol)  (math.isclose)."""
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def parsed_match(pred: ParsedNumber, gold: ParsedNumber, rel_tol: float = REL_TOL) -> bool:
    """Numeric match with the percent rule of the module docstring."""
    return any(close(x, y, rel_tol) for x in _readings(pred) for y in _readings(gold))


def numbers_match(pred: str, gold: str, rel_tol: float = REL_TOL) -> bool:
    """True when both strings are single numbers that agree within `rel_tol` (percent rule applies)."""
    p, g = parse_number(pred), parse_number(gold)
    return p is not None and g is not None and parsed_match(p, g, rel_tol)
