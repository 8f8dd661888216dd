"""Reader quality against a reference Markdown conversion (e.g. docling's ground truth).

    python -m mmreason.synth.ingest.quality DOCS_DIR GROUNDTRUTH_DIR [--json OUT]

For each document with a reference `<name>.md` (or `<stem>.md`):
- word recall: share of the reference's words (lower-cased, Unicode word characters; as a multiset)
  found in everything the reader produced (text, captions, table cells, formulas); "content" word
  recall leaves out what is not a word of the document: the reference's navigation (list items that are
  only links or toggles: a web page's menus, language and category lists), which a main-content reader
  drops on purpose, and docling's own picture-class labels ("Bar chart" / "Other chart" under an
  `<!-- image -->` placeholder: the converter's classification of a figure, not document text);
- cell recall: share of the reference's distinct non-empty table cells (per document) that the reader
  produced as a table cell: the same text, or, for a reference cell holding several lines (docling
  joins the sub-rows of a `multirow` block into one cell), every word of it in one column of one of
  the reader's tables within three consecutive rows (a table's title rows read as its caption count as
  its cells); "content" cell recall leaves out navigation-box rows (cells that are lists of links);
- glued share: share of the reader's whitespace tokens with more than 25 letters that are not URLs,
  paths or code ("Thisisversion0.21ofthe" is one).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from .model import Document

_WORD = re.compile(r"\w+", re.U)
_SEP_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", html.unescape(s)).lower()
    s = re.sub(r"\]\((?:[^()\s]|\([^()\s]*\))*\)", "]", s)  # link targets: [text](url) -> [text]
    s = re.sub(r"\[([^\[\]]*)\]", r"\1", s)  # [text] -> text
    s = re.sub(r"[*_`]+", "", s)  # Markdown emphasis
    return " ".join(s.split())


def words(text: str) -> list[str]:
    return _WORD.findall(_norm(text))


_LINK = r"\[[^\]]*\]\((?:[^()\s]|\([^()\s]*\))*\)"  # [text](url), the url may hold one level of (...)
# a list item that is only links, optionally with a disclosure toggle ("Toggle Behaviour subsection"), or a toggle
_NAV_LINE = re.compile(rf"^\s*(?:[-*+]|\d+\.)\s+(?:\[ \]\s.*|(?:{_LINK}\s*)+(?:Toggle\b.*)?)$")
_LINK_ONLY = re.compile(rf"^\s*(?:{_LINK}\s*)+\W*$")
# back-links: in-page links whose text is "^" or one letter ([**^**](#cite_ref-1), [***a***](#cite_ref-5_0))
_BACKLINK = re.compile(r"\^?\s*\[(\**)(?:\^|[a-z])\1\]\(#[^)\s]*\)")


# docling's picture-class label, the line it writes under a picture's placeholder ("<!-- image -->\n\nBar chart"):
# the converter's classification of the figure, not a word of the document
_CHART_LABEL = re.compile(r"(<!--\s*image\s*-->\s*\n)[ \t]*\n?[ \t]*[A-Z][a-z]+ chart[ \t]*(?=\n|$)")


def _nav_row(line: str) -> bool:
    """A table row of a navigation box: a cell that is a list of links."""
    s = line.strip()
    return s.startswith("|") and bool(re.search(rf"\|\s*-\s*{_LINK}\s*(-\s*{_LINK}\s*)*\|", s))


def _drop_navigation(md: str) -> str:
    """The reference without navigation: list items that are only links or toggles (menus, tables of
    contents, language and category lists), navigation boxes (tables whose rows are lists of links, with their
    title row), back-links, and the menu chrome
    around them: lines of at most four words that are not headings ("Tools", "move to sidebar", "hide",
    "Hidden categories:", "[Edit links](…)") next to navigation or to other such lines."""
    lines = [_BACKLINK.sub(" ", ln) for ln in md.splitlines()]
    nav = [bool(_NAV_LINE.match(ln) or _nav_row(ln)) for ln in lines]
    k = 0
    while k < len(lines):  # a table all of whose body rows are navigation is a navigation box
        e = k
        while e < len(lines) and lines[e].strip().startswith("|"):
            e += 1
        rows = [j for j in range(k, e) if not _SEP_ROW.match(lines[j].strip())]
        if e > k and len(rows) > 1 and all(nav[j] for j in rows[1:]):
            nav[k:e] = [True] * (e - k)
        k = e + 1
    body = [k for k, ln in enumerate(lines) if ln.strip()]
    short = {k for k in body if not lines[k].lstrip().startswith(("#", "|"))
             and (len(words(lines[k])) <= 4 or _LINK_ONLY.match(lines[k]))}
    changed = True
    while changed:
        changed = False
        for i, k in enumerate(body):
            if nav[k] or k not in short:
                continue
            near = [body[j] for j in (i - 1, i + 1) if 0 <= j < len(body)]
            if any(nav[n] for n in near):
                nav[k] = changed = True
    return "\n".join(ln for ln, n in zip(lines, nav) if not n)


def reference_units(md: str, content_only: bool = False) -> tuple[list[str], list[set[str]]]:
    """(words, [distinct cells of each table]) of a reference Markdown text. `content_only` leaves out
    navigation (`_drop_navigation`), which a main-content reader drops on purpose."""
    if content_only:
        md = _CHART_LABEL.sub(r"\1", md)
    md = re.sub(r"<!--.*?-->", " ", md, flags=re.S)
    if content_only:
        md = _drop_navigation(md)
    tables: list[set[str]] = []
    in_table = False
    text_lines = []
    for line in md.splitlines():
        s = line.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            if not in_table:
                tables.append(set())
                in_table = True
            if _SEP_ROW.match(s):
                continue
            for c in s[1:-1].split("|"):
                c = _norm(c)
                if c and not re.fullmatch(r"-+", c):
                    tables[-1].add(c)
            text_lines.append(s.replace("|", " "))
        else:
            in_table = False
            text_lines.append(line)
    return words("\n".join(text_lines)), [t for t in tables if t]


def document_units(doc: Document) -> tuple[list[str], list[list[list[str]]], list[str]]:
    """(words, tables as normalised rows, whitespace tokens of the text) of a read document."""
    parts: list[str] = []
    tables = []
    for b in doc.blocks:
        parts.append(b.text)
        if b.caption and b.caption != b.text:
            parts.append(b.caption)
        if b.type == "table":  # a title row read as the caption is still the table's
            tables.append([[_norm(c) for c in r] for r in b.rows] + ([[_norm(b.caption)]] if b.caption else []))
            parts.extend(" ".join(r) for r in b.rows)
    text = "\n".join(parts)
    return words(text), tables, text.split()


def glued(tokens: list[str]) -> list[str]:
    """Tokens of more than 25 letters that are not URLs, paths, e-mails or code identifiers."""
    out = []
    for t in tokens:
        if sum(ch.isalpha() for ch in t) <= 25:
            continue
        if re.search(r"://|www\.|@|/|\\|_|[a-z][A-Z].*[a-z][A-Z]|\.[a-z]{2,}\b.*\.", t):
            continue
        out.append(t)
    return out


def _cell_recall(ref_tables: list[set[str]], got_tables: list[list[list[str]]]) -> float | None:
    cells_exact = {c for t in got_tables for r in t for c in r if c}
    # a reference cell holding several lines may be several rows of one column here
    windows = [set(words(" ".join(t[i + k][j] for k in range(3) if i + k < len(t) and j < len(t[i + k]))))
               for t in got_tables for i in range(len(t)) for j in range(len(t[i]))]
    ref_cells = set().union(*ref_tables) if ref_tables else set()
    hits = 0
    for c in ref_cells:
        if c in cells_exact:
            hits += 1
        else:
            cw = set(words(c))
            hits += bool(cw) and any(cw <= w for w in windows)
    return hits / len(ref_cells) if ref_cells else None


def measure(doc: Document, reference_md: str) -> dict:
    ref_words, ref_tables = reference_units(reference_md)
    content_tables = reference_units(reference_md, content_only=True)[1]
    got_words, got_tables, tokens = document_units(doc)
    have = Counter(got_words)
    need = Counter(ref_words)
    word_hits = sum(min(n, have[w]) for w, n in need.items())
    content = Counter(reference_units(reference_md, content_only=True)[0])
    ref_cells = set().union(*ref_tables) if ref_tables else set()
    g = glued(tokens)
    return {
        "word_recall": word_hits / max(1, sum(need.values())),
        "content_word_recall": sum(min(n, have[w]) for w, n in content.items()) / max(1, sum(content.values())),
        "ref_words": sum(need.values()),
        "cell_recall": _cell_recall(ref_tables, got_tables),
        "content_cell_recall": _cell_recall(content_tables, got_tables),
        "ref_cells": len(ref_cells),
        "ref_tables": len(ref_tables),
        "tables": len(got_tables),
        "glued_share": len(g) / max(1, len(tokens)),
        "glued_examples": g[:5],
    }


def reference_for(path: Path, gt_dir: Path) -> Path | None:
    for name in (f"{path.name}.md", f"{path.stem}.md"):
        if (gt_dir / name).is_file():
            return gt_dir / name
    return None


def measure_dir(docs_dir: str | Path, gt_dir: str | Path) -> dict[str, dict]:
    from . import discover, read_document

    docs_dir, gt_dir = Path(docs_dir), Path(gt_dir)
    out = {}
    for p in discover(docs_dir):
        ref = reference_for(p, gt_dir)
        if ref is None:
            continue
        doc = read_document(p, docs_dir)
        out[p.relative_to(docs_dir.resolve()).as_posix()] = measure(doc, ref.read_text(encoding="utf-8"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("docs_dir")
    ap.add_argument("groundtruth_dir")
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args(argv)
    res = measure_dir(a.docs_dir, a.groundtruth_dir)
    def f(v):
        return f"{v:.3f}" if v is not None else "-"

    print(f"{'document':40s} {'words':>6s} {'content':>7s} {'cells':>6s} {'content':>7s} {'glued':>6s}  tables(ref)")
    for k, r in res.items():
        print(f"{k:40s} {f(r['word_recall']):>6s} {f(r['content_word_recall']):>7s} {f(r['cell_recall']):>6s} "
              f"{f(r['content_cell_recall']):>7s} {100 * r['glued_share']:5.2f}%  {r['tables']}({r['ref_tables']})")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
