"""Table structure from the words (and rules) inside one table region of a PDF page.

    table_rows(words, hrules, vrules, size) -> rows, header row first

Rows are baselines (a subscript or a vertically centred `multirow` label joins the nearest row);
columns are the x-bands that no body row's word crosses (plus vertical rules). A word that crosses
column bands is a spanning cell: in the header it heads every column it covers (or, over a partial
rule, every column under that rule; a lone group label, the columns around it whose sub-headers look
alike), so multi-level headers flatten to one row ("Script Verification / Acc"); a body row holding only such a cell is a
section row ("Zero-shot") and stays a row with its text in the first cell. Header rows: those above
the first full-width rule under the top rule, else the leading rows without numbers. A row holding
only a first-column label between rows whose first cell is empty (a `multirow` label) fills those
cells; lines that continue a wrapped text cell join their row.
"""

from __future__ import annotations

import re

_NUM = re.compile(r"^[\s(\[]*[-+−–]?\$?\d[\d,.]*\s*(%|[a-zA-Z]{0,3})?[)\]*†‡]*$")


def is_numeric(cell: str) -> bool:
    return bool(_NUM.match(cell.strip())) or cell.strip() in ("-", "–", "—")


def _rows_of_words(words: list[dict]) -> list[list[dict]]:
    """Cluster words into rows by baseline (a subscript joins its row, a `multirow` label centred
    between two rows does not)."""
    rows: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (w.get("base", w["bottom"]), w["x0"])):
        b = w.get("base", w["bottom"])
        for r in reversed(rows[-4:]):
            if abs(r[0].get("base", r[0]["bottom"]) - b) <= 0.3 * max(r[0]["size"], 1.0):
                r.append(w)
                break
        else:
            rows.append([w])
    rows.sort(key=lambda r: r[0].get("base", r[0]["bottom"]))
    return [sorted(r, key=lambda w: w["x0"]) for r in rows]


def _separators(rows: list[list[dict]], vrules: list[float], lo: float, hi: float, min_gap: float) -> list[float]:
    """x positions between columns: bands free of words in all but a few rows, and vertical rules."""
    if not rows:
        return []
    step = 0.5
    n = int((hi - lo) / step) + 2
    cover = [0] * n
    for r in rows:
        seen = [False] * n
        for w in r:
            for i in range(max(0, int((w["x0"] - lo) / step)), min(n, int((w["x1"] - lo) / step) + 1)):
                seen[i] = True
        for i in range(n):
            cover[i] += seen[i]
    allowed = max(0, int(0.15 * len(rows)))  # spanning header / section cells may cross a separator
    seps, i = [], 0
    first = next((k for k in range(n) if cover[k]), n)
    last = max((k for k in range(n) if cover[k]), default=0)
    i = first
    while i <= last:
        if cover[i] <= allowed:
            j = i
            while j <= last and cover[j] <= allowed:
                j += 1
            if (j - i) * step >= min_gap and j <= last:
                # inside the band, the widest run crossed by the fewest rows
                low = min(cover[i:j])
                best, k = (i, i), i
                while k < j:
                    if cover[k] == low:
                        e = k
                        while e < j and cover[e] == low:
                            e += 1
                        if e - k > best[1] - best[0]:
                            best = (k, e)
                        k = e
                    else:
                        k += 1
                seps.append(lo + (best[0] + best[1]) / 2 * step)
            i = j
        else:
            i += 1
    for x in vrules:
        if lo + 2 < x < hi - 2 and all(abs(x - s) > min_gap for s in seps):
            seps.append(x)
    return sorted(seps)


def _runs(row: list[dict], seps: list[float], space: float, join_close: bool = False) -> list[list]:
    """[first column, last column, text, words] runs of a row: words in the same column join (and, with
    `join_close`, words closer than `space`: a header cell spanning columns); a long cell poking into
    the next column yields to a word that starts there."""
    out: list[list] = []
    prev = None
    for w in row:
        tol = min(3.0, 0.3 * (w["x1"] - w["x0"]))  # a word may poke a little over a separator
        a = sum(1 for s in seps if s < w["x0"] + tol)
        b = max(a, sum(1 for s in seps if s < w["x1"] - tol))
        if out and (a <= out[-1][0] or (w["x0"] - prev["x1"] < space and (join_close or a <= out[-1][1]))):
            out[-1][1] = max(out[-1][1], b)
            out[-1][2] += " " + w["text"]
            out[-1][3].append(w)
        else:
            if out and out[-1][1] >= a:
                out[-1][1] = a - 1
            out.append([a, b, w["text"], [w]])
        prev = w
    return out


def _cells(row: list[dict], seps: list[float], space: float, join_close: bool = False) -> list[tuple[int, int, str]]:
    """(first column, last column, text) of each run of a row (`_runs`)."""
    return [(a, b, t) for a, b, t, _ in _runs(row, seps, space, join_close)]


def _n_cells(line: list[dict], space: float) -> int:
    """Cells of a line: runs of words closer than `space` ("de → en" is one, not three)."""
    return 1 + sum(1 for u, v in zip(line, line[1:]) if v["x0"] - u["x1"] >= space)


def _numeric_share(cells: list[str]) -> float:
    filled = [c for c in cells if c.strip()]
    return sum(is_numeric(c) for c in filled) / len(filled) if filled else 0.0


def table_rows(words: list[dict], hrules: list[tuple[float, float, float]], vrules: list[float],
               size: float) -> list[list[str]]:
    """Rows of cell strings (header row first) from the words of one table region.

    hrules: (y, x0, x1) of horizontal rules inside the region; vrules: x of vertical rules.
    """
    if not words:
        return []
    lines = _rows_of_words(words)
    lo = min(w["x0"] for w in words) - 1
    hi = max(w["x1"] for w in words) + 1
    size = sorted(w["size"] for w in words)[len(words) // 2]
    # lines with at least half the most cells of any line find the columns (section rows and labels span
    # columns); cells, not words: a header of "de → en" words would otherwise leave out every body row
    n_cells = [_n_cells(ln, 0.4 * size) for ln in lines]
    body_lines = [ln for ln, n in zip(lines, n_cells) if n >= 0.5 * max(n_cells)]
    seps = _separators(body_lines, vrules, lo, hi, max(2.0, 0.3 * size))
    ncol = len(seps) + 1
    grid: list[list[str]] = []
    spans: list[list[tuple[int, int, str]]] = []
    tops: list[float] = []
    centers: list[float] = []
    for ln in lines:
        cells = _cells(ln, seps, 0.4 * size)
        row = [""] * ncol
        for a, _b, t in cells:
            row[a] = (row[a] + " " + t).strip()
        grid.append(row)
        spans.append(cells)
        tops.append(min(w["top"] for w in ln))
        centers.append(sum((w["top"] + w["bottom"]) / 2 for w in ln) / len(ln))
    width = hi - lo
    full_rules = sorted(y for y, x0, x1 in hrules if x1 - x0 >= 0.9 * width)
    inner = [y for y in full_rules if tops[0] < y < tops[-1]]
    # header rows: above the first full-width rule inside the table, else leading rows without numbers
    if inner:
        nhead = sum(1 for t in tops if t < inner[0]) or 1
    else:
        nhead = 1
        while nhead < min(3, len(grid) - 1) and _numeric_share(grid[nhead]) < 0.5 \
                and _numeric_share(grid[nhead - 1]) < 0.5 and any(b > a for a, b, _ in spans[nhead - 1]) \
                and len(grid) - nhead >= 2:
            nhead += 1
    nhead = min(nhead, max(1, len(grid) - 1))
    bounds = list(zip([lo] + seps, seps + [hi]))  # x range of each column
    filled = {j for r in grid[nhead:] for j, c in enumerate(r) if c.strip()}
    head = _header_spans([_runs(ln, seps, 0.4 * size, join_close=True) for ln in lines[:nhead]], hrules, bounds, size,
                         filled)
    header = _flatten_header(head, ncol)
    group_rules = [y for y, x0, x1 in hrules if x1 - x0 >= 0.5 * width]
    # rules between (most) rows: the lines between two rules are the wrapped lines of one row
    ruled = sum(1 for y in group_rules if tops[nhead] < y < tops[-1]) >= 2
    body: list[list[str]] = []
    for group in _groups(grid[nhead:], spans[nhead:], centers[nhead:], group_rules, ncol):
        body += _group_rows(group, ruled)
    rows = [header] + body
    # a column empty below the header only repeats a spanning header cell (or heads nothing)
    keep = [j for j in range(ncol) if any(r[j].strip() for r in (body or rows))]
    rows = [[r[j] for j in keep] for r in rows if any(c.strip() for c in r)]
    return _merge_complementary(rows)


def _merge_complementary(rows: list[list[str]]) -> list[list[str]]:
    """Two neighbouring columns under one header that are never filled in the same row are one column
    (names shifted right by an icon in some rows: "Average" vs "GPT-4o")."""
    j = 0
    while rows and j + 1 < len(rows[0]):
        a, b = rows[0][j], rows[0][j + 1]
        if (a == b or not a or not b) and not any(r[j].strip() and r[j + 1].strip() for r in rows[1:]):
            for r in rows:
                r[j] = r[j] or r[j + 1]
                del r[j + 1]
            continue
        j += 1
    return rows


def _header_spans(runs: list[list[list]], hrules, bounds: list[tuple[float, float]], size: float,
                  filled: set[int]) -> list[list[tuple]]:
    """(first column, last column, text) of each header cell, each spanning cell given every column it heads:
    - a cell over a partial rule (booktabs `\\cmidrule`, a ruled table's group border) heads the columns whose
      centres lie under that rule (TEDs over "simple | complex | all");
    - a lone label on its own header line with no rule ("Languages") heads the run of columns around it whose
      sub-headers look like the ones right under it (same weight), never the first (row-name) column, when
      it is centred within that run;
    - in the last header line no cell spans: words over different columns that hold values (`filled`) name
      those columns ("Chat Chat-Hard" set close together is "Chat" | "Chat-Hard")."""
    width = bounds[-1][1] - bounds[0][0]
    centre = [(x0 + x1) / 2 for x0, x1 in bounds]
    out: list[list[tuple]] = []
    for h, cells in enumerate(runs):
        row: list[tuple] = []
        for a, b, text, ws in cells:
            x0, x1, bottom = min(w["x0"] for w in ws), max(w["x1"] for w in ws), max(w["bottom"] for w in ws)
            if h == len(runs) - 1:
                cols = [sum(1 for s, _ in bounds[1:] if s < (w["x0"] + w["x1"]) / 2) for w in ws]
                others = {j for c in cells if c[3] is not ws for j in range(c[0], c[1] + 1)}
                if b > a and set(cols) == set(range(a, b + 1)) and cols == sorted(cols) and not others & set(cols) \
                        and set(cols) <= filled:
                    row += [(j, j, " ".join(w["text"] for w, c in zip(ws, cols) if c == j)) for j in range(a, b + 1)]
                    continue
            else:
                under = [r for r in hrules if bottom - 1 <= r[0] <= bottom + 0.8 * size and r[2] - r[1] < 0.9 * width
                         and min(r[2], x1) - max(r[1], x0) > 0]
                if under:
                    y, r0, r1 = min(under, key=lambda r: r[0])
                    cols = [j for j, c in enumerate(centre) if r0 - 1 <= c <= r1 + 1]
                    if cols and cols[0] <= a and b <= cols[-1]:
                        a, b = cols[0], cols[-1]
                elif len(cells) == 1 and a > 0:
                    a, b = _group_run(a, b, (x0 + x1) / 2, runs[h + 1], bounds)
            row.append((a, b, text))
        out.append(row)
    return out


def _group_run(a: int, b: int, mid: float, below: list[list], bounds) -> tuple[int, int]:
    """The columns a lone group label heads: from the columns under it (a..b), outwards over columns whose
    header cell on the next line has the same weight as those under the label; the label must sit in the
    middle half of the run, else a..b stays."""
    def style(j):
        for c0, c1, _, ws in below:
            if c0 <= j <= c1:
                return all(w.get("bold") for w in ws)
        return None

    kinds = {style(j) for j in range(a, b + 1)} - {None}
    if len(kinds) != 1:
        return a, b
    kind = kinds.pop()
    lo, hi = a, b
    while lo - 1 > 0 and style(lo - 1) == kind:
        lo -= 1
    while hi + 1 < len(bounds) and style(hi + 1) == kind:
        hi += 1
    x0, x1 = bounds[lo][0], bounds[hi][1]
    if x0 + 0.25 * (x1 - x0) <= mid <= x1 - 0.25 * (x1 - x0):
        return lo, hi
    return a, b


def _flatten_header(spans: list[list[tuple[int, int, str]]], ncol: int) -> list[str]:
    """Multi-level header rows -> one row: a cell spanning columns heads each of them ("Group / Sub");
    wrapped text in one column joins with a space."""
    parts: list[list[tuple[str, bool]]] = [[] for _ in range(ncol)]
    for cells in spans:
        for a, b, t in cells:
            for j in range(a, b + 1):
                parts[j].append((t, b > a))
    out = []
    for p in parts:
        s = ""
        for k, (t, _spanning) in enumerate(p):
            if not s:
                s = t
            elif t != p[k - 1][0]:
                s += (" / " if p[k - 1][1] else " ") + t
        out.append(s)
    return out


def _groups(grid, spans, centers, rules, ncol):
    """Body lines split at horizontal rules and at section rows (one cell spanning most columns)."""
    groups: list[list[tuple[list[str], float]]] = [[]]
    prev = None
    for row, cells, c in zip(grid, spans, centers):
        filled = [j for j, x in enumerate(row) if x.strip()]
        section = ncol > 3 and (len(cells) == 1 and cells[0][1] - cells[0][0] + 1 >= 0.6 * ncol or (
            0 < len(filled) <= 2 and filled[0] > 0 and filled[-1] - filled[0] <= 1
            and not any(is_numeric(row[j]) for j in filled)))
        if section:  # a section row ("Zero-shot", centred over the table): its text in the first cell
            row = [" ".join(row[j] for j in filled)] + [""] * (ncol - 1)
        if section or (prev is not None and any(prev < y < c for y in rules)):
            groups.append([])
        groups[-1].append((row, c))
        if section:
            groups.append([])
        prev = c
    return [g for g in groups if g]


def _continues(above: str, below: str) -> bool:
    return bool(above.strip()) and bool(below.strip()) and not is_numeric(above) and (
        below[:1].islower() or above.endswith("-"))


def _join(a: str, b: str) -> str:
    if not a:
        return b
    if not b:
        return a
    return a[:-1] + b if a.endswith("-") and b[:1].islower() else f"{a} {b}"


def _group_rows(group: list[tuple[list[str], float]], ruled: bool = False) -> list[list[str]]:
    """The rows of one rule-delimited group. Without numbers, a group of wrapped lines (a ruled table, or
    a line continuing a word or sentence) is one row. `multirow` labels (text in columns filled on at
    most half of the lines: the first column, or columns of lines holding nothing else) fill those
    columns of the lines nearest them. Lines continuing text cells join their row."""
    rows = [list(r) for r, _ in group]
    centers = [c for _, c in group]
    if len(rows) > 1 and not any(is_numeric(c) for r in rows for c in r if c.strip()) and (ruled or any(
            _continues(rows[i][j], rows[i + 1][j]) for i in range(len(rows) - 1) for j in range(len(rows[i])))):
        return [_merge_lines(rows)]
    n, ncol = len(rows), len(rows[0])
    sparse = {j for j in range(ncol) if 0 < sum(bool(r[j].strip()) for r in rows) <= 0.5 * n}
    label_only = [i for i, r in enumerate(rows) if any(c.strip() for c in r)
                  and all(j in sparse for j, c in enumerate(r) if c.strip())]
    label_cols = sorted({j for i in label_only for j in range(ncol) if rows[i][j].strip()}
                        | ({0} if 0 in sparse and ncol > 1 else set()))
    data = [i for i in range(n) if i not in label_only]
    if label_cols and len(data) >= 2:
        pitch = sorted(b - a for a, b in zip(centers, centers[1:]))[(n - 1) // 2] if n > 1 else 0.0
        for j in label_cols:
            labels: list[list] = []  # [text, first center, last center]
            for i, r in enumerate(rows):
                if r[j].strip():
                    if labels and centers[i] - labels[-1][2] <= 1.6 * pitch:
                        labels[-1][0] += " " + r[j].strip()
                        labels[-1][2] = centers[i]
                    else:
                        labels.append([r[j].strip(), centers[i], centers[i]])
            if not labels:
                continue
            for i in data:
                rows[i][j] = min(labels, key=lambda lab: abs((lab[1] + lab[2]) / 2 - centers[i]))[0]
        rows = [rows[i] for i in data]
    out: list[list[str]] = []
    for r in rows:
        filled = [j for j, c in enumerate(r) if c.strip()]
        if out and not any(is_numeric(c) for c in r if c.strip()) and filled \
                and all(_continues(out[-1][j], r[j]) for j in filled):
            for j in filled:
                out[-1][j] = _join(out[-1][j], r[j])
            continue
        out.append(r)
    return out


def _merge_lines(rows: list[list[str]]) -> list[str]:
    out = [""] * len(rows[0])
    for r in rows:
        for j, c in enumerate(r):
            out[j] = _join(out[j], c.strip())
    return out
