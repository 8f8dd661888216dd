"""Reader for MinerU's `*_content_list.json`: a JSON list of blocks in reading order.

MinerU fields used: `type` (text | title | image | table | equation | list | code; others kept as
text), `text`, `text_level` (heading level), `page_idx`, `img_path` (relative to the JSON file),
`image_caption` / `img_caption` (list of str), `table_caption`, `table_body` (HTML),
`table_footnote`, `text_format` ("latex" for equations), `list_items`, `code_body`.
Image paths are checked to stay inside the input folder; spans are the item's index in the list.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .html import parse_html_tables
from .model import Block, Document, assign_labels, decode_text, load_image_info, normalize_rows
from .text import attach_captions, finish_formula


def _cap(item: dict, *keys: str) -> str:
    for k in keys:
        v = item.get(k)
        if isinstance(v, list):
            v = " ".join(str(x) for x in v if x)
        if v:
            return " ".join(str(v).split())
    return ""


def read_mineru(path: Path, root: Path) -> Document:
    raw = path.read_bytes()
    doc = Document(path=path.relative_to(root).as_posix(), sha=hashlib.sha1(raw).hexdigest())
    try:
        items = json.loads(decode_text(raw, doc))
    except json.JSONDecodeError as e:
        doc.issue(f"not valid JSON ({e.msg} at line {e.lineno})")
        return doc
    except RecursionError:
        doc.issue("JSON nested too deeply to read")
        return doc
    if not isinstance(items, list):
        doc.issue(f"a MinerU content list must be a JSON list, got {type(items).__name__}")
        return doc
    state = {"section": []}
    for k, it in enumerate(items):
        if not isinstance(it, dict):
            doc.issue(f"item {k} is a {type(it).__name__}, not an object")
            continue
        try:  # a malformed item loses only itself
            _item(doc, k, it, state, root, path)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
            doc.issue(f"item {k} ({str(it.get('type'))[:20]!r}) skipped: {type(e).__name__}: {str(e)[:200]}")
    attach_captions(doc)
    return assign_labels(doc.renumber())


def _level(v) -> int:
    """A heading level from `text_level` (1-6); ValueError on anything else."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"text_level {v!r} is not a number")
    n = int(float(v))
    if not 1 <= n <= 9:
        raise ValueError(f"text_level {v!r} is out of range")
    return min(n, 6)


def _str(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        raise TypeError(f"expected text, got a JSON {type(v).__name__}")
    return str(v)


def _item(doc: Document, k: int, it: dict, state: dict, root: Path, path: Path) -> None:
    section = state["section"]
    t = it.get("type", "text")
    page = it.get("page_idx")
    common = {"span": (k, k + 1), "page": page if isinstance(page, int) and not isinstance(page, bool) else None}
    if t in ("text", "title") and (it.get("text_level") or t == "title"):
        level = _level(it.get("text_level") or 1)
        title = " ".join(_str(it.get("text", "")).split())
        section = state["section"] = section[: level - 1] + [title]
        doc.blocks.append(Block("text", title, section=" / ".join(section), heading_level=level, **common))
        if not doc.title:
            doc.title = title
    elif t == "image":
        cap = _cap(it, "image_caption", "img_caption")
        b = Block("image", cap, caption=cap, section=" / ".join(section), **common)
        if it.get("img_path"):
            load_image_info(doc, b, root, path.parent, _str(it["img_path"]))
        else:
            b.image_status = "missing"
            doc.issue(f"item {k}: image without img_path")
        doc.blocks.append(b)
    elif t == "table":
        cap = _cap(it, "table_caption")
        tables = parse_html_tables(_str(it.get("table_body")))
        rows = normalize_rows(doc, tables[0]["rows"], f"item {k} table") if tables else []
        if not rows:
            doc.issue(f"item {k}: table without a readable table_body; skipped")
            return
        doc.blocks.append(Block("table", cap, caption=cap, rows=rows, section=" / ".join(section), **common))
    elif t in ("equation", "interline_equation"):
        latex = _str(it.get("text") or it.get("latex") or "").strip()
        for d in ("$$", "\\[", "\\]"):
            latex = latex.replace(d, "")
        doc.blocks.append(finish_formula(Block("formula", latex.strip(), section=" / ".join(section), **common)))
    else:
        items = it.get("list_items") or []
        body = it.get("text") or it.get("code_body") or "\n".join(map(_str, items if isinstance(items, list) else [items]))
        body = " ".join(_str(body).split())
        if body:
            doc.blocks.append(Block("text", body, section=" / ".join(section), **common))
