"""Markdown reader: headings, paragraphs, pipe tables, HTML tables, `![caption](path)` images and
display formulas (`$$…$$`, `\\[…\\]`), each block with its character span in the file.

YAML front matter (`---` … `---` at the top) becomes `Document.meta` (not a block; its `title` is the
document title when no `# heading` gives one). Links `[text](url)`, `[text][ref]` and `<url>` are
reduced to their text, the URL kept in `Block.links`; emphasis (`**x**`, `*x*`, `_x_`, `~~x~~`) and
code backticks are stripped from headings and table cells (inline `$math$` is left as it is)."""

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


_LINK = re.compile(r"(?<!!)\[((?:[^\[\]\n]|\[[^\]\n]*\])*)\]"
                   r"(?:\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)|\[([^\]\n]*)\])")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_MATH_OR_CODE = re.compile(r"(\$[^$\n]+\$|`+[^`\n]*`+)")
_EMPHASIS = [
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
]


def reduce_links(text: str, links: list[dict], refs: dict[str, str] | None = None) -> str:
    """`[text](url)` / `[text][ref]` / `<url>` -> text (the URL appended to `links`)."""
    def link(m):
        label = m.group(1)
        url = m.group(2) if m.group(2) is not None else (refs or {}).get((m.group(3) or label).strip().lower())
        if url is None and m.group(3) is not None and not (refs or {}):
            return m.group(0)
        links.append({"text": label, "url": url or ""})
        return label

    text = _LINK.sub(link, text)

    def auto(m):
        links.append({"text": m.group(1), "url": m.group(1)})
        return m.group(1)

    return _AUTOLINK.sub(auto, text)


def strip_emphasis(text: str) -> str:
    """Markdown emphasis and code backticks removed; `$math$` left untouched."""
    out = []
    for k, part in enumerate(_MATH_OR_CODE.split(text)):
        if k % 2:
            out.append(part.strip("`").strip() if part.startswith("`") else part)
            continue
        for pat, rep in _EMPHASIS:
            part = pat.sub(rep, part)
        out.append(part)
    return "".join(out)


def clean_inline(text: str, links: list[dict], refs: dict[str, str] | None = None) -> str:
    return strip_emphasis(reduce_links(text, links, refs)).strip()


def front_matter(text: str, doc: Document) -> int:
    """Parse a YAML front matter block into doc.meta; returns the offset where the body starts."""
    m = re.match(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", text, re.S)
    if not m:
        return 0
    import yaml

    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError as e:
        doc.issue(f"front matter is not valid YAML ({type(e).__name__}); kept as raw text in meta")
        meta = {"raw": m.group(1)}
    except RecursionError:
        doc.issue("front matter nests too deeply; kept as raw text in meta")
        meta = {"raw": m.group(1)}
    doc.meta = meta if isinstance(meta, dict) else {"value": meta}
    return m.end()


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
    body_start = front_matter(text, doc)
    lines = [(ln, off) for ln, off in _lines_with_offsets(text) if off >= body_start]
    refs: dict[str, str] = {}
    for ln, _ in lines:
        m = _REF_DEF.match(ln)
        if m:
            refs[m.group(1).strip().lower()] = m.group(2)
    if refs:
        lines = [(ln, off) for ln, off in lines if not _REF_DEF.match(ln)]
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
            if kind == "formula":
                doc.blocks.append(finish_formula(Block(kind, piece, span=span, section=sec())))
                continue
            links: list[dict] = []
            piece = reduce_links(" ".join(piece.split()), links, refs)
            doc.blocks.append(Block(kind, piece, span=span, section=sec(), links=links))
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
            links: list[dict] = []
            level, title = len(m.group(1)), clean_inline(m.group(2), links, refs)
            section = section[: level - 1] + [title]
            doc.blocks.append(Block("text", title, span=(off, off + len(line)), section=sec(), heading_level=level,
                                    links=links))
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
                rows = normalize_rows(doc, t["rows"], f"table at line {text.count(chr(10), 0, off) + 1}")
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
            links = []
            rows = [[clean_inline(c, links, refs) for c in r] for r in rows]
            rows = normalize_rows(doc, rows, f"table at line {text.count(chr(10), 0, off) + 1}")
            doc.blocks.append(Block("table", "", span=(off, end), section=sec(), rows=rows, links=links))
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
    if not doc.title and isinstance(doc.meta.get("title"), str):
        doc.title = doc.meta["title"].strip()
    attach_captions(doc)
    return assign_labels(doc.renumber())


def read_markdown(path: Path, root: Path) -> Document:
    raw = path.read_bytes()
    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    return parse_markdown(decode_text(raw, doc), doc, root, path.parent)
