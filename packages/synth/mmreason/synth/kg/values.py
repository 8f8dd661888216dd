"""Numbers and units in table headers and cells, as people write them in real documents.

    parse_cell("**1,170,060,424**")  -> Cell(kind="number", value=1170060424.0)
    parse_cell("2^8-1")              -> Cell(kind="number", value=255.0)          (never 28 with unit "-1")
    parse_cell("1.7×10^38")          -> Cell(kind="number", value=1.7e38)
    parse_cell("83.5 ± 0.4")         -> Cell(kind="number", value=83.5, err=0.4)
    parse_cell("12.3†")              -> Cell(kind="number", value=12.3)           (footnote mark dropped)
    parse_cell("10–20")              -> Cell(kind="range")                        (no single value)
    parse_cell("~5") / ("<0.1")      -> Cell(kind="approx")                       (qualified: no exact value)
    parse_cell("See below") / ("—")  -> Cell(kind="missing")                      (a note, not a value)

Only kind "number" carries a `value`; everything else is kept as text and never used for arithmetic.
`clean_text` drops Markdown emphasis, link targets and line breaks (what a reader may leave in a cell).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^()\[\]]{1,24})[\)\]]\s*$")
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:[\u2009\u202f]\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_SIGN = r"[-+\u2212]?"
_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺"
# mantissa × 10^exp ("1.7×10^38", "1.7 x 10^{38}", "1.7·10⁻³"), or e-notation ("1.7e38")
_SCI = re.compile(rf"^(?P<m>{_SIGN}(?:{_NUM}))(?:\s*[×xX·*]\s*10\s*(?:\^\s*\{{?\s*(?P<e1>[-+\u2212]?\d+)\s*\}}?"
                  rf"|(?P<e2>[{_SUPS}]+))|[eE](?P<e3>[-+]?\d+))(?P<rest>.*)$")
_PLAIN = re.compile(rf"^(?P<pre>[$€£¥]|USD|EUR|GBP)?\s*(?P<num>{_SIGN}(?:{_NUM}))(?P<rest>.*)$")
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_PM = re.compile(rf"^\s*\(?\s*(?:±|\+/-|\+-|\\pm)\s*(?P<err>{_NUM})\s*\)?")
_DELTA = re.compile(rf"^\s*\(\s*(?:[-+\u2212↑↓▲▼]\s*)(?:{_NUM})\s*%?\s*\)")
_RANGE = re.compile(rf"^\s*(?:-|–|—|to|~|\.\.\.?|…)\s*{_SIGN}(?:{_NUM})")
_APPROX = re.compile(r"^\s*(?:~|≈|∼|<|>|≤|≥|⩽|⩾|about\b|approx\.?|ca\.|c\.|circa\b|up to\b|over\b|under\b|almost\b)",
                     re.I)
# footnote / significance marks after a value: * † ‡ § ¶ #, superscript letters, ^a, ^{a}, [1]
_FOOTNOTE = re.compile(r"(?:\s*(?:[*†‡§¶#]+|[ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ]+|\^\{?[a-zA-Z*†‡§]{1,2}\}?|\[\d{1,3}\]))+\s*$")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$|^\d{1,2}/\d{1,2}/\d{2,4}$"
                   r"|^\d{1,2}:\d{2}(?::\d{2})?$")
_MISSING = {"", "-", "–", "—", "−", "--", "---", "n/a", "na", "n.a.", "n.a", "nan", "none", "null", "?", "??", "tbd",
            "tba", "unknown", "not available", "not reported", "n/r", "nr", "x", "✗", "/", "…", "..."}


@dataclass(frozen=True)
class Cell:
    kind: str  # number | missing | range | approx | text
    value: float | None = None  # kind "number" only
    unit: str | None = None
    err: float | None = None  # the ± part, when stated
    text: str = ""  # the cleaned cell text


def clean_text(text: str) -> str:
    """Cell / header text without Markdown emphasis, link targets, HTML line breaks or repeated spaces."""
    s = text or ""
    s = re.sub(r"!?\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)", r"\1", s)  # [text](url) -> text
    s = re.sub(r"<(?:https?|ftp)://[^>\s]+>", "", s)
    s = re.sub(r"<br\s*/?>", " ", s, flags=re.I)
    for _ in range(2):  # nested **_x_**
        s = re.sub(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1", r"\2", s)
        s = re.sub(r"(?<![\w*\\])\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*(?![\w*])", r"\1", s)
        s = re.sub(r"(?<![\w\\])_(?=[^\s_])([^_]+?)(?<=[^\s_])_(?!\w)", r"\1", s)
    s = s.replace("\\|", "|").replace("\\*", "*").replace("\\_", "_")
    s = re.sub(r"(?<=\d)[\u2009\u202f](?=\d{3}(?!\d))", "", s)  # thin-space thousands separators
    return " ".join(s.split())


def split_header(header: str) -> tuple[str, str | None]:
    """'Boiling point (°C)' -> ('Boiling point', '°C'); 'Year' -> ('Year', None); 'BLEU ↑' -> ('BLEU', None)."""
    h = clean_text(header).replace("↑", "").replace("↓", "").strip()
    h = _FOOTNOTE.sub("", h).strip() if re.search(r"\w", _FOOTNOTE.sub("", h)) else h
    m = _HEADER_UNIT.match(h)
    if m and m.group("name") and _unit_like(m.group("unit").strip()):
        return m.group("name").strip(), m.group("unit").strip()
    return h, None


def _unit_like(u: str) -> bool:
    """A header's bracket holds a unit ("°C", "USD million", "g/cm³", "%", "s/query", "examples"), not a
    qualifier ("Unlabeled", "Fine-tuned", "0.75", "en → de")."""
    if not u or u[0].isdigit() or "→" in u or len(u.split()) > 2:
        return False
    if re.search(r"[%‰°$€£¥/²³µΩ]", u):
        return True
    # each word a short symbol-like word ("USD", "ms", "kWh") or a lower-case unit word ("million", "years")
    return all(re.fullmatch(r"[A-Za-z.]{1,6}|[a-z]{1,10}", w) for w in u.split())


def _to_float(num: str) -> float:
    return float(num.replace(",", "").replace("\u2009", "").replace("\u202f", "").replace("\u2212", "-"))


def _unit_ok(unit: str) -> bool:
    return bool(re.fullmatch(r"[%‰°\w/³²µ.\-^ ·]+", unit)) and not re.search(r"(?:^|\s)[\d.]", unit) \
        and len(unit.split()) <= 3 and unit.split()[0].casefold() not in ("and", "or", "to") \
        and bool(re.match(r"[^\W\d_]|[%‰°µ]", unit))


def _power_expr(s: str) -> float | None:
    """The value of an integer power expression such as '2^8-1', '2^{32}', '2⁸−1', '-(2^63)'; None otherwise."""
    t = re.sub(f"[{_SUPS}]+", lambda m: "^(" + m.group(0).translate(_SUP) + ")", s)
    t = t.replace("\u2212", "-").replace("{", "(").replace("}", ")").replace("×", "*").replace("·", "*")
    t = t.replace(" ", "")
    if "^" not in t or not re.fullmatch(r"[\d.()+\-*^]+", t):
        return None
    toks = re.findall(r"\d+(?:\.\d+)?|[()+\-*^]", t)
    if "".join(toks) != t:
        return None
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def atom():
        tok = take() if peek() is not None else None
        if tok == "(":
            v = expr()
            if take() != ")":
                raise ValueError
            return v
        if tok == "-":
            return -power()
        if tok is None or not re.fullmatch(r"\d+(?:\.\d+)?", tok):
            raise ValueError
        return float(tok)

    def power():
        base = atom()
        if peek() == "^":
            take()
            exp = power()  # right-associative
            if abs(exp) > 400 or not float(exp).is_integer():
                raise ValueError
            return base ** exp
        return base

    def term():
        v = power()
        while peek() == "*":
            take()
            v *= power()
        return v

    def expr():
        v = term()
        while peek() in ("+", "-"):
            v = v + term() if take() == "+" else v - term()
        return v

    try:
        v = expr()
    except (ValueError, IndexError, OverflowError, ZeroDivisionError):
        return None
    return v if pos == len(toks) and math.isfinite(v) else None


def parse_cell(cell: str) -> Cell:
    """Classify one table cell (see the module docstring)."""
    text = clean_text(cell)
    low = text.casefold().strip(" .")
    if low in _MISSING or text in _MISSING:
        return Cell("missing", text=text)
    if not re.search(r"\d", text):
        return Cell("text", text=text)
    if _DATE.match(text):
        return Cell("text", text=text)  # a date or time is a label, not a quantity
    if _APPROX.match(text):
        return Cell("approx", text=text)
    s = text
    if re.search(r"\d", _FOOTNOTE.sub("", s)):
        s = _FOOTNOTE.sub("", s)
    if s[:1] in "–—" and s[1:2].isdigit():
        s = "-" + s[1:]  # a dash used as a minus sign
    pw = _power_expr(s)
    if pw is not None:
        return Cell("number", pw, text=text)
    m = _SCI.match(s)
    if m:
        exp = m.group("e1") or m.group("e3") or (m.group("e2") or "").translate(_SUP)
        rest = m.group("rest").strip()
        if rest and not _unit_ok(rest):
            return Cell("text", text=text)
        try:
            val = _to_float(m.group("m")) * 10.0 ** int(exp.replace("\u2212", "-"))
        except (ValueError, OverflowError):
            return Cell("text", text=text)
        return Cell("number", val, rest or None, text=text) if math.isfinite(val) else Cell("text", text=text)
    m = _PLAIN.match(s)
    if not m:
        return Cell("text", text=text)
    val = _to_float(m.group("num"))
    rest, err = m.group("rest"), None
    if _RANGE.match(rest):
        return Cell("range", text=text)
    pm = _PM.match(rest)
    if pm:
        err, rest = _to_float(pm.group("err")), rest[pm.end():]
    else:
        d = _DELTA.match(rest)
        if d:
            rest = rest[d.end():]
    unit = rest.strip() or None
    if unit:
        pm = re.search(rf"(?:±|\+/-|\\pm)\s*(?P<err>{_NUM})\s*$", unit)  # "12 ms ± 3"
        if pm:
            err, unit = _to_float(pm.group("err")), unit[:pm.start()].strip() or None
    if unit and not _unit_ok(unit):
        return Cell("text", text=text)
    pre = m.group("pre")
    if pre:
        cur = _CURRENCY.get(pre, pre)
        unit = f"{cur} {unit}" if unit else cur
    return Cell("number", val, unit, err, text)


def parse_number(cell: str) -> tuple[float | None, str | None]:
    """(value, unit found in the cell) for a cell stating exactly one number, else (None, None).

    '1,234.5' -> (1234.5, None); '$35.03' -> (35.03, 'USD'); '0.789 g/cm³' -> (0.789, 'g/cm³');
    '12%' -> (12.0, '%'); '**1,170**' -> (1170.0, None); '2^8-1' -> (255.0, None); 'Industrials' -> (None, None).
    """
    c = parse_cell(cell)
    return (c.value, c.unit) if c.kind == "number" else (None, None)


# rows that summarise the others: never an entity ("Total", "**Total**", "Grand total", "Avg.", "Overall")
_SUMMARY = re.compile(r"^(?:grand\s+|sub-?\s*)?(?:totals?|sum|average|avg\.?|mean|overall|all\s+rows)\b[\s:.]*"
                      r"(?:\(.*\))?$", re.I)


def is_summary_label(text: str) -> bool:
    return bool(_SUMMARY.match(clean_text(text)))


def same_unit(a: str | None, b: str | None) -> bool:
    """Units equal up to case, spaces and common spellings ('percent' == '%', '$' == 'USD')."""
    def n(u):
        u = (u or "").strip().casefold().replace(" ", "")
        return {"percent": "%", "pct": "%", "$": "usd", "degc": "°c", "celsius": "°c"}.get(u, u)

    return n(a) == n(b)
