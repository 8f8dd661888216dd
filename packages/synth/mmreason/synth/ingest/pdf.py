"""Layout-aware PDF reader (pdfplumber for characters and drawings, pypdfium2 to render crops).

Per page:
1. words from the characters with a gap tolerance relative to the font size (no "Thisisversion0.21");
   rotated characters (margin stamps, rotated axis titles) are not body text;
2. running headers / footers and page numbers (lines in the top / bottom band that repeat on other
   pages with digits ignored, or that are only a page number) are dropped;
3. captions: lines starting "Table N" / "Figure N" (not a reference continuing a sentence);
4. tables: stacks of horizontal rules (ruled and booktabs tables), graphics clusters next to a
   "Table N" caption (cell-filled tables), and, for a caption with neither, the run of multi-column
   lines next to it (unruled tables); their structure comes from `pdftable.table_rows`;
5. figures: clusters of drawings (images, curves, rectangles, lines) outside tables, grown over the
   words around them (axis labels, legends, which are then not text), paired with the nearest
   "Figure N" caption; a caption with no drawing claims the non-body lines above it;
6. reading order: recursive XY-cut of the remaining lines and of the table / figure regions: a page
   splits into horizontal slabs, consecutive slabs sharing a column gutter are read column by column;
7. paragraphs (line gap, indentation, font changes), headings (bold or larger short lines), hyphens
   at line ends joined, and a paragraph cut by a column / page break joined again.

Figures and tables are cropped from the page rendered at `dpi` (pixels bounded by `max_pixels`) and
travel as PNG bytes on their block (see model.py for the block contract).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from collections import Counter
from pathlib import Path

from .model import Block, Document, assign_labels, normalize_rows
from .pdftable import is_numeric, table_rows

PDF_DEFAULTS = {"dpi": 120, "max_pixels": 2_000_000, "max_pages": 2000}
_CAP = re.compile(r"^\s*(Table|Tab\.|Figure|Fig\.)\s*(\d+)\s*([:.|\u2014\u2013-]|$)", re.I)
_PAGE_NO = re.compile(r"^\W*(page\s*)?(\d{1,4}|[ivxlc]{1,6})(\s*(of|/)\s*\d{1,4})?\W*$", re.I)
_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")
_SUBCAP = re.compile(r"^\s*\(([a-z]|[ivx]{1,4})\)\s+\S")
_MONO = re.compile(r"mono|courier|consol|code|typewriter|cmtt|sfmono|menlo", re.I)
_BOLD = re.compile(r"bold|black|heavy|semibold|medi|\.b$|-b$|,b$", re.I)


# ---------------------------------------------------------------- geometry helpers

def _box(items) -> tuple[float, float, float, float]:
    return (min(i["x0"] for i in items), min(i["top"] for i in items),
            max(i["x1"] for i in items), max(i["bottom"] for i in items))


def _inside(w: dict, b, pad: float = 0.0) -> bool:
    cx, cy = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
    return b[0] - pad <= cx <= b[2] + pad and b[1] - pad <= cy <= b[3] + pad


def _xr(a) -> tuple[float, float]:
    return (a["x0"], a["x1"]) if isinstance(a, dict) else (a[0], a[2])


def _xoverlap(a, b) -> float:
    (a0, a1), (b0, b1) = _xr(a), _xr(b)
    return max(0.0, min(a1, b1) - max(a0, b0))


def _union(a, b):
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


# ---------------------------------------------------------------- words and lines

def _words(page) -> list[dict]:
    out = []
    for w in page.extract_words(x_tolerance_ratio=0.1, y_tolerance=2, keep_blank_chars=False,
                                return_chars=True):
        chars = w.pop("chars")
        if any(unicodedata.category(ch) == "Co" for ch in w["text"]):  # private-use glyphs (icons)
            w["text"] = "".join(ch for ch in w["text"] if unicodedata.category(ch) != "Co")
        if not w.get("upright", True) or not w["text"].strip():
            continue
        w["size"] = max((c.get("size") or 0) for c in chars) or (w["bottom"] - w["top"])
        c = max(chars, key=lambda c: c.get("size") or 0)
        try:  # the baseline, in top-down coordinates (bounding boxes differ between fonts)
            w["base"] = float(c["top"] + (c["y1"] - c["matrix"][5]))
        except (KeyError, TypeError, IndexError):
            w["base"] = w["bottom"]
        w["bold"] = all(_BOLD.search(c.get("fontname") or "") for c in chars if c["text"].strip())
        w["mono"] = bool(_MONO.search(chars[0].get("fontname") or ""))
        out.append(w)
    return out


def _lines(words: list[dict], gap: float) -> list[dict]:
    """Words on one baseline, split where the horizontal gap exceeds `gap`: {"words", x0, top, x1,
    bottom, "text", "size"}."""
    rows: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (w["base"], w["x0"])):
        best, bd = None, None
        for r in rows[-8:]:
            d = abs(r[0]["base"] - w["base"])
            small = min(w["size"], r[0]["size"]) < 0.85 * max(w["size"], r[0]["size"])  # sub/superscript
            if d <= (0.45 if small else 0.25) * max(r[0]["size"], w["size"]) and (bd is None or d < bd):
                best, bd = r, d
        if best is None:
            rows.append([w])
        else:
            best.append(w)
    out = []
    for r in rows:
        r.sort(key=lambda w: w["x0"])
        r = _attach_subscripts(r)
        seg = [r[0]]
        for w in r[1:]:
            if w["x0"] - seg[-1]["x1"] > gap:
                out.append(_mkline(seg))
                seg = [w]
            else:
                seg.append(w)
        out.append(_mkline(seg))
    return out


_SUB = re.compile(r"[\w.+\-−]{1,8}")


def _attach_subscripts(words: list[dict]) -> list[dict]:
    """A smaller word set below the baseline right after a word ending in a letter is its subscript, joined
    as `_` the way the HTML reader writes `<sub>` ("L" + "ia" -> "L_ia", "RankMistral_20"); digits after a
    number (a standard deviation) and symbols stay separate words."""
    out: list[dict] = []
    for w in words:
        p = out[-1] if out else None
        if p is not None and p["text"][-1:].isalpha() and w["size"] <= 0.85 * p["size"] \
                and 0.1 * p["size"] <= w["base"] - p["base"] <= 0.5 * p["size"] \
                and w["x0"] - p["x1"] <= 0.15 * p["size"] and _SUB.fullmatch(w["text"]):
            out[-1] = {**p, "text": f"{p['text']}_{w['text']}", "x1": max(p["x1"], w["x1"]),
                       "bottom": max(p["bottom"], w["bottom"])}
        else:
            out.append(w)
    return out


def _mkline(words: list[dict]) -> dict:
    x0, top, x1, bottom = _box(words)
    sizes = Counter(round(w["size"], 1) for w in words)
    return {"words": words, "x0": x0, "top": top, "x1": x1, "bottom": bottom,
            "text": " ".join(w["text"] for w in words), "size": sizes.most_common(1)[0][0],
            "bold": all(w["bold"] for w in words)}


def _norm_margin(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _running_lines(pages_lines: list[list[dict]], heights: list[float]) -> list[set[int]]:
    """Indices (per page) of running header / footer / page-number lines."""
    band = 0.08
    keys: list[dict[int, str]] = []
    for lines, h in zip(pages_lines, heights):
        keys.append({i: _norm_margin(ln["text"]) for i, ln in enumerate(lines)
                     if ln["bottom"] < band * h or ln["top"] > (1 - band) * h})
    count = Counter(k for d in keys for k in set(d.values()))
    need = 2 if len(pages_lines) < 6 else max(2, int(0.25 * len(pages_lines)))
    out = []
    for d, lines in zip(keys, pages_lines):
        out.append({i for i, k in d.items() if count[k] >= need or _PAGE_NO.match(lines[i]["text"])})
    return out


# ---------------------------------------------------------------- captions

def _captions(lines: list[dict], size: float) -> list[dict]:
    """Caption paragraphs: a line starting "Table N:" / "Figure N:" and the lines under it (same column,
    normal leading) up to a gap. A "Table 2." that continues the sentence of the line just above is a
    reference, not a caption."""
    caps = []
    used: set[int] = set()
    order = sorted(range(len(lines)), key=lambda i: (lines[i]["top"], lines[i]["x0"]))
    mid = (min((ln["x0"] for ln in lines), default=0) + max((ln["x1"] for ln in lines), default=0)) / 2
    for i in order:
        ln = lines[i]
        m = _CAP.match(ln["text"])
        if not m or i in used:
            continue
        above = [o for o in lines if o is not ln and 0 <= ln["top"] - o["bottom"] < 0.6 * size
                 and _xoverlap(o, ln) > 0.5 * min(o["x1"] - o["x0"], ln["x1"] - ln["x0"])]
        if m.group(3) in ("", ".") and any(not o["text"].rstrip().endswith((".", ":")) and
                                           abs(o["x0"] - ln["x0"]) < 2 for o in above):
            continue
        kind = "table" if m.group(1).lower().startswith("tab") else "image"
        members = [i] + [j for j, o in enumerate(lines) if j != i and o["x0"] > ln["x1"] and o["x0"] - ln["x1"] < 3 * size
                         and abs(o["words"][0]["base"] - ln["words"][0]["base"]) < 0.3 * size
                         and not ln["x1"] < mid < o["x0"]]  # the rest of its line, not the next column's
        cur = _mkline([w for j in members for w in lines[j]["words"]])
        while True:
            nxt = [j for j in order if j not in used and j not in members and 0 <= lines[j]["top"] - cur["bottom"]
                   < 0.6 * size and _xoverlap(lines[j], cur) > 0 and lines[j]["x0"] >= ln["x0"] - 3
                   and lines[j]["x1"] <= cur["x1"] + 3 * size and not _CAP.match(lines[j]["text"])]
            if not nxt:
                break
            top = min(lines[j]["top"] for j in nxt)
            row = [j for j in nxt if lines[j]["top"] - top < 0.3 * size]
            members += row
            cur = _mkline([w for j in row for w in lines[j]["words"]])
        used.update(members)
        box = _box([lines[j] for j in members])
        caps.append({"kind": kind, "number": int(m.group(2)), "members": members, "box": box,
                     "text": _join_lines(_visual_lines([lines[j] for j in members], size))})
    return caps


def _visual_lines(lines: list[dict], size: float) -> list[dict]:
    """Segments of one baseline (a justified line cut at wide spaces) as one line, top to bottom."""
    out: list[dict] = []
    for ln in sorted(lines, key=lambda ln: (ln["words"][0]["base"], ln["x0"])):
        if out and abs(ln["words"][0]["base"] - out[-1]["words"][0]["base"]) <= 0.3 * size:
            out[-1] = _mkline(out[-1]["words"] + ln["words"])
        else:
            out.append(ln)
    return out


def _join_lines(lines: list[dict]) -> str:
    out = ""
    for ln in lines:
        t = ln["text"].strip()
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and t[:1].islower():
            out = out[:-1] + t
        else:
            out = f"{out} {t}" if out else t
    return out


# ---------------------------------------------------------------- tables and figures

def _hrules(page, min_len: float) -> list[tuple[float, float, float]]:
    """Horizontal rules (y, x0, x1): lines, thin rectangles and rectangle edges, merged when they touch."""
    raw = sorted((e["top"], e["x0"], e["x1"]) for e in page.horizontal_edges if e["x1"] - e["x0"] >= 2)
    out: list[list[float]] = []
    for y, x0, x1 in raw:  # pieces of one rule (cell borders, both edges of a thin rectangle) join
        for o in out[-40:]:
            if abs(o[0] - y) <= 1.5 and min(o[2], x1) - max(o[1], x0) >= -1.0:
                o[1], o[2] = min(o[1], x0), max(o[2], x1)
                break
        else:
            out.append([y, x0, x1])
    return [tuple(o) for o in out if o[2] - o[1] >= min_len]


def _vrules(page) -> list[tuple[float, float, float]]:
    return [(e["x0"], e["top"], e["bottom"]) for e in page.vertical_edges if e["bottom"] - e["top"] >= 6]


def _is_prose(ln: dict, width: float, size: float) -> bool:
    """A line of running text: >= 7 words, mostly words of letters (not numbers or capitals), wide."""
    return _wordy(ln) and ln["x1"] - ln["x0"] >= 0.8 * width and abs(ln["size"] - size) <= 1.5


def _wordy(ln: dict) -> bool:
    """>= 7 words (or >= 25 letters in scripts that space less), mostly words of letters."""
    words = ln["text"].split()
    alpha = sum(1 for w in words if re.fullmatch(r"[\w’'(),.;:\-“”\"]+", w) and any(c.isalpha() for c in w)
                and not (w.isupper() and len(w) > 1))
    letters = sum(1 + (ord(c) >= 0x2E80) for c in ln["text"] if c.isalpha())  # a CJK character counts twice
    return (len(words) >= 7 or letters >= 25 and len(words) >= 3) and alpha >= 0.7 * len(words)


def _rule_tables(rules, lines, caps, size) -> list[tuple]:
    """Stacks of >= 2 horizontal rules with words between them and no prose or caption line between."""
    stacks: list[list] = []
    for y, x0, x1 in sorted(rules):
        for st in stacks:
            sx0, sx1, ys = st[0], st[1], st[2]
            ov = min(sx1, x1) - max(sx0, x0)
            if ov >= 0.6 * min(sx1 - sx0, x1 - x0) and max(x1 - x0, sx1 - sx0) <= 1.6 * min(x1 - x0, sx1 - sx0) \
                    or ov >= 0.95 * (x1 - x0):
                between = [ln for ln in lines if ys[-1] < (ln["top"] + ln["bottom"]) / 2 < y
                           and _xoverlap(ln, (sx0, 0, sx1, 0)) > 0]
                capbox = [c for c in caps if ys[-1] < (c["box"][1] + c["box"][3]) / 2 < y
                          and _xoverlap(c["box"], (sx0, 0, sx1, 0)) > 0]
                body = sum(_wordy(ln) and abs(ln["size"] - size) <= 0.5 for ln in between)
                if not capbox and not any(_is_prose(ln, sx1 - sx0, size) for ln in between) and body < 3:
                    if x1 - x0 > sx1 - sx0:
                        st[0], st[1] = x0, x1
                    ys.append(y)
                    break
        else:
            stacks.append([x0, x1, [y]])
    out = []
    for x0, x1, ys in stacks:
        if len(ys) < 2:
            continue
        inside = [ln for ln in lines if ys[0] < (ln["top"] + ln["bottom"]) / 2 < ys[-1]
                  and x0 - 2 <= ln["x0"] and ln["x1"] <= x1 + 2]
        ws = [w for ln in inside for w in ln["words"]]
        if len(inside) >= 2 and sum(w["mono"] for w in ws) < 0.6 * len(ws):  # a framed code listing is text
            out.append((x0, ys[0] - 1, x1, ys[-1] + 1))
    return out


def _drawings(page, page_area: float) -> list[tuple[tuple, str]]:
    """Visible drawn objects: (box, kind) with kind image | curve | rect | line."""
    objs = []
    for kind, coll in (("image", page.images), ("curve", page.curves), ("rect", page.rects), ("line", page.lines)):
        for o in coll:
            b = (float(o["x0"]), float(o["top"]), float(o["x1"]), float(o["bottom"]))
            if (b[2] - b[0]) * (b[3] - b[1]) > 0.85 * page_area:
                continue  # a page background
            if kind == "rect" and not (o.get("fill") or o.get("stroke")):
                continue
            if kind == "rect" and o.get("fill") and not o.get("stroke") and _white(o.get("non_stroking_color")):
                continue
            objs.append((b, kind))
    return objs


def _clusters(objs: list[tuple[tuple, str]], exclude: list[tuple], gap: float = 6.0, small: bool = False) -> list[tuple]:
    """Connected groups of drawings (closer than `gap`) outside `exclude`: (x0, top, x1, bottom, kinds, n)."""
    objs = [(b, k) for b, k in objs
            if not any(_inside({"x0": b[0], "x1": b[2], "top": b[1], "bottom": b[3]}, e, 1) for e in exclude)]
    objs.sort(key=lambda o: o[0][0])
    parent = list(range(len(objs)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (bi, _) in enumerate(objs):
        for j in range(i + 1, len(objs)):
            bj = objs[j][0]
            if bj[0] > bi[2] + gap:
                break
            if bj[1] <= bi[3] + gap and bi[1] <= bj[3] + gap:
                parent[find(j)] = find(i)
    groups: dict[int, list] = {}
    for i, (b, k) in enumerate(objs):
        g = groups.setdefault(find(i), [b[0], b[1], b[2], b[3], set(), 0])
        g[0], g[1], g[2], g[3] = min(g[0], b[0]), min(g[1], b[1]), max(g[2], b[2]), max(g[3], b[3])
        g[4].add(k)
        g[5] += 1
    out = []
    for x0, top, x1, bottom, kinds, n in groups.values():
        w, h = x1 - x0, bottom - top
        if not small and (w < 30 or h < 20 or kinds <= {"line"} and (w < 60 or h < 30)):
            continue
        out.append((x0, top, x1, bottom, kinds, n))
    return out


def _white(color) -> bool:
    if color is None:
        return False
    vals = color if isinstance(color, (list, tuple)) else [color]
    try:
        return all(float(v) >= 0.99 for v in vals) and len(vals) in (1, 3)
    except (TypeError, ValueError):
        return False


def _pair_caption(box, caps, kind: str, taken: set[int], size: float, lines=()):
    """Index of the nearest free caption of `kind` above or below `box` (horizontally overlapping):
    within 6 font sizes, or 12 when no text line lies between them."""
    best, dist = None, 12 * size
    for k, c in enumerate(caps):
        if k in taken or c["kind"] != kind:
            continue
        cb = c["box"]
        if _xoverlap(cb, box) < 0.3 * min(cb[2] - cb[0], box[2] - box[0]):
            continue
        d = cb[1] - box[3] if cb[1] >= box[3] - 2 else box[1] - cb[3] if cb[3] <= box[1] + 2 else None
        if d is None or not -2 <= d < dist:
            continue
        lo, hi = (box[3], cb[1]) if cb[1] >= box[3] - 2 else (cb[3], box[1])
        if d >= 6 * size and any(lo < (ln["top"] + ln["bottom"]) / 2 < hi and _xoverlap(ln, box) > 0 for ln in lines):
            continue
        best, dist = k, d
    return best


def _grow_from_caption(cap: dict, lines: list[dict], claimed, size: float, col: tuple[float, float], up: bool):
    """Lines next to a caption (above when `up`) that are not prose, within the caption's column."""
    x0, x1 = col
    cb = cap["box"]
    cands = [ln for ln in lines if not any(_inside(ln, b, 0) for b in claimed)
             and ln["x0"] >= x0 - 3 and ln["x1"] <= x1 + 3
             and ((ln["bottom"] <= cb[1] + 1) if up else (ln["top"] >= cb[3] - 1))]
    cands.sort(key=lambda ln: -ln["bottom"] if up else ln["top"])
    got: list[dict] = []
    edge = cb[1] if up else cb[3]
    for ln in cands:
        gap = (edge - ln["bottom"]) if up else (ln["top"] - edge)
        if gap > 2.2 * size:
            break
        if _is_prose(ln, x1 - x0, size) or _CAP.match(ln["text"]):
            break
        got.append(ln)
        edge = min(edge, ln["top"]) if up else max(edge, ln["bottom"])
    return got


# ---------------------------------------------------------------- reading order

def _xy_order(items: list[dict], colgap: float, depth: int = 0) -> list[dict]:
    """Recursive XY-cut: columns (x gaps across the whole group) left to right, else horizontal slabs
    top to bottom, consecutive slabs that share a column gutter read together."""
    if len(items) <= 1 or depth > 40:
        return sorted(items, key=lambda i: (i["top"], i["x0"]))
    cols = _split(items, "x", colgap)
    if len(cols) > 1:
        return [i for c in cols for i in _xy_order(c, colgap, depth + 1)]
    slabs = _split(items, "y", 0.01)
    if len(slabs) == 1:
        return sorted(items, key=lambda i: (round(i["top"] / 3), i["x0"]))
    groups: list[tuple[list[dict], list]] = []
    for s in slabs:
        free = _free_bands(s, colgap)
        if groups:
            g, gfree = groups[-1]
            both = _intersect(gfree, free, colgap)
            ext = (min(i["x0"] for i in g + s), max(i["x1"] for i in g + s))
            both = [b for b in both if b[0] > ext[0] + 1 and b[1] < ext[1] - 1]
            if both:
                groups[-1] = (g + s, both)
                continue
        groups.append((s, free))
    if len(groups) == 1:
        return sorted(items, key=lambda i: (round(i["top"] / 3), i["x0"]))
    return [i for g, _ in groups for i in _xy_order(g, colgap, depth + 1)]


def _split(items: list[dict], axis: str, gap: float) -> list[list[dict]]:
    lo, hi = ("x0", "x1") if axis == "x" else ("top", "bottom")
    out: list[list[dict]] = []
    end = None
    for it in sorted(items, key=lambda i: i[lo]):
        if end is not None and it[lo] - end >= gap:
            out.append([it])
        elif out:
            out[-1].append(it)
        else:
            out.append([it])
        end = it[hi] if end is None or it[lo] - end >= gap else max(end, it[hi])
    return out


def _free_bands(items: list[dict], gap: float) -> list[tuple[float, float]]:
    """x-intervals (width >= gap) no item covers, including the open ends."""
    spans = sorted((i["x0"], i["x1"]) for i in items)
    out, end = [(-1e9, spans[0][0])], spans[0][1]
    for a, b in spans[1:]:
        if a - end >= gap:
            out.append((end, a))
        end = max(end, b)
    out.append((end, 1e9))
    return out


def _intersect(a, b, gap):
    out = []
    for x0, x1 in a:
        for y0, y1 in b:
            lo, hi = max(x0, y0), min(x1, y1)
            if hi - lo >= gap:
                out.append((lo, hi))
    return out


# ---------------------------------------------------------------- the page

def _crop(rendered, scale, box, pad, max_pixels) -> tuple[bytes, tuple[int, int]] | None:
    from PIL import Image

    if rendered is None:
        return None
    W, H = rendered.size
    x0, y0 = max(0, int((box[0] - pad) * scale)), max(0, int((box[1] - pad) * scale))
    x1, y1 = min(W, int((box[2] + pad) * scale) + 1), min(H, int((box[3] + pad) * scale) + 1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    im = rendered.crop((x0, y0, x1, y1))
    if im.width * im.height > max_pixels:
        f = (max_pixels / (im.width * im.height)) ** 0.5
        im = im.resize((max(1, int(im.width * f)), max(1, int(im.height * f))), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue(), im.size


def _page_blocks(doc: Document, page, pno: int, words: list[dict], drop: set[int], lines: list[dict],
                 size: float, render, opts: dict) -> list[Block]:
    """Blocks of one page in reading order."""
    W = float(page.width)
    colgap = max(8.0, 0.9 * size)
    lines = [ln for i, ln in enumerate(lines) if i not in drop]
    caps = _captions(lines, size)
    cap_members = {id(lines[j]) for c in caps for j in c["members"]}
    body_lines = [ln for ln in lines if id(ln) not in cap_members]

    rules = _hrules(page, max(30.0, 0.08 * W))
    regions, taken = _regions(page, body_lines, lines, caps, rules, size, colgap)
    # assign lines to regions
    free_lines = []
    for ln in body_lines:
        owner = next((r for r in regions if _inside(ln, r["box"], 1)), None)
        if owner is None:
            free_lines.append(ln)
        else:
            owner.setdefault("lines", []).append(ln)
    # reading order
    items = [{"x0": ln["x0"], "x1": ln["x1"], "top": ln["top"], "bottom": ln["bottom"], "line": ln}
             for ln in free_lines]
    for c_i, c in enumerate(caps):
        if c_i not in taken:
            for j in c["members"]:
                ln = lines[j]
                items.append({"x0": ln["x0"], "x1": ln["x1"], "top": ln["top"], "bottom": ln["bottom"], "line": ln})
    for r in regions:
        b = r["box"]
        if r["cap"] is not None:
            b = _union(b, caps[r["cap"]]["box"])
        items.append({"x0": b[0], "x1": b[2], "top": b[1], "bottom": b[3], "region": r})
    ordered = _xy_order(items, colgap)
    blocks: list[Block] = []
    para: list[dict] = []

    def flush():
        if para:
            blocks.extend(_paragraph_blocks(para, size, pno))
            para.clear()

    for it in ordered:
        if "region" in it:
            flush()
            b = _region_block(doc, it["region"], caps, words, rules, page, size, pno, render, opts)
            if b is not None:
                blocks.append(b)
            continue
        ln = it["line"]
        if para and abs(ln.get("words")[0]["base"] - para[-1]["words"][0]["base"]) <= 0.3 * size \
                and ln["x0"] >= para[-1]["x1"] - 1:
            para[-1] = _mkline(para[-1]["words"] + ln["words"])  # one visual line cut at a wide space
            continue
        if para and _new_paragraph(para[-1], ln, size):
            flush()
        para.append(ln)
    flush()
    return blocks


def _regions(page, body_lines, lines, caps, rules, size, colgap):
    """Table and figure regions of a page: [{"kind": table|image, "box", "cap": caption index|None}]."""
    W, H = float(page.width), float(page.height)
    drawings = _drawings(page, W * H)
    clusters = _clusters(drawings, [])
    regions: list[dict] = []
    taken: set[int] = set()
    for box in _rule_tables(rules, body_lines, caps, size):
        k = _pair_caption(box, caps, "table", taken, size, body_lines)
        kf = _pair_caption(box, caps, "image", taken, size, body_lines)
        area = (box[2] - box[0]) * (box[3] - box[1])
        drawn = [c for c in clusters if c[5] >= 5 and _area_overlap(box, c) > 0]
        if sum(_area_overlap(box, c) for c in drawn) >= 0.3 * area and (kf is not None and (k is None or _cap_dist(box, caps[kf]) < _cap_dist(box, caps[k]))
                      or k is None and any(c[4] & {"image", "curve"} for c in drawn)):
            continue  # the axes and grid lines of a chart, not a table
        if k is not None:
            taken.add(k)
        regions.append({"kind": "table", "box": box, "cap": k})
    loose = []
    for c in _clusters(drawings, [r["box"] for r in regions], small=True):
        box, kinds = c[:4], c[4]
        if any(_area_overlap(box, r["box"]) > 0 for r in regions):
            continue
        w, h = box[2] - box[0], box[3] - box[1]
        if w < 30 or h < 20 or kinds <= {"line"} and (w < 60 or h < 30):
            if c[5] >= 2 and w * h >= 40:
                loose.append(c)  # a legend or a panel label: only joins a figure next to it
            continue
        k = _pair_caption(box, caps, "image", taken, size, body_lines)
        kt = _pair_caption(box, caps, "table", taken, size, body_lines)
        if kt is not None and (k is None or _cap_dist(box, caps[kt]) < _cap_dist(box, caps[k])) \
                and "image" not in kinds:
            regions.append({"kind": "table", "box": box, "cap": kt})  # cells drawn as filled rectangles
            taken.add(kt)
        elif k is not None:
            regions.append({"kind": "image", "box": box, "cap": k})
            taken.add(k)
        else:
            loose.append(c)
    # sub-figures and panels without their own caption join the captioned figure next to them
    changed = True
    while changed and loose:
        changed = False
        for c in list(loose):
            for r in regions:
                if r["kind"] != "image":
                    continue
                u = _union(r["box"], c[:4])
                gap = max(c[1] - r["box"][3], r["box"][1] - c[3], c[0] - r["box"][2], r["box"][0] - c[2])
                blocked = any(_inside(ln, u) and _is_prose(ln, min(u[2] - u[0], 0.45 * W), size) for ln in body_lines) \
                    or any(k != r["cap"] and _area_overlap(u, caps[k]["box"]) > 0 for k in range(len(caps)))
                if gap <= 4 * size and not blocked:
                    r["box"] = u
                    loose.remove(c)
                    changed = True
                    break
    for c in loose:  # an uncaptioned picture (a raster image, a plot), not a frame around text
        if (c[4] & {"image", "curve"} or c[5] >= 10) and (c[2] - c[0]) >= 50 and (c[3] - c[1]) >= 40:
            prose = [ln for ln in body_lines if _inside(ln, c[:4]) and _is_prose(ln, 0.5 * (c[2] - c[0]), size)]
            if len(prose) < 3:
                regions.append({"kind": "image", "box": c[:4], "cap": None})
    # captions still without a region: the lines next to them (above first for figures)
    for k, c in enumerate(caps):
        if k in taken:
            continue
        col = _column_of(c["box"], W, colgap, lines)
        claimed = [r["box"] for r in regions]
        for up in ((True, False) if c["kind"] == "image" else (False, True)):
            got = _grow_from_caption(c, body_lines, claimed, size, col, up)
            ok = len(got) >= (1 if c["kind"] == "image" else 2) and (
                c["kind"] == "image" or any(len(_split(g["words"], "x", max(4.0, 0.6 * size))) > 1 for g in got))
            if ok:
                taken.add(k)
                regions.append({"kind": c["kind"], "box": _box(got), "cap": k})
                break
    # figures absorb the words around them (axis labels, legends, rotated axis titles); tables keep
    # exactly their box
    rotated = [c for c in page.chars if not c.get("upright", True) and c.get("text", "").strip()]
    for r in regions:
        if r["kind"] != "image":
            continue
        b = r["box"]
        side = [c for c in rotated if c["x0"] >= b[0] - 2.5 * size and c["x1"] <= b[2] + 2.5 * size
                and c["top"] >= b[1] - size and c["bottom"] <= b[3] + size]
        if side:
            r["box"] = _union(b, _box(side))
        for _ in range(3):
            b = r["box"]
            near = [ln for ln in body_lines if _inside(ln, b, 0) or (
                ln["x0"] >= b[0] - 2.5 * size and ln["x1"] <= b[2] + 2.5 * size
                and ln["top"] >= b[1] - 1.2 * size and ln["bottom"] <= b[3] + 1.2 * size
                and not _is_prose(ln, b[2] - b[0], size)) or (  # a sub-caption "(b) Results of ..."
                _SUBCAP.match(ln["text"]) and _xoverlap(ln, b) > 0 and -2 <= ln["top"] - b[3] <= 2.5 * size)]
            if not near:
                break
            nb = _union(b, _box(near))
            if nb == b:
                break
            r["box"] = nb
    # an uncaptioned picture inside another region is a part of it
    def area(b):
        return max(1e-6, (b[2] - b[0]) * (b[3] - b[1]))

    regions = [r for r in regions if r["cap"] is not None or not any(
        o is not r and _area_overlap(r["box"], o["box"]) >= 0.5 * area(r["box"]) for o in regions)]
    return regions, taken


def _area_overlap(a, b) -> float:
    return _xoverlap(a, b) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _cap_dist(box, cap) -> float:
    cb = cap["box"]
    return min(abs(cb[1] - box[3]), abs(box[1] - cb[3]))


def _column_of(box, W: float, colgap: float, lines: list[dict]) -> tuple[float, float]:
    """The x-range of the text column holding `box` (the whole text width when it spans the gutter)."""
    xs0 = min((ln["x0"] for ln in lines), default=0.0)
    xs1 = max((ln["x1"] for ln in lines), default=W)
    mid = (xs0 + xs1) / 2
    if box[2] <= mid + colgap / 2:
        return xs0, mid
    if box[0] >= mid - colgap / 2:
        return mid, xs1
    return xs0, xs1


def _new_paragraph(prev: dict, ln: dict, size: float) -> bool:
    gap = ln["top"] - prev["bottom"]
    if gap < -0.5 * size or gap > 0.75 * max(size, prev["size"]):  # new column, or a blank line
        return True
    if _CAP.match(ln["text"]) or abs(ln["size"] - prev["size"]) > 1.2 or ln["bold"] != prev["bold"] and (
            _heading_level(ln, size) or _heading_level(prev, size)):
        return True
    if _heading_level(prev, size) and (gap > 0.4 * size or _NUMBERED.match(ln["text"])):
        return True  # a heading, then a run-in paragraph title ("4.1 Setting" / "Evaluation Datasets")
    if ln["x0"] > prev["x0"] + 0.8 * size and prev["text"].rstrip().endswith((".", ":", "!", "?")):
        return True  # first-line indent after a finished sentence
    return False


def _heading_level(ln: dict, size: float) -> int:
    t = ln["text"].strip()
    if len(t) > 90 or len(t) < 2 or t.endswith((".", ",", ";")) or not re.search(r"[A-Za-z]", t):
        return 0
    if not (ln["bold"] or ln["size"] >= size + 1.5):
        return 0
    m = _NUMBERED.match(t)
    if m:
        return min(6, m.group(1).count(".") + 1)
    if re.match(r"^(Appendix\s+)?[A-Z](\.\d+)*\s+[A-Z]", t):
        return min(6, t.split()[0].count(".") + 1) if not t.startswith("Appendix") else 1
    return 1 if ln["size"] >= size + 1.5 or len(t.split()) <= 8 else 0


def _paragraph_blocks(lines: list[dict], size: float, pno: int) -> list[Block]:
    if len(lines) == 1 and _heading_level(lines[0], size):
        level = _heading_level(lines[0], size)
        if not _NUMBERED.match(lines[0]["text"]) and lines[0]["size"] < size + 0.5:
            level = -1  # a bold paragraph title: one level under the numbered heading above it
        return [Block("text", lines[0]["text"].strip(), page=pno, heading_level=level)]
    # lines side by side (a justified line split at a wide space) read left to right
    text = _join_lines(lines)
    return [Block("text", text, page=pno)] if text.strip() else []


def _as_text(r: dict, pno: int) -> Block | None:
    text = _join_lines(sorted(r.get("lines", []), key=lambda ln: (ln["top"], ln["x0"])))
    return Block("text", text, page=pno) if text else None


def _region_block(doc, r, caps, words, rules, page, size, pno, render, opts) -> Block | None:
    box = r["box"]
    cap = caps[r["cap"]]["text"] if r["cap"] is not None else ""
    rendered, scale = render() if render else (None, 1.0)
    crop = _crop(rendered, scale, box, 2.0, opts["max_pixels"])
    if r["kind"] == "table":
        ws = [w for ln in r.get("lines", []) for w in ln["words"]]
        hr = [(y, x0, x1) for y, x0, x1 in rules if box[1] - 2 <= y <= box[3] + 2 and _xoverlap((x0, 0, x1, 0), box) > 0]
        vr = [x for x, t, b in _vrules(page) if box[0] - 1 <= x <= box[2] + 1 and t < box[3] and b > box[1]]
        rows = normalize_rows(doc, table_rows(ws, hr, vr, size), f"page {pno + 1} table")
        if not cap and (len(rows) < 2 or len(rows[0]) < 2):
            return _as_text(r, pno)  # a framed note, not a table
        b = Block("table", cap, caption=cap, page=pno, rows=rows)
    else:
        b = Block("image", cap, caption=cap, page=pno)
    if crop is not None:
        data, b.image_size = crop
        b.image_bytes, b.image_status, b.image_sha = data, "embedded", hashlib.sha1(data).hexdigest()
    elif r["kind"] == "image":
        b.image_status = "missing"
        doc.issue(f"page {pno + 1}: figure could not be rendered")
    return b


# ---------------------------------------------------------------- the document

def read_pdf(path: Path, root: Path, opts: dict | None = None) -> Document:
    import pdfplumber

    opts = {**PDF_DEFAULTS, **(opts or {})}
    raw = path.read_bytes()
    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    try:
        pdf = pdfplumber.open(io.BytesIO(raw))
        pages = list(pdf.pages)
    except Exception as e:  # pdfminer raises many types on broken files
        doc.issue(f"unreadable PDF ({type(e).__name__}: {e})")
        return doc
    if len(pages) > opts["max_pages"]:
        doc.issue(f"{len(pages)} pages; only the first {opts['max_pages']} are read (max_pages)")
        pages = pages[: opts["max_pages"]]
    pdfium_doc = _open_pdfium(raw, doc)
    with pdf:
        page_words, page_lines, heights = [], [], []
        for pno, page in enumerate(pages):
            try:
                ws = _words(page)
            except Exception as e:
                doc.issue(f"page {pno + 1}: text extraction failed ({type(e).__name__}: {e})")
                ws = []
            page_words.append(ws)
            heights.append(float(page.height))
        sizes = Counter(round(w["size"]) for ws in page_words for w in ws for _ in w["text"])
        size = float(sizes.most_common(1)[0][0]) if sizes else 10.0
        for ws in page_words:
            page_lines.append(_lines(ws, max(8.0, 0.9 * size)))
        running = _running_lines(page_lines, heights)
        for pno, page in enumerate(pages):
            render = _renderer(pdfium_doc, pno, opts, page)
            try:
                blocks = _page_blocks(doc, page, pno, page_words[pno], running[pno], page_lines[pno], size,
                                      render, opts)
            except Exception as e:  # one bad page never loses the document
                doc.issue(f"page {pno + 1}: layout analysis failed ({type(e).__name__}: {e})")
                blocks = [Block("text", ln["text"], page=pno) for i, ln in enumerate(page_lines[pno])
                          if i not in running[pno]]
            try:
                page.close()
            except Exception:
                pass
            doc.blocks.extend(blocks)
    if pdfium_doc is not None:
        pdfium_doc.close()
    _join_broken_paragraphs(doc)
    _sections_and_spans(doc)
    heads = [b for b in doc.blocks if b.heading_level and b.page == 0]
    first = heads[0] if heads else next((b for b in doc.blocks if b.type == "text"), None)
    if first is not None:
        doc.title = first.text[:200]
    return assign_labels(doc.renumber())


def _open_pdfium(raw: bytes, doc: Document):
    try:
        import pypdfium2 as pdfium

        return pdfium.PdfDocument(raw)
    except Exception as e:
        doc.issue(f"the PDF cannot be rendered, figures and tables come without crops ({type(e).__name__}: {e})")
        return None


def _renderer(pdfium_doc, pno: int, opts: dict, page):
    """A function rendering the page once on first use: (PIL image, pixels per point)."""
    cache: list = []

    def render():
        if not cache:
            img, scale = None, opts["dpi"] / 72.0
            if pdfium_doc is not None:
                try:
                    p = pdfium_doc[pno]
                    pts = float(page.width) * float(page.height)
                    scale = min(scale, (4 * opts["max_pixels"] / max(pts, 1.0)) ** 0.5)
                    img = p.render(scale=scale).to_pil().convert("RGB")
                    p.close()
                except Exception:
                    img = None
            cache.append((img, scale))
        return cache[0]

    return render


def _join_broken_paragraphs(doc: Document) -> None:
    """A paragraph cut by a column or page break (no sentence end, next starts lower-case) is one
    paragraph again; tables / figures floating in between stay where they are."""
    out: list[Block] = []
    last_text: Block | None = None
    for b in doc.blocks:
        if b.type == "text" and not b.heading_level and last_text is not None and b.text[:1].islower() \
                and not last_text.text.rstrip().endswith((".", "!", "?", ":")) and not _CAP.match(last_text.text):
            t = last_text.text
            last_text.text = t[:-1] + b.text if t.endswith("-") and t[-2:-1].isalpha() else f"{t} {b.text}"
            continue
        out.append(b)
        if b.type == "text":
            last_text = None if b.heading_level else b
    doc.blocks = out


def _sections_and_spans(doc: Document) -> None:
    """Section paths from headings; spans are offsets in the page's text (blocks joined by blank lines)."""
    section: list[str] = []
    pos: dict[int | None, int] = {}
    numbered = 0
    for b in doc.blocks:
        if b.heading_level < 0:
            b.heading_level = numbered + 1
        elif b.heading_level:
            numbered = b.heading_level
        if b.heading_level:
            section = section[: b.heading_level - 1] + [b.text]
        b.section = " / ".join(section)
        text = b.text if b.type in ("text", "formula") else b.caption
        start = pos.get(b.page, 0)
        b.span = (start, start + len(text))
        pos[b.page] = start + len(text) + 2


__all__ = ["read_pdf", "is_numeric", "PDF_DEFAULTS"]
