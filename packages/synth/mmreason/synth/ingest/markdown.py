"""Markdown reader: headings, paragraphs, pipe tables, HTML tables, `![caption](path)` images and
display formulas (`$$…$$`, `\\[…\\]`), each block with its character span in the file."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .html import parse_html_tables
from .model import Block, Document, assign_labels, decode_text, load_image_info, normalize_rows
from .text import attach_captions, finish_formula, split_formulas

_IMAGE = re.compile(r"^\s*!\[(?P<alt>[^\]]*)\]\((?P<src><[^>]*>|[^)\s]+)(?:\s+\"(?P<title>[^\"]*)\")?\)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_PIPE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _pipe_cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", s)]


def _lines_with_offsets(text: str) -> list[tuple[str, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((line, pos))
        pos += len(line) + 1
    return out


def parse_markdown(text: str, doc: Document, root: Path, base: Path) -> Document:
    lines = _lines_with_offsets(text)
    section: list[str] = []
    i, n = 0, len(lines)
    para: list[tuple[str, int]] = []

    def sec() -> str:
        return " / ".join(section)

    def flush_para():
        if not para:
            return
        start = para[0][1]
        end = para[-1][1] + len(para[-1][0])
        body = text[start:end]
        for kind, piece, span in split_formulas(body, start):
            b = Block(kind, piece if kind == "formula" else " ".join(piece.split()), span=span, section=sec())
            doc.blocks.append(finish_formula(b) if kind == "formula" else b)
        para.clear()

    while i < n:
        line, off = lines[i]
        s = line.strip()
        if not s:
            flush_para()
            i += 1
            continue
        if s.startswith("```"):  # fenced code: kept as text, never parsed for structure
            flush_para()
            j = i + 1
            while j < n and not lines[j][0].strip().startswith("```"):
                j += 1
            end = lines[min(j, n - 1)][1] + len(lines[min(j, n - 1)][0])
            doc.blocks.append(Block("text", text[off:end], span=(off, end), section=sec()))
            i = j + 1
            continue
        m = _HEADING.match(line)
        if m and not para:
            level, title = len(m.group(1)), m.group(2)
            section = section[: level - 1] + [title]
            doc.blocks.append(Block("text", title, span=(off, off + len(line)), section=sec(), heading_level=level))
            if level == 1 and not doc.title:
                doc.title = title
            i += 1
            continue
        if (s.startswith("$$") or s.startswith("\\[")) and not para:
            closer = "$$" if s.startswith("$$") else "\\]"
            j, found = i, False
            rest = s[2:]
            if closer in rest:
                found = True
            else:
                j = i + 1
                while j < n:
                    if closer in lines[j][0]:
                        found = True
                        break
                    j += 1
            if found:
                end_line, end_off = lines[j]
                end = end_off + end_line.index(closer, 2 if j == i else 0) + len(closer)
                tail = text[end: end_off + len(end_line)]
                body = text[off + line.index(s[:2]) + 2: end - len(closer)]
                b = finish_formula(Block("formula", body, span=(off, end), section=sec()))
                if not b.label and re.fullmatch(r"\s*\(\s*\d+\s*\)\s*", tail):
                    b.label = f"Eq. ({tail.strip()[1:-1].strip()})"
                doc.blocks.append(b)
                i = j + 1
                continue
        if s.lower().startswith("<table"):
            flush_para()
            j = i
            while j < n and "</table>" not in lines[j][0].lower():
                j += 1
            j = min(j, n - 1)
            end = lines[j][1] + len(lines[j][0])
            for t in parse_html_tables(text[off:end]):
                rows = normalize_rows(doc, t["rows"], f"table at line {i + 1}")
                doc.blocks.append(Block("table", t["caption"], span=(off, end), section=sec(),
                                        caption=t["caption"], rows=rows))
            i = j + 1
            continue
        if s.startswith("|") and i + 1 < n and _PIPE_SEP.match(lines[i + 1][0]):
            flush_para()
            rows = [_pipe_cells(line)]
            j = i + 2
            while j < n and lines[j][0].strip().startswith("|"):
                rows.append(_pipe_cells(lines[j][0]))
                j += 1
            end = lines[j - 1][1] + len(lines[j - 1][0])
            rows = normalize_rows(doc, rows, f"table at line {i + 1}")
            doc.blocks.append(Block("table", "", span=(off, end), section=sec(), rows=rows))
            i = j
            continue
        m = _IMAGE.match(line)
        if m:
            flush_para()
            src = m.group("src").strip("<>")
            cap = m.group("alt") or m.group("title") or ""
            b = Block("image", cap, span=(off, off + len(line)), section=sec(), caption=cap)
            load_image_info(doc, b, root, base, src)
            doc.blocks.append(b)
            i += 1
            continue
        para.append((line, off))
        i += 1
    flush_para()
    attach_captions(doc)
    return assign_labels(doc.renumber())


def read_markdown(path: Path, root: Path) -> Document:
    raw = path.read_bytes()
    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    return parse_markdown(decode_text(raw, doc), doc, root, path.parent)
