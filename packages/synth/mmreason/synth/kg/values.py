"""Numbers and units in table headers and cells: "Boiling point (°C)", "1,234.5", "$35.03", "0.79 g/cm³"."""

from __future__ import annotations

import re

_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^()\[\]]{1,24})[\)\]]\s*$")
_NUM = r"[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
_CELL = re.compile(rf"^\s*(?P<pre>[$€£¥]|USD|EUR|GBP)?\s*(?P<num>{_NUM}|[-+]?\.\d+)\s*(?P<unit>[^\d\s].{{0,23}})?\s*$")
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


def split_header(header: str) -> tuple[str, str | None]:
    """'Boiling point (°C)' -> ('Boiling point', '°C'); 'Year' -> ('Year', None)."""
    h = " ".join(header.split())
    m = _HEADER_UNIT.match(h)
    if m and m.group("name"):
        return m.group("name").strip(), m.group("unit").strip()
    return h, None


def parse_number(cell: str) -> tuple[float | None, str | None]:
    """(value, unit found in the cell) for a numeric cell, else (None, None).

    '1,234.5' -> (1234.5, None); '$35.03' -> (35.03, 'USD'); '0.789 g/cm³' -> (0.789, 'g/cm³');
    '12%' -> (12.0, '%'); 'Industrials' -> (None, None).
    """
    m = _CELL.match(cell or "")
    if not m:
        return None, None
    num = m.group("num").replace(",", "").replace("\u2212", "-")
    try:
        val = float(num)
    except ValueError:
        return None, None
    unit = (m.group("unit") or "").strip() or None
    pre = m.group("pre")
    if pre:
        cur = _CURRENCY.get(pre, pre)
        unit = f"{cur} {unit}" if unit else cur
    if unit and (not re.fullmatch(r"[%‰°\w/³²µ.\-^ ·]+", unit) or re.search(r"(?:^|\s)[\d.]", unit)
                 or len(unit.split()) > 3 or unit.split()[0].casefold() in ("and", "or", "to")):
        return None, None
    return val, unit


def same_unit(a: str | None, b: str | None) -> bool:
    """Units equal up to case, spaces and common spellings ('percent' == '%', '$' == 'USD')."""
    def n(u):
        u = (u or "").strip().casefold().replace(" ", "")
        return {"percent": "%", "pct": "%", "$": "usd", "degc": "°c", "celsius": "°c"}.get(u, u)

    return n(a) == n(b)
