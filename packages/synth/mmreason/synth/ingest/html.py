"""HTML reader on lxml (libxml2's forgiving HTML parser: unclosed or malformed markup still yields blocks).

Main content only, by rules rather than a scoring library (trafilatura / readability drop tables,
figures and their positions, which the graph needs): the content root is `<main>` / `[role=main]` /
the single `<article>` / `#content` / `#mw-content-text` when it holds most of the text, else `<body>`;
dropped everywhere: script, style, noscript, template, svg, forms, iframes, `hidden` / `display:none` /
`aria-hidden` elements, `<nav>`, `<aside>`, navigation / banner / search roles, and elements whose
class or id names navigation, menus, sidebars, cookie / consent banners, edit links, table-of-contents,
citation markers and back-links, "print footer" and category boxes; `<header>` / `<footer>` outside the
root (inside it, only those without a heading).

Blocks: headings (h1-h6), paragraphs and list items, tables (`<caption>`, `<thead>` / `<th>` header rows,
rowspan and colspan expanded; a key/value table such as an infobox gets the header
["Attribute", "Value"] and its title rows become the caption), images (`<img>`; `<figure>` /
`<figcaption>` captions; URLs recorded as remote and never fetched; `data:` images decoded), display
formulas written as $$…$$ / \\[…\\] or MathML `alttext`. `<sup>` / `<sub>` become `^` / `_`
(`2<sup>8</sup>-1` -> "2^8-1", `H<sub>2</sub>O` -> "H_2O"); ordinal or footnote superscripts
("1<sup>st</sup>", "<sup>*</sup>") stay plain. `<ol>` items start with the number a browser shows; a
`<figcaption>` captions an image of its own `<figure>` (a video's caption is text). Links are reduced
to their text; each block keeps them in `Block.links` ([{"text", "url"}]).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .model import Block, Document, assign_labels, decode_text, load_image_info, normalize_rows
from .text import attach_captions, split_formulas

MAX_DEPTH = 10_000  # walks are iterative; libxml2 itself stops at 2048 (see _parse)
MAX_TABLE_CELLS = 200_000
_DROP_TAGS = {"script", "style", "noscript", "template", "svg", "form", "button", "input", "select", "textarea",
              "iframe", "object", "embed", "canvas", "nav", "aside", "head", "link", "meta", "dialog", "map"}
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "dialog",
               "alertdialog", "toolbar", "tablist"}
_NOISE = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navbox|navigation|menu|sidebar|breadcrumbs?|cookies?|consent|gdpr|banner|"
    r"toc|tocnumber|mw-editsection|editsection|edit-link|edit|catlinks|printfooter|mw-jump-link|noprint|"
    r"sistersitebox|mw-cite-backlink|cite-backlink|share|social|advert|ads|popup|modal|"
    r"skip-link|mw-indicators|vector-header|vector-menu|site-header|"
    r"site-footer|mw-footer|authority-control|shortdescription|metadata)(?:$|[\s_-])", re.I)
_CAPTION_CLASS = re.compile(r"(?:^|\s)(gallerytext|thumbcaption|caption|wp-caption-text)(?:\s|$)", re.I)
_BLOCK = {"p", "div", "li", "dd", "dt", "blockquote", "pre", "section", "article", "main", "body", "ul", "ol",
          "dl", "figure", "header", "footer", "center", "address", "details", "summary", "hr", "tr", "html"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


def _parse(text: str, doc: Document | None = None):
    """lxml tree of an HTML text. libxml2 refuses documents nested deeper than 2048 elements (huge_tree;
    256 without): such a document is read as plain text, paragraphs at tag boundaries, and reported."""
    import html as _html

    import lxml.html

    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        tree = lxml.html.document_fromstring(text or "<html></html>", parser=parser)
    except Exception:  # lxml refuses e.g. a document of only whitespace or a stray encoding declaration
        tree = lxml.html.document_fromstring("<html><body>" + re.sub(r"<\?xml[^>]*>", "", text) + "</body></html>",
                                             parser=lxml.html.HTMLParser(huge_tree=True))
    if any("Excessive depth" in str(e) for e in parser.error_log):
        if doc is not None:
            doc.issue("HTML nested deeper than the parser's limit (2048 elements); read as plain text")
        plain = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text)
        paras = [" ".join(_html.unescape(p).split()) for p in re.split(r"<[^>]*>", plain)]
        body = "".join(f"<p>{_html.escape(p)}</p>" for p in paras if p)
        tree = lxml.html.document_fromstring(f"<html><body>{body or '<p></p>'}</body></html>")
    return tree


def _cls(el) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def _hidden(el) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.get("hidden") is not None or el.get("aria-hidden") == "true" or "display:none" in style \
        or "visibility:hidden" in style


def _is_noise(el, inside_root: bool) -> bool:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in _DROP_TAGS or _hidden(el) or (el.get("role") or "").lower() in _DROP_ROLES:
        return True
    if tag == "sup" and re.search(r"(?:^|\s)(reference|noprint)(?:\s|$)", el.get("class") or ""):
        return True  # a citation marker "[12]"
    if tag in ("header", "footer"):
        return not inside_root or not any(h in _HEADINGS for h in (d.tag for d in el.iter() if isinstance(d.tag, str)))
    if tag in ("table", "figure", "img", "h1", "h2", "h3", "h4", "h5", "h6", "math"):
        return bool(_NOISE.search(_cls(el))) and "infobox" not in _cls(el)
    return bool(_NOISE.search(_cls(el))) and "hatnote" not in _cls(el)  # "Main article: ..." is content


def _content_root(body):
    total = len(" ".join(body.itertext()).split()) or 1
    cands = body.xpath("//main | //*[@role='main'] | //*[@id='content'] | //*[@id='mw-content-text']")
    arts = body.xpath("//article")
    if len(arts) == 1:
        cands.append(arts[0])
    for c in cands:
        if len(" ".join(c.itertext()).split()) >= 0.3 * total:
            return c
    return body


class _Walker:
    """Document-order walk producing items: heading / text / table / image."""

    def __init__(self, root, body):
        self.items: list[dict] = []
        self.buf: list[str] = []
        self.links: list[dict] = []
        self.line = 0  # source line of the element whose text fills the buffer
        self.root = root
        self.body = body

    def flush(self):
        text = " ".join("".join(self.buf).split())
        if text:
            self.items.append({"kind": "text", "text": text, "links": self.links, "line": self.line, "tag": ""})
        self.buf, self.links = [], []

    def walk(self, el, depth: int = 0, inside: bool = False):
        stack = [(el, 0, inside, False)]
        while stack:
            node, d, ins, closing = stack.pop()
            if closing:
                if node.tag in _BLOCK:
                    self.flush()
                if node.tail:
                    self.buf.append(node.tail)
                continue
            tag = node.tag if isinstance(node.tag, str) else ""
            ins = ins or node is self.root
            if not tag:  # comments, processing instructions
                if node.tail:
                    self.buf.append(node.tail)
                continue
            if node is not self.root and _is_noise(node, ins):
                if node.tail:
                    self.buf.append(node.tail)
                continue
            if tag in _HEADINGS:
                self.flush()
                text = _inline_text(node, [])
                if text:
                    self.items.append({"kind": "heading", "text": text, "level": _HEADINGS[tag],
                                       "line": node.sourceline or 0, "tag": tag})
                if node.tail:
                    self.buf.append(node.tail)
                continue
            if tag == "table":
                self.flush()
                self.items.append({"kind": "table", "el": node, "line": node.sourceline or 0, "tag": "table"})
                for img in node.iter("img"):  # images of the table, not those of its edit links or icons
                    if not any(_is_noise(a, True) for a in _up_to(img, node)):
                        self.items.append(_image_item(img))
                if node.tail:
                    self.buf.append(node.tail)
                continue
            if tag == "img":
                self.flush()
                self.items.append(_image_item(node))
                if node.tail:
                    self.buf.append(node.tail)
                continue
            numbered = tag == "li" and node.getparent() is not None and node.getparent().tag == "ol"
            if numbered:
                self.flush()
                self.line = node.sourceline or self.line
                siblings = [c for c in node.getparent() if isinstance(c.tag, str) and c.tag == "li"]
                start = _span(node.getparent().get("start"), 10**6)
                self.buf.append(f"{start + siblings.index(node)}. ")  # the number a browser shows, before the item
            if tag == "figcaption" or (tag in ("div", "span", "p") and _CAPTION_CLASS.search(node.get("class") or "")
                                       and any(it["kind"] == "image" for it in self.items[-1:])):
                cap = _inline_text(node, [])
                fig = next((a for a in node.iterancestors() if a.tag == "figure"), None) if tag == "figcaption" else None
                for it in reversed(self.items):
                    if it["kind"] == "image":
                        # a <figcaption> captions an image of its own <figure> (a video's caption is text)
                        if fig is None or any(it.get("el") is img for img in fig.iter("img")):
                            it["figcaption"] = cap
                            break
                        self.buf.append(" " + cap + " ")
                        break
                else:
                    self.buf.append(" " + cap + " ")
                if node.tail:
                    self.buf.append(node.tail)
                continue
            if tag in ("sup", "sub", "math") or (tag == "a" and node.find(".//img") is None) or d >= MAX_DEPTH:
                self.buf.append(_inline_text(node, self.links))
                if node.tail:
                    self.buf.append(node.tail)
                continue
            if tag in _BLOCK and not numbered:
                self.flush()
                self.line = node.sourceline or self.line
            elif tag == "br":
                self.buf.append(" ")
            if node.text:
                self.buf.append(node.text)
            stack.append((node, d, ins, True))
            for child in reversed(list(node)):
                stack.append((child, d + 1, ins, False))
        self.flush()


def _up_to(el, top) -> list:
    """`el` and its ancestors below `top`."""
    out = [el]
    for a in el.iterancestors():
        if a is top:
            break
        out.append(a)
    return out


def _image_item(img) -> dict:
    return {"kind": "image", "src": (img.get("src") or img.get("data-src") or "").strip(),
            "alt": " ".join((img.get("alt") or "").split()), "line": img.sourceline or 0, "tag": "img", "el": img}


def _script(text: str, kind: str) -> str:
    """`<sup>` / `<sub>` content as math: "^8", "_2"; ordinals and footnote marks stay plain."""
    t = text.strip()
    if not t:
        return ""
    if kind == "sup":
        if re.fullmatch(r"[-+−]?\d+(\.\d+)?|[a-zA-Z]|\([^()]{1,12}\)|[-+−]?[a-z]\d?", t) \
                and not re.fullmatch(r"st|nd|rd|th|e|er|re|o|a", t):
            return "^" + (t if len(t) == 1 or t.startswith("(") or re.fullmatch(r"\d+", t) else f"({t})")
        return t
    if re.fullmatch(r"[\w.+\-−]{1,8}", t):
        return "_" + t
    return t


def _inline_text(el, links: list[dict], depth: int = 0) -> str:
    """Text of an element with links recorded, sup/sub as math and MathML as its alttext."""
    out: list[str] = []
    stack = [(el, 0, False)]
    while stack:
        node, d, closing = stack.pop()
        if closing:
            if node.tail and node is not el:
                out.append(node.tail)
            continue
        tag = node.tag if isinstance(node.tag, str) else ""
        if not tag or (node is not el and _is_noise(node, True)):
            if node.tail and node is not el:
                out.append(node.tail)
            continue
        if tag == "math":
            alt = (node.get("alttext") or " ".join(node.itertext())).strip()
            alt = re.sub(r"^\{\\displaystyle\s*(.*)\}$", r"\1", alt, flags=re.S)
            out.append(f" ${alt}$ " if alt else "")
            if node.tail and node is not el:
                out.append(node.tail)
            continue
        if tag in ("sup", "sub"):
            out.append(_script(" ".join(node.itertext()), tag))
            if node.tail and node is not el:
                out.append(node.tail)
            continue
        if tag == "br":
            out.append(" ")
        if tag == "a" and node.get("href"):
            text = " ".join(" ".join(node.itertext()).split())
            if text:
                links.append({"text": text, "url": node.get("href")})
        if node.text:
            out.append(node.text)
        stack.append((node, d, True))
        if d < MAX_DEPTH:
            for child in reversed(list(node)):
                stack.append((child, d + 1, False))
    return " ".join("".join(out).split())


def table_grid(table) -> tuple[list[list[str]], int, str, list[dict]]:
    """(rows with rowspan/colspan expanded, number of header rows, caption, links) of a <table> element;
    nested tables read as the text of their cell."""
    caption, links = "", []
    cap = table.find("caption")
    if cap is not None:
        caption = _inline_text(cap, links)
    rows_el = [tr for tr in table.iter("tr") if _owner_table(tr) is table]
    grid: list[list[str | None]] = []
    heads: list[bool] = []
    pending: dict[int, tuple[int, str]] = {}  # column -> (rows left, text)
    cells = 0
    for tr in rows_el:
        row: list[str | None] = []
        col = 0
        tds = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
        all_th = bool(tds) and all(c.tag == "th" for c in tds)
        for c in tds:
            col = _fill_pending(row, col, pending)
            text = _inline_text(c, links)
            cs = _span(c.get("colspan"), 200)
            rs = _span(c.get("rowspan"), 1000)
            for k in range(cs):
                row.append(text if k == 0 else None)  # None: covered by a colspan
                if rs > 1:
                    pending[col] = (rs - 1, text)
                col += 1
        _fill_pending(row, col, pending)
        cells += len(row)
        if cells > MAX_TABLE_CELLS:
            break
        grid.append(row)
        parent = tr.getparent()
        heads.append(all_th or (parent is not None and parent.tag == "thead"))
    width = max((len(r) for r in grid), default=0)
    grid = [r + [""] * (width - len(r)) for r in grid]
    nhead = 0
    while nhead < len(grid) - 1 and heads[nhead]:
        nhead += 1
    rows: list[list[str]] = []
    for i, r in enumerate(grid):
        if i < nhead:  # a header cell spanning columns heads each of them
            filled, last = [], ""
            for c in r:
                last = c if c is not None else last
                filled.append(last)
            rows.append(filled)
        else:
            rows.append([c or "" for c in r])
    return rows, nhead, caption, links


def _fill_pending(row: list, col: int, pending: dict) -> int:
    """Cells of earlier rows' rowspans that cover this row from column `col` on; the next free column."""
    while col in pending:
        left, text = pending[col]
        row.append(text)
        if left <= 1:
            del pending[col]
        else:
            pending[col] = (left - 1, text)
        col += 1
    return col


def _owner_table(el):
    p = el.getparent()
    while p is not None and p.tag != "table":
        p = p.getparent()
    return p


def _span(v, cap: int) -> int:
    try:
        return max(1, min(int(str(v).strip() or 1), cap))
    except ValueError:
        return 1


def shape_table(rows: list[list[str]], nhead: int, caption: str) -> tuple[list[list[str]], str]:
    """Header flattening and key/value tables: returns (rows with one header row, caption)."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return rows, caption
    width = len(rows[0])
    # leading title rows (one text spanning the table) become the caption
    titles = []
    while len(rows) > 2 and width > 1 and len({c for c in rows[0] if c.strip()}) == 1:
        titles.append(next(c for c in rows.pop(0) if c.strip()))
        nhead = max(0, nhead - 1)
    if titles and not caption:
        caption = " — ".join(titles)
    if nhead > 1:
        header = []
        for j in range(width):
            parts: list[str] = []
            for r in rows[:nhead]:
                if r[j] and (not parts or parts[-1] != r[j]):
                    parts.append(r[j])
            header.append(" / ".join(parts))
        rows = [header] + rows[nhead:]
    elif nhead == 0 and width == 2 and len(rows) >= 3 and sum(
            bool(re.search(r":\s*$", r[0])) and bool(r[1].strip()) for r in rows) >= 0.5 * len(rows):
        rows = [["Attribute", "Value"]] + [[re.sub(r":\s*$", "", r[0]), r[1]] for r in rows]
    return rows, caption


def parse_html_tables(fragment: str) -> list[dict]:
    """[{"rows": [[cell, ...], ...], "caption": str}] for each top-level <table> in `fragment`."""
    tree = _parse(fragment)
    out = []
    for t in tree.iter("table"):
        if _owner_table(t) is not None:
            continue
        rows, nhead, caption, _ = table_grid(t)
        rows, caption = shape_table(rows, nhead, caption)
        out.append({"rows": rows, "caption": caption})
    return out


def read_html(path: Path, root: Path) -> Document:
    raw = path.read_bytes()
    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    text = decode_text(raw, doc)
    tree = _parse(text, doc)
    title = tree.find(".//title")
    doc.title = " ".join((title.text_content() if title is not None else "").split())
    body = tree.find("body")
    if body is None:
        body = tree
    root_el = _content_root(body)
    w = _Walker(root_el, body)
    w.walk(root_el)
    section: list[str] = []
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(it: dict, length: int) -> tuple[int, int]:
        """Offsets in the decoded source: the element's tag on its source line (approximate for text)."""
        line = min(max(it.get("line") or 1, 1), len(starts)) - 1
        at = text.find(f"<{it['tag']}", starts[line]) if it.get("tag") else -1
        p = at if at >= 0 else starts[line]
        return p, p + length

    for it in w.items:
        sec = " / ".join(section)
        pos = where(it, 0)[0]
        if it["kind"] == "heading":
            level = it["level"]
            section = section[: level - 1] + [it["text"]]
            doc.blocks.append(Block("text", it["text"], span=(pos, pos + len(it["text"])),
                                    section=" / ".join(section), heading_level=level))
            if not doc.title:
                doc.title = it["text"]
        elif it["kind"] == "text":
            for kind, piece, span in split_formulas(it["text"], pos):
                links = [lk for lk in it["links"] if lk["text"] in piece]
                doc.blocks.append(Block(kind, piece, span=span, section=sec, links=links))
        elif it["kind"] == "table":
            rows, nhead, caption, links = table_grid(it["el"])
            rows, caption = shape_table(rows, nhead, caption)
            rows = normalize_rows(doc, rows, f"table {len(doc.of_type('table')) + 1}")
            if rows:
                doc.blocks.append(Block("table", caption, span=(pos, pos + 1), section=sec, caption=caption,
                                        rows=rows, links=links))
        elif it["kind"] == "image":
            cap = it.get("figcaption") or it["alt"]
            b = Block("image", cap, span=(pos, pos + 1), section=sec, caption=cap)
            if it["src"]:
                load_image_info(doc, b, root, path.parent, it["src"])
            else:
                b.image_status = "missing"
                doc.issue("an <img> without src")
            doc.blocks.append(b)
    attach_captions(doc)
    return assign_labels(doc.renumber())
