"""Ingest: every reader turns one file into a `Document` (ordered text/table/image/formula blocks).

    discover(input_dir, skipped=None, max_bytes=...) -> list[Path]   files a reader claims, sorted
    read_document(path, root, options=None) -> Document             never raises on bad content

Readers: Markdown (.md), HTML (.html/.htm), PDF (.pdf), plain text (.txt), Word (.docx), Excel
(.xlsx/.xlsm), PowerPoint (.pptx), MinerU (*content_list.json). `*.truth.json` (ground truth beside the
shipped corpus) is not a document. Inputs that are not read — links leading outside the folder,
dangling links, link loops, FIFOs / sockets / devices, unreadable or over-size files, folders that
cannot be listed — are reported in `skipped` ({"file", "stage": "ingest", "reason"}), never silently
dropped. File names with invalid UTF-8 bytes are shown with backslash escapes (`display_path`).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .html import read_html
from .markdown import read_markdown
from .mineru import read_mineru
from .model import Block, Document, IngestIssue, display_path, find_references, make_label
from .office import read_docx, read_pptx, read_xlsx
from .pdf import PDF_DEFAULTS, read_pdf
from .text import read_text

__all__ = ["Block", "Document", "IngestIssue", "discover", "read_document", "reader_for", "find_references",
           "make_label", "display_path", "INGEST_DEFAULTS", "INGEST_VERSION"]

# reader settings (kg.ingest in conf/synth/default.yaml)
INGEST_DEFAULTS = {"max_file_mb": 200.0, "pdf": dict(PDF_DEFAULTS)}
INGEST_VERSION = 4  # bumped when readers change what they produce: the kg build redoes its partials


def reader_for(path: Path):
    name = path.name.lower()
    if name.endswith("content_list.json"):
        return read_mineru
    return {".md": read_markdown, ".markdown": read_markdown, ".html": read_html, ".htm": read_html,
            ".pdf": read_pdf, ".txt": read_text, ".docx": read_docx, ".xlsx": read_xlsx, ".xlsm": read_xlsx,
            ".pptx": read_pptx}.get(path.suffix.lower())


def discover(input_dir: str | Path, skipped: list[dict] | None = None,
             max_bytes: float = INGEST_DEFAULTS["max_file_mb"] * 1e6) -> list[Path]:
    """Document files under input_dir (recursively, links to folders not followed), sorted.

    Every entry a reader would claim but that is not read is appended to `skipped` with the reason.
    """
    root = Path(input_dir).resolve()
    out: list[Path] = []
    skipped = skipped if skipped is not None else []

    def skip(p: Path, reason: str) -> None:
        skipped.append({"file": display_path(_rel(p, root)), "stage": "ingest", "reason": reason})

    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            skip(d, f"folder cannot be listed ({type(e).__name__}: {e.strerror or e})")
            continue
        for e in entries:
            p = Path(e.path)
            is_link = False
            try:
                is_link = e.is_symlink()
                st = os.stat(p) if is_link else e.stat(follow_symlinks=False)
            except OSError as err:  # a dangling link, a link loop
                if reader_for(p) is not None or is_link:
                    skip(p, "link loop" if getattr(err, "errno", 0) == errno.ELOOP else "dangling link (its target does not exist)")
                continue
            if stat.S_ISDIR(st.st_mode):
                if is_link:
                    skip(p, "a link to a folder is not followed")
                else:
                    stack.append(p)
                continue
            if reader_for(p) is None:
                continue
            if is_link:
                try:
                    p.resolve(strict=True).relative_to(root)
                except (ValueError, OSError, RuntimeError):
                    skip(p, "link leads outside the input folder; not read")
                    continue
            if not stat.S_ISREG(st.st_mode):
                kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device or special file"
                skip(p, f"not a regular file ({kind}); not read")
                continue
            if st.st_size > max_bytes:
                skip(p, f"{st.st_size / 1e6:.1f} MB is over kg.ingest.max_file_mb ({max_bytes / 1e6:g} MB); not read")
                continue
            if not os.access(p, os.R_OK):
                skip(p, "no permission to read the file")
                continue
            out.append(p)
    return sorted(out)


def _rel(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return str(p)


def read_document(path: str | Path, root: str | Path, options: dict | None = None) -> Document:
    """Read one file; unreadable files give an empty Document with an issue, never an exception.

    options: `INGEST_DEFAULTS` overrides (e.g. {"pdf": {"dpi": 100}}).
    """
    path, root = Path(path), Path(root).resolve()
    apath = path if path.is_absolute() else root / path
    try:
        rel = apath.resolve().relative_to(root).as_posix()
    except (ValueError, OSError, RuntimeError):
        name = display_path(str(path))
        return Document(path=name, issues=[IngestIssue(name, "file lies outside the input folder")])
    shown = display_path(rel)
    reader = reader_for(apath)
    if reader is None:
        return Document(path=shown, issues=[IngestIssue(shown, f"no reader for {display_path(apath.suffix)!r} files")])
    try:
        if reader is read_pdf:
            doc = read_pdf(apath.resolve(), root, {**PDF_DEFAULTS, **((options or {}).get("pdf") or {})})
        else:
            doc = reader(apath.resolve(), root)
    except OSError as e:
        return Document(path=shown, issues=[IngestIssue(shown, f"unreadable file ({type(e).__name__}: {e.strerror or e})")])
    except RecursionError:
        return Document(path=shown, issues=[IngestIssue(shown, "structure nested too deeply to read")])
    except Exception as e:  # a reader bug must not stop the corpus; report it with the file
        return Document(path=shown, issues=[IngestIssue(shown, f"reader failed ({type(e).__name__}: {e})")])
    if doc.path != shown:  # names with invalid UTF-8 bytes: escaped for JSON and logs
        doc.path = shown
        for i in doc.issues:
            i.file = shown
    if not any(b.type != "text" or b.text.strip() for b in doc.blocks):
        doc.issue("empty document (no text, table, image or formula)")
    return doc
