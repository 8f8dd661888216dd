"""Ingest: every reader turns one file into a `Document` (ordered text/table/image/formula blocks).

    discover(input_dir) -> list[Path]      files a reader claims, sorted, inside input_dir only
    read_document(path, root) -> Document  never raises on bad content: problems land in doc.issues

Readers: Markdown (.md), HTML (.html/.htm), PDF (.pdf), plain text (.txt), MinerU (*content_list.json).
`*.truth.json` (ground truth beside the shipped corpus) is not a document.
"""

from __future__ import annotations

from pathlib import Path

from .html import read_html
from .markdown import read_markdown
from .mineru import read_mineru
from .model import Block, Document, IngestIssue, find_references, make_label
from .office import read_docx, read_pptx, read_xlsx
from .pdf import read_pdf
from .text import read_text

__all__ = ["Block", "Document", "IngestIssue", "discover", "read_document", "reader_for", "find_references",
           "make_label"]


def reader_for(path: Path):
    name = path.name.lower()
    if name.endswith("content_list.json"):
        return read_mineru
    return {".md": read_markdown, ".markdown": read_markdown, ".html": read_html, ".htm": read_html,
            ".pdf": read_pdf, ".txt": read_text, ".docx": read_docx, ".xlsx": read_xlsx, ".xlsm": read_xlsx,
            ".pptx": read_pptx}.get(path.suffix.lower())


def discover(input_dir: str | Path) -> list[Path]:
    """Document files under input_dir (recursively), skipping links that lead outside it."""
    root = Path(input_dir).resolve()
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or reader_for(p) is None:
            continue
        try:
            p.resolve().relative_to(root)
        except ValueError:
            continue  # a symlink pointing outside the input folder is never read
        out.append(p)
    return out


def read_document(path: str | Path, root: str | Path) -> Document:
    """Read one file; unreadable files give an empty Document with an issue, never an exception."""
    path, root = Path(path), Path(root).resolve()
    apath = path if path.is_absolute() else root / path
    try:
        rel = apath.resolve().relative_to(root).as_posix()
    except ValueError:
        return Document(path=str(path), issues=[IngestIssue(str(path), "file lies outside the input folder")])
    reader = reader_for(apath)
    if reader is None:
        return Document(path=rel, issues=[IngestIssue(rel, f"no reader for {apath.suffix!r} files")])
    try:
        doc = reader(apath.resolve(), root)
    except OSError as e:
        return Document(path=rel, issues=[IngestIssue(rel, f"unreadable file ({type(e).__name__}: {e.strerror or e})")])
    except Exception as e:  # a reader bug must not stop the corpus; report it with the file
        return Document(path=rel, issues=[IngestIssue(rel, f"reader failed ({type(e).__name__}: {e})")])
    if not any(b.type != "text" or b.text.strip() for b in doc.blocks):
        doc.issue("empty document (no text, table, image or formula)")
    return doc
