"""HTML reader (stdlib html.parser): headings, paragraphs, tables (with <caption>), images (<img alt>,
<figure>/<figcaption>) and display formulas written as $$…$$ or \\[…\\] inside the text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from .model import Block, Document, assign_labels, decode_text, load_image_info, normalize_rows
from .text import split_formulas

_BLOCK_TAGS = {"p", "div", "li", "blockquote", "pre", "section", "article", "body", "td", "th"}


class _TableParser(HTMLParser):
    """Collects rows of cells (and the caption) of every <table> in a fragment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"rows": [], "caption": ""})
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            span = int(dict(attrs).get("colspan") or 1)
            self._colspan = max(1, min(span, 50))
        elif tag == "caption":
            self._caption = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            self._row += [text] + [""] * (self._colspan - 1)
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1]["rows"].append(self._row)
            self._row = None
        elif tag == "caption" and self._caption is not None and self.tables:
            self.tables[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def parse_html_tables(fragment: str) -> list[dict]:
    """[{"rows": [[cell, ...], ...], "caption": str}] for each <table> in `fragment`."""
    p = _TableParser()
    p.feed(fragment)
    p.close()
    return p.tables


class _DocParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items: list[dict] = []  # {"kind": text|heading|table|image, ...}
        self.buf: list[str] = []
        self.buf_start = 0
        self.depth_table = 0
        self.table_src: list[str] = []
        self.heading: int = 0
        self.figcaption: list[str] | None = None
        self.title: list[str] | None = None
        self.title_text = ""

    def _pos(self) -> int:
        return self._offset

    def flush(self, end: int):
        text = " ".join("".join(self.buf).split())
        if text:
            kind = "heading" if self.heading else "text"
            self.items.append({"kind": kind, "text": text, "level": self.heading, "span": (self.buf_start, end)})
        self.buf = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.depth_table:
            self.table_src.append(self.get_starttag_text() or "")
            if tag == "table":
                self.depth_table += 1
            return
        if tag == "table":
            self.flush(self._offset)
            self.depth_table = 1
            self.table_src = [self.get_starttag_text() or "<table>"]
            self.table_start = self._offset
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.flush(self._offset)
            self.heading = int(tag[1])
            self.buf_start = self._offset
        elif tag == "img":
            self.flush(self._offset)
            self.items.append({"kind": "image", "src": a.get("src") or "", "alt": a.get("alt") or "",
                               "span": (self._offset, self._offset + len(self.get_starttag_text() or ""))})
        elif tag == "figcaption":
            self.figcaption = []
        elif tag == "title":
            self.title = []
        elif tag in _BLOCK_TAGS or tag == "br":
            self.flush(self._offset)
            self.buf_start = self._offset

    def handle_endtag(self, tag):
        if self.depth_table:
            self.table_src.append(f"</{tag}>")
            if tag == "table":
                self.depth_table -= 1
                if not self.depth_table:
                    self.items.append({"kind": "table", "src": "".join(self.table_src),
                                       "span": (self.table_start, self._offset)})
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.flush(self._offset)
            self.heading = 0
            self.buf_start = self._offset
        elif tag == "figcaption" and self.figcaption is not None:
            cap = " ".join("".join(self.figcaption).split())
            for it in reversed(self.items):
                if it["kind"] == "image":
                    it["figcaption"] = cap
                    break
            self.figcaption = None
        elif tag == "title" and self.title is not None:
            self.title_text = " ".join("".join(self.title).split())
            self.title = None
        elif tag in _BLOCK_TAGS:
            self.flush(self._offset)
            self.buf_start = self._offset

    def handle_data(self, data):
        if self.depth_table:
            self.table_src.append(data)
        elif self.figcaption is not None:
            self.figcaption.append(data)
        elif self.title is not None:
            self.title.append(data)
        else:
            if not self.buf:
                self.buf_start = self._offset
            self.buf.append(data)

    # html.parser gives line/col; we track absolute offsets via goahead's rawdata index
    @property
    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col


def read_html(path: Path, root: Path) -> Document:
    raw = path.read_bytes()
    import hashlib

    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    text = decode_text(raw, doc)
    p = _DocParser()
    starts, pos = [0], 0
    for line in text.split("\n"):
        pos += len(line) + 1
        starts.append(pos)
    p._line_starts = starts
    p.feed(text)
    p.close()
    p.flush(len(text))
    doc.title = p.title_text
    section: list[str] = []
    for it in p.items:
        if it["kind"] == "heading":
            level = it["level"]
            section = section[: level - 1] + [it["text"]]
            doc.blocks.append(Block("text", it["text"], span=it["span"], section=" / ".join(section),
                                    heading_level=level))
            if not doc.title:
                doc.title = it["text"]
        elif it["kind"] == "text":
            for kind, piece, span in split_formulas(it["text"], it["span"][0]):
                doc.blocks.append(Block(kind, piece, span=span, section=" / ".join(section)))
        elif it["kind"] == "table":
            for t in parse_html_tables(it["src"]):
                rows = normalize_rows(doc, t["rows"], f"table at offset {it['span'][0]}")
                doc.blocks.append(Block("table", t["caption"], span=it["span"], section=" / ".join(section),
                                        caption=t["caption"], rows=rows))
        elif it["kind"] == "image":
            cap = it.get("figcaption") or it["alt"]
            b = Block("image", cap, span=it["span"], section=" / ".join(section), caption=cap)
            load_image_info(doc, b, root, path.parent, it["src"])
            doc.blocks.append(b)
    from .text import attach_captions

    attach_captions(doc)
    return assign_labels(doc.renumber())
