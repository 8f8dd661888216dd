"""Plain-text reader and helpers shared by the other readers (display formulas, caption attachment)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .model import Block, Document, assign_labels, decode_text

# $$ ... $$ and \[ ... \] (display math), possibly spanning lines
FORMULA_RE = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.S)
TAG_RE = re.compile(r"\\tag\{\s*(\d+)\s*\}|\(\s*(\d+)\s*\)\s*$")
_CAPTION_LINE = {
    "table": re.compile(r"^\s*\**\s*(?:Table|Tab\.)\s*(\d+)\s*\**\s*[:.\u2014-]", re.I),
    "image": re.compile(r"^\s*\**\s*(?:Figure|Fig\.)\s*(\d+)\s*\**\s*[:.\u2014-]", re.I),
}


def formula_label(latex: str) -> tuple[str, str]:
    """(latex without its number, "Eq. (N)" or "") from `\\tag{N}` or a trailing "(N)"."""
    m = TAG_RE.search(latex)
    if not m:
        return latex.strip(), ""
    n = m.group(1) or m.group(2)
    return (latex[: m.start()] + latex[m.end():]).strip(), f"Eq. ({n})"


def split_formulas(text: str, offset: int = 0) -> list[tuple[str, str, tuple[int, int]]]:
    """Split a paragraph into ("text", str, span) and ("formula", latex, span) pieces."""
    out, pos = [], 0
    for m in FORMULA_RE.finditer(text):
        before = text[pos: m.start()]
        if before.strip():
            out.append(("text", before.strip(), (offset + pos, offset + m.start())))
        out.append(("formula", (m.group(1) or m.group(2)).strip(), (offset + m.start(), offset + m.end())))
        pos = m.end()
    rest = text[pos:]
    if rest.strip():
        out.append(("text", rest.strip(), (offset + pos, offset + len(text))))
    return out


def finish_formula(block: Block) -> Block:
    latex, label = formula_label(block.text)
    block.text = latex
    block.label = label
    return block


def attach_captions(doc: Document) -> Document:
    """A "Table N: ..." / "Figure N: ..." paragraph next to a table / image without a caption becomes
    its caption (and stops being a text block)."""
    blocks = doc.blocks
    drop: set[int] = set()
    for i, b in enumerate(blocks):
        if b.type not in _CAPTION_LINE or b.caption:
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(blocks) and j not in drop and blocks[j].type == "text" and not blocks[j].heading_level \
                    and _CAPTION_LINE[b.type].match(blocks[j].text):
                b.caption = blocks[j].text
                if b.type == "table":
                    b.text = b.caption
                drop.add(j)
                break
    doc.blocks = [b for k, b in enumerate(blocks) if k not in drop]
    for b in doc.blocks:
        if b.type == "formula" and not b.label:
            finish_formula(b)
    return doc.renumber()


def read_text(path: Path, root: Path) -> Document:
    raw = path.read_bytes()
    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    text = decode_text(raw, doc)
    for m in re.finditer(r"(?:[^\n]|\n(?!\s*\n))+", text):
        for kind, piece, span in split_formulas(m.group(0), m.start()):
            doc.blocks.append(Block(kind, piece, span=span))
    if doc.blocks and doc.blocks[0].type == "text" and len(doc.blocks[0].text) < 120:
        doc.title = doc.blocks[0].text
    attach_captions(doc)
    return assign_labels(doc.renumber())
