"""What a table says, read the way a person reads it: `read_table(rows)` (rows = the reader's header row
first, then the body) -> `TableRead`.

- Header: the reader's first row is the header. Body rows right under it that hold words where the body
  holds numbers, and nothing in the key column ("", "simple", "complex", "all", …), continue a multi-row
  header: their words join the column names ("TEDs simple"); a group label spans the empty cells to its
  right. A data row (one with numbers) is never taken into the header.
- Column names: Markdown emphasis, links, arrows and footnote marks dropped, unit split off
  ("Boiling point (°C)" -> "Boiling point", "°C"). A column whose name is empty, a number or repeated
  has no usable name: it gives no facts (a question could not name it).
- Column kinds: key | number | entity | text | empty. A column is numeric when a strict majority of its
  filled cells state one number; the rest (notes such as "See below", "—", "n/a", ranges, "~5") are kept
  as text and never used for arithmetic.
- Row roles: data | summary ("Total", "**Total**", "Average", "Overall": kept on the table, never an
  entity) | section (a label row with no values) | dropped (a duplicate key that nothing tells apart,
  or a number where names are expected).
- Entity names: the key cell's text without emphasis or footnote marks; rows sharing a key get the
  distinguishing cell of another text column or their section label ("GPT-4 (few-shot)"); when nothing
  distinguishes them they are dropped (never one entity with two conflicting values).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from .graph import norm_name
from .values import Cell, clean_text, is_summary_label, parse_cell, split_header

_NAME_MARKS = re.compile(r"(?:\s*(?:[*†‡§¶]+|[ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ]+|\^\{?[a-zA-Z*†‡§]{1,2}\}?|\[\d{1,3}\]))+$")
_NOTE = re.compile(r"^(?:see\b|cf\.|refer to\b|not\s+(?:applicable|available|reported|measured)\b|"
                   r"(?:in|under)\s+(?:progress|review)\b)", re.I)


@dataclass
class TableRead:
    header: list[str]  # display header (cleaned, multi-row headers joined), unit included
    columns: list[str]  # names without units ("" = no usable name)
    units: list[str | None]
    kinds: list[str]  # key | number | entity | text | empty
    key: int
    body: list[list[str]]  # body rows (raw cells), header rows removed
    cells: list[list[Cell]]  # parsed body cells
    roles: list[str]  # per body row: data | summary | section | dropped
    names: list[str | None]  # per body row: entity name (data rows), else None
    header_rows: int = 1
    issues: list[str] = field(default_factory=list)

    @property
    def named(self) -> list[bool]:
        return [bool(c) for c in self.columns]

    def data_rows(self) -> list[int]:
        return [i for i, r in enumerate(self.roles) if r == "data"]


def singular(word: str) -> str:
    """'points' -> 'point', 'densities' -> 'density', 'masses' -> 'mass'; short words and '-ss' kept."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")) or not word.isalpha() \
            or not word.islower() or word in ("species", "series", "news", "means", "physics", "mathematics"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


def entity_name(text: str) -> str:
    """A key cell as an entity name: 'GPT-4†' -> 'GPT-4', '**Acme**' -> 'Acme', '[Reddit](http…)' -> 'Reddit'."""
    s = clean_text(text)
    t = _NAME_MARKS.sub("", s).strip()
    t = re.sub(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00$", r"\1", t)  # a spreadsheet date read as midnight
    return t or s


def is_note(c: Cell) -> bool:
    """A cell that is a remark, not a value: '—', 'n/a', 'See below', 'not reported'."""
    return c.kind == "missing" or (c.kind == "text" and bool(_NOTE.match(c.text)))


def _column_kind(cells: list[Cell]) -> str:
    filled = [c for c in cells if c.text and c.kind != "missing"]
    if not filled:
        return "empty"
    n_num = sum(c.kind == "number" for c in filled)
    if n_num >= 2 and 2 * n_num > len(filled):
        return "number"
    names = [c for c in filled if not is_note(c)]
    if names and all(c.kind == "text" and len(c.text) <= 60 and len(c.text.split()) <= 6
                     and not re.search(r"\d{3,}|[.!?]\s", c.text) for c in names):
        return "entity"
    return "text"


def _usable_names(names: list[str]) -> list[str]:
    """Column names with the unusable ones blanked: empty, a number, or the same as another column's."""
    norm = [norm_name(n) if n else "" for n in names]
    out = []
    for n, k in zip(names, norm):
        year = re.fullmatch(r"(?:1[89]|20)\d\d", n.strip()) is not None  # "2019" | "2020" columns are names
        bad = not k or (parse_cell(n).kind in ("number", "range", "approx") and not year) or norm.count(k) > 1
        out.append("" if bad else n)
    return out


def _header_like(row: list[Cell], num_cols: list[int], key: int) -> bool:
    """A body row that continues the header: no numbers, empty key, words in the numeric columns."""
    if any(c.kind == "number" for c in row) or (key < len(row) and row[key].text):
        return False
    words = [row[j] for j in num_cols if j < len(row) and row[j].text]
    return bool(words) and all(c.kind == "text" and not is_note(c) for c in words) and 2 * len(words) >= len(num_cols)


def _join_header(top: list[str], sub: list[str]) -> list[str]:
    """Join a header row with the sub-header row under it; a group label spans the empty cells to its right."""
    out, group = [], ""
    for h, s in zip(top, sub):
        if h:
            group = h
        elif not s:
            group = ""
        base = h or (group if s else "")
        out.append(f"{base} {s}".strip() if s else base)
    return out


def _key_column(cols: list[list[Cell]]) -> int:
    """The column that names the rows: of the columns holding mostly words (short names preferred), the
    one with the most distinct values, leftmost on ties (a spanning group label repeated down the rows
    is not the key); 0 when every column holds numbers."""
    best, score = 0, None
    for j, cells in enumerate(cols):
        filled = [c for c in cells if c.text and c.kind != "missing"]
        if not filled or 2 * sum(c.kind == "number" for c in filled) >= len(filled):
            continue
        short = all(len(c.text) <= 60 and len(c.text.split()) <= 8 for c in filled)
        s = (short, len({norm_name(c.text) for c in filled}), -j)
        if score is None or s > score:
            best, score = j, s
    return best


def read_table(rows: list[list[str]]) -> TableRead | None:
    """The table's header, columns, kinds, key and row roles (None when it has no body row)."""
    if len(rows) < 2:
        return None
    width = max(len(r) for r in rows)
    rows = [list(r) + [""] * (width - len(r)) for r in rows]
    header = [clean_text(h) for h in rows[0]]
    body = [list(r) for r in rows[1:]]
    cells = [[parse_cell(c) for c in r] for r in body]
    issues: list[str] = []

    def kinds_of(cs):
        return [_column_kind([r[j] for r in cs]) for j in range(width)]

    # multi-row headers: at most 2 continuation rows, judged against the body below them
    n_head = 0
    for _ in range(2):
        rest = cells[n_head + 1:]
        if not rest:
            break
        kinds = kinds_of(rest)
        key = _key_column([[r[j] for r in rest] for j in range(width)])
        num_cols = [j for j, k in enumerate(kinds) if k == "number"]
        if not num_cols or not _header_like(cells[n_head], num_cols, key):
            break
        header = _join_header(header, [c.text for c in cells[n_head]])
        n_head += 1
    body, cells = body[n_head:], cells[n_head:]
    split = [split_header(h) for h in header]
    columns = _usable_names([s[0] for s in split])
    units = [s[1] for s in split]
    key = _key_column([[r[j] for r in cells] for j in range(width)])
    kinds = kinds_of(cells)
    kinds[key] = "key"

    roles, names = [], []
    section, sections = "", []
    key_numeric = all(c.kind == "number" for r in cells for c in [r[key]] if c.text)
    for i, r in enumerate(cells):
        others = [c for j, c in enumerate(r) if j != key and c.text]
        texts = {c.text for c in r if c.text}
        if not others or (len(texts) == 1 and len([c for c in r if c.text]) > 1):
            roles.append("section")  # "Open models" over the rows below it (or one label spanning the row)
            names.append(None)
            section = next(iter(texts), "")
            sections.append(section)
            continue
        sections.append(section)
        name = entity_name(body[i][key])
        if is_summary_label(name):
            roles.append("summary")
            names.append(None)
        elif not name or r[key].kind == "missing" or (r[key].kind in ("number", "range", "approx")
                                                      and not (key_numeric and columns[key])):
            roles.append("dropped")  # no name ("", "N/A"), or a number where the key column holds names
            names.append(None)
            if name and r[key].kind != "missing":
                issues.append(f"row {i}: key cell {name!r} is a number in a column of names; row skipped")
        else:
            roles.append("data")
            names.append(name)
    _split_duplicates(body, cells, kinds, key, roles, names, sections, issues, columns)
    return TableRead(header, columns, units, kinds, key, body, cells, roles, names, 1 + n_head, issues)


def _split_duplicates(body, cells, kinds, key, roles, names, sections, issues, columns) -> None:
    """Rows whose key names coincide get told apart by another text column or their section, else dropped."""
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        if n is not None:
            groups.setdefault(norm_name(n), []).append(i)
    taken = {k for k, v in groups.items() if len(v) == 1}
    for idx in groups.values():
        if len(idx) < 2:
            continue
        new = None
        # what tells the rows apart: other text columns, or numeric columns left of the key (settings such as
        # "# enc-layers"; numbers right of the key are measurements and never become part of a name)
        usable = [j for j, kind in enumerate(kinds) if j != key and columns[j]
                  and (kind in ("entity", "text") or (kind == "number" and j < key))]
        for combo in [(j,) for j in usable] + list(itertools.combinations(usable, 2)):
            labels = [tuple(cells[i][j].text for j in combo) for i in idx]
            if all(all(x) for x in labels) and len({tuple(map(norm_name, x)) for x in labels}) == len(idx):
                new = [f"{names[i]} (" + ", ".join(f"{columns[j]} {v}" if kinds[j] == "number" else v
                                                   for j, v in zip(combo, x)) + ")" for i, x in zip(idx, labels)]
                break
        if new is None:
            labels = [sections[i] for i in idx]
            if all(labels) and len({norm_name(x) for x in labels}) == len(idx):
                new = [f"{names[i]} ({x})" for i, x in zip(idx, labels)]
        if new is not None and not any(norm_name(n) in taken for n in new):
            for i, n in zip(idx, new):
                names[i] = n
                taken.add(norm_name(n))
            continue
        issues.append(f"rows {', '.join(str(i) for i in idx)} share the key {names[idx[0]]!r} and nothing tells "
                      "them apart; rows skipped")
        for i in idx:
            roles[i], names[i] = "dropped", None
