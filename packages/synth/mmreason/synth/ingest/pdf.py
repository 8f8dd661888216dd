"""PDF reader: text and ruled tables per page with pdfplumber, embedded images with pypdf.

Embedded images travel as bytes on the block (`image_bytes`, status "embedded"); the kg build writes
them under OUT/kg/assets/ and records that path. Spans are character offsets in the page's text.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from .model import Block, Document, assign_labels, normalize_rows
from .text import attach_captions, split_formulas


def read_pdf(path: Path, root: Path) -> Document:
    import pdfplumber
    import pypdf

    raw = path.read_bytes()
    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    try:
        pdf = pdfplumber.open(io.BytesIO(raw))
    except Exception as e:  # pdfminer raises many types on broken files
        doc.issue(f"unreadable PDF ({type(e).__name__}: {e})")
        return doc
    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
    except Exception as e:
        reader = None
        doc.issue(f"pypdf cannot read the PDF's images ({type(e).__name__}: {e})")
    with pdf:
        for pno, page in enumerate(pdf.pages):
            try:
                found = page.find_tables()
            except Exception as e:
                doc.issue(f"page {pno + 1}: table detection failed ({type(e).__name__}: {e})")
                found = []
            boxes = [t.bbox for t in found]

            def outside(obj, boxes=boxes):  # text inside a table is the table's, not a paragraph
                x, y = (obj.get("x0", 0) + obj.get("x1", 0)) / 2, (obj.get("top", 0) + obj.get("bottom", 0)) / 2
                return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

            try:
                text = (page.filter(outside) if boxes else page).extract_text() or ""
            except Exception as e:
                doc.issue(f"page {pno + 1}: text extraction failed ({type(e).__name__}: {e})")
                text = ""
            for start, para in _paragraphs(text):
                for kind, piece, span in split_formulas(para, start):
                    doc.blocks.append(Block(kind, " ".join(piece.split()) if kind == "text" else piece,
                                            span=span, page=pno))
            tables = []
            for t in found:
                try:
                    tables.append(t.extract())
                except Exception as e:
                    doc.issue(f"page {pno + 1}: table extraction failed ({type(e).__name__}: {e})")
            for t in tables:
                rows = normalize_rows(doc, [[c or "" for c in r] for r in t], f"page {pno + 1} table")
                if len(rows) >= 2:
                    doc.blocks.append(Block("table", "", page=pno, rows=rows))
            if reader is None:
                continue
            try:
                images = list(reader.pages[pno].images)
            except Exception as e:
                doc.issue(f"page {pno + 1}: image extraction failed ({type(e).__name__}: {e})")
                images = []
            for im in images:
                data = im.data
                b = Block("image", "", page=pno, image_bytes=data, image_status="embedded",
                          image_sha=hashlib.sha1(data).hexdigest())
                try:
                    b.image_size = im.image.size
                except Exception as e:
                    b.image_status = "corrupt"
                    doc.issue(f"page {pno + 1}: embedded image {im.name!r} is unreadable ({type(e).__name__})")
                doc.blocks.append(b)
    if doc.blocks and doc.blocks[0].type == "text":
        doc.title = doc.blocks[0].text[:120]
    _caption_lines(doc)
    attach_captions(doc)
    return assign_labels(doc.renumber())


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """Page text → (offset, paragraph): a blank line, a caption line ("Figure 2: ...") or a line after
    one ending a sentence starts a new paragraph."""
    from .text import _CAPTION_LINE

    out: list[list] = []
    pos = 0
    for line in text.split("\n"):
        is_cap = any(p.match(line) for p in _CAPTION_LINE.values())
        prev = out[-1][1] if out else ""
        if not line.strip():
            out.append([pos, ""])
        elif not out or is_cap or not prev.strip() or prev.rstrip().endswith((".", ":", "!", "?")) \
                or any(p.match(prev) for p in _CAPTION_LINE.values()):
            out.append([pos, line])
        else:
            out[-1][1] += "\n" + line
        pos += len(line) + 1
    return [(o, t) for o, t in out if t.strip()]


def _caption_lines(doc: Document) -> None:
    """Embedded images and detected tables come without captions: take a "Figure N: ..." / "Table N: ..."
    paragraph on the same page (in order) as the caption."""
    from .text import _CAPTION_LINE

    for b in doc.blocks:
        if b.type not in ("image", "table") or b.caption:
            continue
        for t in doc.blocks:
            if t.type == "text" and t.page == b.page and _CAPTION_LINE[b.type].match(t.text):
                b.caption = b.text = t.text
                t.type = "_caption"
                break
    doc.blocks = [b for b in doc.blocks if b.type != "_caption"]
