"""Office readers (python-docx, openpyxl, python-pptx; no LibreOffice needed).

- .docx: paragraphs in body order (heading styles -> headings, "Caption" paragraphs -> captions), tables
  (merged cells repeated in each grid cell they cover; nested tables read as the text of their cell),
  OMML equations -> LaTeX (a paragraph holding only an equation is a formula block, inline ones are
  `$…$` in the text), superscript / subscript runs as `^` / `_`, hyperlinks kept in `Block.links`,
  embedded images (bytes on the block), core properties -> `Document.meta`.
- .xlsx / .xlsm: each sheet is a section; its table regions are the blocks of non-empty cells separated
  by empty rows / columns (merged ranges filled with their value); a region of one cell / one line
  just above a table, or a first row holding a single cell, is that table's caption, not its header.
  Values as displayed: formulas' cached values, integral floats without ".0", dates as ISO dates
  (with the time when the cell's format shows one). Embedded images become image blocks.
- .pptx: one page per slide; the title placeholder is a heading, then the shapes top to bottom:
  text frames (paragraphs), tables (merged cells repeated), charts (their data as a table: categories
  down, one column per series, the chart title as caption), pictures (bytes on the block); group
  shapes are read recursively.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from pathlib import Path

from .model import Block, Document, assign_labels, image_info, normalize_rows
from .text import attach_captions

MAX_CELLS = 500_000  # per workbook
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _new_doc(path: Path, root: Path) -> tuple[Document, bytes]:
    raw = path.read_bytes()
    return Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest()), raw


def _image_block(doc: Document, data: bytes, name: str, **kw) -> Block:
    b = Block("image", kw.pop("caption", ""), **kw)
    b.caption = b.text
    if image_info(doc, b, data, name):
        b.image_bytes, b.image_status = data, "embedded"
    return b


def _meta(props) -> dict:
    out = {}
    for k in ("title", "author", "subject", "keywords", "created", "modified", "last_modified_by", "creator"):
        v = getattr(props, k, None)
        if v not in (None, ""):
            out[k] = v.isoformat() if isinstance(v, (_dt.date, _dt.datetime)) else str(v)
    return out


# ---------------------------------------------------------------- OMML -> LaTeX

_SYMBOLS = {"π": r"\pi", "±": r"\pm", "∓": r"\mp", "×": r"\times", "÷": r"\div", "≤": r"\le", "≥": r"\ge",
            "≠": r"\neq", "≈": r"\approx", "∞": r"\infty", "α": r"\alpha", "β": r"\beta", "γ": r"\gamma",
            "δ": r"\delta", "Δ": r"\Delta", "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "σ": r"\sigma",
            "Σ": r"\Sigma", "ω": r"\omega", "Ω": r"\Omega", "ϕ": r"\phi", "φ": r"\varphi", "ε": r"\epsilon",
            "∂": r"\partial", "∇": r"\nabla", "→": r"\to", "⋅": r"\cdot", "·": r"\cdot", "∈": r"\in", "−": "-"}
_NARY = {"∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∬": r"\iint", "∮": r"\oint", "⋃": r"\bigcup", "⋂": r"\bigcap"}


def _mattr(el, path: str, default: str = "") -> str:
    e = el.find(path)
    return e.get(_M + "val", default) if e is not None else default


def omml_latex(el, depth: int = 0) -> str:
    """LaTeX for an OMML element (m:oMath and its children); unknown elements give their text."""
    if depth > 60:
        return ""
    tag = el.tag.replace(_M, "") if isinstance(el.tag, str) else ""

    def kid(name: str) -> str:
        e = el.find(_M + name)
        return omml_latex(e, depth + 1) if e is not None else ""

    def all_kids() -> str:
        return "".join(omml_latex(c, depth + 1) for c in el if isinstance(c.tag, str) and not c.tag.endswith("Pr"))

    if tag == "t":
        return "".join(_SYMBOLS.get(ch, ch) + (" " if ch in _SYMBOLS and _SYMBOLS[ch].startswith("\\") else "")
                       for ch in (el.text or ""))
    if tag == "f":
        return rf"\frac{{{kid('num')}}}{{{kid('den')}}}"
    if tag == "sSup":
        return f"{kid('e')}^{{{kid('sup')}}}"
    if tag == "sSub":
        return f"{kid('e')}_{{{kid('sub')}}}"
    if tag == "sSubSup":
        return f"{kid('e')}_{{{kid('sub')}}}^{{{kid('sup')}}}"
    if tag == "rad":
        deg = kid("deg")
        return rf"\sqrt[{deg}]{{{kid('e')}}}" if deg else rf"\sqrt{{{kid('e')}}}"
    if tag == "d":
        beg = _mattr(el, f"{_M}dPr/{_M}begChr", "(")
        end = _mattr(el, f"{_M}dPr/{_M}endChr", ")")
        sep = _mattr(el, f"{_M}dPr/{_M}sepChr", ",")
        inner = sep.join(omml_latex(e, depth + 1) for e in el.findall(_M + "e"))
        return rf"\left{beg or '.'}{inner}\right{end or '.'}".replace(r"\left{", r"\left\{").replace(r"\right}", r"\right\}")
    if tag == "nary":
        op = _NARY.get(_mattr(el, f"{_M}naryPr/{_M}chr", "∫"), r"\int")
        sub, sup = kid("sub"), kid("sup")
        return op + (f"_{{{sub}}}" if sub else "") + (f"^{{{sup}}}" if sup else "") + f" {kid('e')}"
    if tag == "func":
        return rf"{kid('fName')} {kid('e')}"
    if tag in ("acc", "bar"):
        return rf"\bar{{{kid('e')}}}" if tag == "bar" else rf"\hat{{{kid('e')}}}"
    if tag in ("limLow", "limUpp"):
        return f"{kid('e')}{'_' if tag == 'limLow' else '^'}{{{kid('lim')}}}"
    if tag == "m":
        rows = [" & ".join(omml_latex(e, depth + 1) for e in mr.findall(_M + "e")) for mr in el.findall(_M + "mr")]
        return r"\begin{matrix}" + r" \\ ".join(rows) + r"\end{matrix}"
    if tag == "eqArr":
        return r" \\ ".join(omml_latex(e, depth + 1) for e in el.findall(_M + "e"))
    return all_kids()


def _clean_latex(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


# ---------------------------------------------------------------- docx

def _para_text(p_el, rels, links: list[dict], display_inline: bool = False) -> str:
    """Text of a w:p in order: runs (sup/sub as ^/_), tabs, breaks, hyperlinks, inline equations (and,
    with `display_inline`, display equations too)."""
    from .html import _script

    out: list[str] = []
    for el in p_el.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == _M + "oMath":
            if el.getparent() is not None and el.getparent().tag == _M + "oMathPara" and not display_inline:
                continue  # display equations are formula blocks
            out.append(f" ${_clean_latex(omml_latex(el))}$ ")
        elif tag == _W + "r":
            if any(a.tag == _M + "oMath" for a in el.iterancestors()):
                continue
            text = "".join(t.text or "" for t in el.iter(_W + "t"))
            text += " " * len(list(el.iter(_W + "tab")))
            va = el.find(f"{_W}rPr/{_W}vertAlign")
            kind = {"superscript": "sup", "subscript": "sub"}.get(va.get(_W + "val") if va is not None else "")
            out.append(_script(text, kind) if kind and text.strip() else text)
        elif tag == _W + "br":
            out.append(" ")
        elif tag == _W + "hyperlink":
            rid = el.get(_R + "id")
            target = rels.get(rid) if rid else None
            text = "".join(t.text or "" for t in el.iter(_W + "t"))
            if text.strip():
                links.append({"text": text.strip(), "url": target or ("#" + (el.get(_W + "anchor") or ""))})
    return " ".join("".join(out).split())


def _docx_images(el, part) -> list[tuple[bytes, str]]:
    out = []
    for blip in el.iter(_A + "blip"):
        rid = blip.get(_R + "embed")
        try:
            img = part.related_parts[rid]
            out.append((img.blob, getattr(img, "partname", rid)))
        except (KeyError, AttributeError):
            continue
    return out


def _docx_cell_text(tc, rels, links, depth: int = 0) -> str:
    parts = []
    for el in tc:
        if el.tag == _W + "p":
            parts.append(_para_text(el, rels, links, display_inline=True))
        elif el.tag == _W + "tbl" and depth < 20:  # a nested table: its text, row by row
            for tr in el.iter(_W + "tr"):
                parts.append(" ".join(_docx_cell_text(c, rels, links, depth + 1) for c in tr.findall(_W + "tc")))
    return " ".join(p for p in parts if p)


def _docx_table(tbl, rels, links) -> list[list[str]]:
    """Rows of a w:tbl with gridSpan repeated across columns and vMerge continued downwards."""
    rows: list[list[str]] = []
    for tr in tbl.findall(_W + "tr"):
        row: list[str] = []
        for tc in tr.findall(_W + "tc"):
            span = tc.find(f"{_W}tcPr/{_W}gridSpan")
            n = max(1, min(int(span.get(_W + "val", "1")) if span is not None and span.get(_W + "val", "1").isdigit() else 1, 100))
            vm = tc.find(f"{_W}tcPr/{_W}vMerge")
            col = len(row)
            if vm is not None and vm.get(_W + "val", "continue") == "continue" and rows:
                above = rows[-1]
                text = above[col] if col < len(above) else ""
            else:
                text = _docx_cell_text(tc, rels, links)
            row += [text] * n
        rows.append(row)
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


def read_docx(path: Path, root: Path) -> Document:
    import docx

    doc, raw = _new_doc(path, root)
    try:
        d = docx.Document(str(path))
    except Exception as e:  # python-docx raises KeyError, BadZipFile, ValueError, lxml errors
        doc.issue(f"unreadable .docx ({type(e).__name__}: {e})")
        return doc
    doc.meta = _meta(d.core_properties)
    rels = {r.rId: r.target_ref for r in d.part.rels.values() if r.is_external}
    section: list[str] = []
    for el in d.element.body.iterchildren():
        sec = " / ".join(section)
        if el.tag == _W + "p":
            style = _mattr_w(el, f"{_W}pPr/{_W}pStyle")
            sname = _style_name(d, style)
            for math in el.iter(_M + "oMathPara"):
                latex = _clean_latex(omml_latex(math))
                if latex:
                    doc.blocks.append(Block("formula", latex, section=sec))
            links: list[dict] = []
            text = _para_text(el, rels, links)
            level = _heading(sname)
            if text and level:
                section = section[: level - 1] + [text]
                doc.blocks.append(Block("text", text, section=" / ".join(section), heading_level=level, links=links))
            elif text:
                b = Block("text", text, section=sec, links=links)
                if sname.lower() == "caption":
                    b.text = text  # attach_captions pairs "Figure N:" / "Table N:" paragraphs
                doc.blocks.append(b)
            for data, name in _docx_images(el, d.part):
                doc.blocks.append(_image_block(doc, data, f"{name} in {doc.path}", section=sec))
        elif el.tag == _W + "tbl":
            links = []
            rows = normalize_rows(doc, _docx_table(el, rels, links), f"table {len(doc.of_type('table')) + 1}")
            if rows:
                doc.blocks.append(Block("table", "", section=sec, rows=rows, links=links))
            for data, name in _docx_images(el, d.part):
                doc.blocks.append(_image_block(doc, data, f"{name} in {doc.path}", section=sec))
    doc.title = doc.meta.get("title") or next((b.text for b in doc.blocks if b.heading_level), "")
    attach_captions(doc)
    return assign_labels(doc.renumber())


def _mattr_w(el, path: str) -> str:
    e = el.find(path)
    return e.get(_W + "val", "") if e is not None else ""


def _style_name(d, style_id: str) -> str:
    if not style_id:
        return ""
    try:
        return d.styles.get_by_id(style_id, 1).name or style_id  # 1 = WD_STYLE_TYPE.PARAGRAPH
    except Exception:
        return style_id


def _heading(style: str) -> int:
    m = re.match(r"^(?:heading|überschrift|titre|titolo|título)\s*(\d)$", style.strip(), re.I)
    if m:
        return max(1, min(6, int(m.group(1))))
    return 1 if style.strip().lower() == "title" else 0


# ---------------------------------------------------------------- xlsx

def _cell_str(c) -> str:
    v = c.value
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else format(v, ".10g")
    if isinstance(v, _dt.datetime):
        fmt = (c.number_format or "").lower()
        return v.isoformat(sep=" ") if re.search(r"h|s", fmt.replace("general", "")) or v.time() != _dt.time() \
            else v.date().isoformat()
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return " ".join(str(v).split())


def _regions(grid: list[list[str]]) -> list[tuple[int, int, int, int]]:
    """(r0, r1, c0, c1) inclusive boxes of non-empty cells separated by empty rows, then empty columns."""
    out = []
    nrow = len(grid)
    r = 0
    while r < nrow:
        if not any(grid[r]):
            r += 1
            continue
        r1 = r
        while r1 + 1 < nrow and any(grid[r1 + 1]):
            r1 += 1
        ncol = max(len(x) for x in grid[r: r1 + 1])
        c = 0
        while c < ncol:
            if not any(c < len(grid[i]) and grid[i][c] for i in range(r, r1 + 1)):
                c += 1
                continue
            c1 = c
            while c1 + 1 < ncol and any(c1 + 1 < len(grid[i]) and grid[i][c1 + 1] for i in range(r, r1 + 1)):
                c1 += 1
            rows = [i for i in range(r, r1 + 1) if any(grid[i][c: c1 + 1])]
            out.append((rows[0], rows[-1], c, c1))
            c = c1 + 1
        r = r1 + 1
    return sorted(out, key=lambda b: (b[0], b[2]))


def read_xlsx(path: Path, root: Path) -> Document:
    import openpyxl

    doc, raw = _new_doc(path, root)
    try:
        wb = openpyxl.load_workbook(str(path), data_only=True)
    except Exception as e:
        doc.issue(f"unreadable workbook ({type(e).__name__}: {e})")
        return doc
    doc.meta = _meta(wb.properties)
    budget = MAX_CELLS
    for ws in wb.worksheets:
        doc.blocks.append(Block("text", ws.title, section=ws.title, heading_level=1))
        nrow, ncol = ws.max_row or 0, ws.max_column or 0
        if nrow * ncol > budget:
            doc.issue(f"sheet {ws.title!r}: {nrow}x{ncol} cells over the limit; read the first rows only")
            nrow = max(1, budget // max(ncol, 1))
        budget -= nrow * ncol
        grid = [[_cell_str(c) for c in row] for row in ws.iter_rows(min_row=1, max_row=nrow, max_col=ncol)]
        for rng in ws.merged_cells.ranges:  # a merged range shows its value in every cell it covers
            v = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(grid) else ""
            for i in range(rng.min_row - 1, min(rng.max_row, len(grid))):
                for j in range(rng.min_col - 1, min(rng.max_col, ncol)):
                    grid[i][j] = v
        titles: list[list] = []  # [row, first col, last col, text, used]
        for r0, r1, c0, c1 in _regions(grid):
            rows = [grid[i][c0: c1 + 1] for i in range(r0, r1 + 1)]
            rows = [r for r in rows if any(r)]
            cells = sum(1 for r in rows for x in r if x)
            if len(rows) == 1 and len({x for x in rows[0] if x}) == 1 or cells == 1:
                titles.append([r1, c0, c1, " ".join(dict.fromkeys(x for r in rows for x in r if x)), False])
                continue
            # a title line just above the region (at most 2 rows up, overlapping columns) is its caption
            above = [t for t in titles if not t[4] and r0 - 3 <= t[0] < r0 and t[1] <= c1 and c0 <= t[2]]
            caption = ""
            if above:
                above[-1][4] = True
                caption = above[-1][3]
            while len(rows) > 2 and len({x for x in rows[0] if x}) == 1:  # a title row inside the region
                caption = " — ".join(filter(None, [caption, next(x for x in rows[0] if x)]))
                rows = rows[1:]
            rows = normalize_rows(doc, rows, f"sheet {ws.title!r} table at row {r0 + 1}")
            if len(rows) == 1:  # a single line of values is text, not a table
                doc.blocks.append(Block("text", " ".join(x for x in rows[0] if x), section=ws.title, page=None))
                continue
            doc.blocks.append(Block("table", caption, caption=caption, section=ws.title, rows=rows))
        for t in titles:
            if not t[4]:
                doc.blocks.append(Block("text", t[3], section=ws.title))
        for img in getattr(ws, "_images", []):
            try:
                data = img._data()
            except Exception as e:
                doc.issue(f"sheet {ws.title!r}: an embedded image is unreadable ({type(e).__name__})")
                continue
            doc.blocks.append(_image_block(doc, data, f"an image in sheet {ws.title!r}", section=ws.title))
    doc.title = doc.meta.get("title") or Path(doc.path).stem
    return assign_labels(doc.renumber())


# ---------------------------------------------------------------- pptx

def _pptx_table(tbl) -> list[list[str]]:
    rows = []
    for r in tbl.rows:
        row = []
        for c in r.cells:
            row.append(" ".join(c.text.split()))
        rows.append(row)
    # spanned cells repeat the text of their merge origin
    for i, r in enumerate(tbl.rows):
        for j, c in enumerate(r.cells):
            if c.is_merge_origin:
                for di in range(c.span_height):
                    for dj in range(c.span_width):
                        if i + di < len(rows) and j + dj < len(rows[i + di]):
                            rows[i + di][j + dj] = rows[i][j]
    return rows


_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"


def _pts(el) -> list[str]:
    """Cached values of a c:strRef / c:numRef / c:strLit / c:numLit, in point order."""
    if el is None:
        return []
    pts = sorted(el.iter(_C + "pt"), key=lambda p: int(p.get("idx", "0")) if p.get("idx", "0").isdigit() else 0)
    return [(p.findtext(_C + "v") or "").strip() for p in pts]


def _num(v: str) -> str:
    try:
        x = float(v)
    except ValueError:
        return v
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else format(x, ".10g")


def chart_table(chart_space) -> tuple[list[list[str]], str]:
    """A chart's data as rows (categories down, one column per series) and its title, read from the
    chart XML's cached values (every chart type: bar, bar3D, line, pie, scatter, ...)."""
    title_el = chart_space.find(f".//{_C}chart/{_C}title")
    title = " ".join(" ".join(t.text or "" for t in title_el.iter(_A + "t")).split()) if title_el is not None else ""
    series = list(chart_space.iter(_C + "ser"))
    if not series:
        return [], title
    header, cols, cats = [""], [], []
    for k, ser in enumerate(series):
        name = _pts(ser.find(_C + "tx")) or [(ser.findtext(f"{_C}tx/{_C}v") or "").strip()]
        header.append(name[0] if name and name[0] else f"Series {k + 1}")
        cats = cats or _pts(ser.find(_C + "cat")) or _pts(ser.find(_C + "xVal"))
        cols.append([_num(v) for v in (_pts(ser.find(_C + "val")) or _pts(ser.find(_C + "yVal")))])
    n = max((len(c) for c in cols), default=0)
    cats = (cats + [str(i + 1) for i in range(len(cats), n)])[:n]
    rows = [header] + [[cats[i]] + [c[i] if i < len(c) else "" for c in cols] for i in range(n)]
    return rows, title


def _pptx_shapes(doc: Document, shapes, page: int, section: str, depth: int = 0) -> None:
    from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

    for sh in sorted(shapes, key=lambda s: ((s.top or 0), (s.left or 0))):
        try:
            if sh.shape_type == MSO_SHAPE_TYPE.GROUP and depth < 10:
                _pptx_shapes(doc, sh.shapes, page, section, depth + 1)
                continue
            if getattr(sh, "is_placeholder", False) and sh.placeholder_format.type in (
                    PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE):
                continue  # the slide title is the heading
            if getattr(sh, "has_chart", False):
                rows, title = chart_table(sh.chart_part._element)
                if len(rows) >= 2:
                    doc.blocks.append(Block("table", title, caption=title, page=page, section=section, rows=rows))
                continue
            if getattr(sh, "has_table", False) and sh.has_table:
                rows = normalize_rows(doc, _pptx_table(sh.table), f"slide {page + 1} table")
                if rows:
                    doc.blocks.append(Block("table", "", page=page, section=section, rows=rows))
                continue
            if sh.shape_type == MSO_SHAPE_TYPE.PICTURE:
                data = sh.image.blob
                doc.blocks.append(_image_block(doc, data, f"picture {sh.name!r} on slide {page + 1}",
                                               caption=(sh.name if not re.match(r"^(Picture|Image|Grafik)\s*\d+$", sh.name or "") else ""),
                                               page=page, section=section))
                continue
            if getattr(sh, "has_text_frame", False) and sh.has_text_frame:
                for para in sh.text_frame.paragraphs:
                    links = [{"text": r.text, "url": r.hyperlink.address} for r in para.runs
                             if r.hyperlink is not None and r.hyperlink.address]
                    text = " ".join("".join(r.text for r in para.runs).split())
                    if text:
                        doc.blocks.append(Block("text", text, page=page, section=section, links=links))
        except Exception as e:  # one broken shape loses only itself
            doc.issue(f"slide {page + 1}: shape {getattr(sh, 'name', '?')!r} unreadable ({type(e).__name__}: {e})")


def read_pptx(path: Path, root: Path) -> Document:
    import pptx

    doc, raw = _new_doc(path, root)
    try:
        prs = pptx.Presentation(str(path))
    except Exception as e:
        doc.issue(f"unreadable presentation ({type(e).__name__}: {e})")
        return doc
    doc.meta = _meta(prs.core_properties)
    for k, slide in enumerate(prs.slides):
        title = ""
        try:
            if slide.shapes.title is not None and slide.shapes.title.has_text_frame:
                title = " ".join(slide.shapes.title.text_frame.text.split())
        except Exception:
            title = ""
        section = title or f"Slide {k + 1}"
        doc.blocks.append(Block("text", section, page=k, section=section, heading_level=1))
        _pptx_shapes(doc, slide.shapes, k, section)
    doc.title = doc.meta.get("title") or next((b.text for b in doc.blocks if b.heading_level), "")
    attach_captions(doc)
    return assign_labels(doc.renumber())
