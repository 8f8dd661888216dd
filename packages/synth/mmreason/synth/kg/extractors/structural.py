"""The `structural` extractor (no model): everything the layout of a document says by itself.

- Document, Chunk (one per paragraph, with its section), Table, Image, Formula nodes; `belongs_to`
  and reading-order `next` edges.
- Tables: one Entity per row (type = the key column's header), one `has_attribute` edge per
  numeric / text cell with value and unit (header "(unit)" or the cell's own "$", "g/cm³", "%"), one
  `relation` edge per entity-valued cell (short names, no numbers).
- References: "Table N" / "Figure N" / "Eq. (N)" in chunks → `refers_to` edges; unresolved ones are
  reported. Figure captions → `plots` edges to the table (and columns) they draw.
- Formulas: sympy expression and variables; "where $x$ is the …" → quantities → `uses_quantity`
  edges to the table columns with that name.
- `mentions` edges from chunks to the entities whose names they contain.
"""

from __future__ import annotations

import re

from mmreason.core.schema import make_id

from ...ingest.model import Block, Document, find_references, make_label
from ..formulas import formula_srepr, parse_formula, where_quantities
from ..graph import KG, norm_name, prov
from ..tables import entity_name, is_note, read_table, singular


def doc_node_id(doc: Document) -> str:
    return make_id(doc.path, doc.sha, prefix="doc:")


def block_node_id(doc_id: str, b: Block) -> str:
    kind = {"text": "chunk", "table": "table", "image": "image", "formula": "formula"}[b.type]
    return make_id(doc_id, b.index, b.text if b.type == "text" else "", prefix=f"{kind}:")


def _match_form(text: str) -> str:
    """Text as caption-to-column matching compares it: normalised, units in brackets dropped, singular,
    "#" read as "number of" ("# Languages" is not "23 languages")."""
    text = re.sub(r"\s*[\(\[][^()\[\]]{1,24}[\)\]]", " ", text).replace("#", " number of ")
    return " ".join(singular(w) for w in norm_name(text).split())


def _names_rows(caption: str, key: str) -> bool:
    """Whether a caption says its bars are the rows of a table keyed by `key`: "... by element", "per
    company", "for each model", "across datasets"."""
    k = _match_form(key)
    return bool(k) and re.search(rf"\b(?:by|per|for each|of each|across|for all)\s+(?:the\s+)?{re.escape(k)}\b",
                                 _match_form(caption)) is not None


def _match_columns(text: str, columns: list[str], allowed: list[int]) -> list[int]:
    """Columns whose name occurs in `text` (word-bounded; case, plural and units ignored: "Boiling points
    (K)" names the "Boiling point" column); a match inside a longer match ("mass" in "molar mass") is dropped."""
    t = _match_form(text)
    hits = []
    for c in allowed:
        name = _match_form(columns[c])
        if not name:
            continue
        for m in re.finditer(rf"(?<![\w/]){re.escape(name)}(?![\w/])", t):
            hits.append((m.start(), m.end(), c))
    keep = [h for h in hits if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0])
                                       for o in hits)]
    out = []
    for _, _, c in sorted(keep):
        if c not in out:
            out.append(c)
    return out


def extract_structural(doc: Document, kg: KG, issues: list[dict], domain: str = "") -> KG:
    doc_id = doc_node_id(doc)
    P = lambda b: prov(doc_id, b.index, b.span)  # noqa: E731
    sections = [b.section for b in doc.blocks if b.heading_level]
    kg.add_node(doc_id, "Document", prov(doc_id, None, (0, 0)), path=doc.path, domain=domain, title=doc.title,
                sha=doc.sha, n_blocks=len(doc.blocks), sections=sections)

    def issue(reason: str) -> None:
        issues.append({"file": doc.path, "stage": "kg.structural", "reason": reason})

    node_of: dict[int, str] = {}
    tables: dict[str, dict] = {}  # node id -> {"columns", "kinds", "entities", "block"}
    by_label: dict[str, str] = {}
    prev = None
    for b in doc.blocks:
        if b.type == "text" and b.heading_level:
            continue
        nid = block_node_id(doc_id, b)
        node_of[b.index] = nid
        common = {"doc": doc_id, "block": b.index, "span": list(b.span), "section": b.section, "page": b.page}
        if b.type == "text":
            kg.add_node(nid, "Chunk", P(b), text=b.text, **common)
        elif b.type == "table":
            _add_table(kg, doc, b, nid, P(b), common, tables, issue)
        elif b.type == "image":
            kg.add_node(nid, "Image", P(b), label=b.label, number=_num(b.label), caption=b.caption,
                        path=b.image_path, sha=b.image_sha, width=b.image_size[0], height=b.image_size[1],
                        status=b.image_status, path_root="out" if b.image_status == "embedded" else "input",
                        vlm=None, **common)
        elif b.type == "formula":
            _add_formula(kg, b, nid, P(b), common, issue)
        if b.label:
            if b.label in by_label:
                issue(f"duplicate label {b.label!r} (block {b.index}); references go to the first")
            else:
                by_label[b.label] = nid
        kg.add_edge(nid, doc_id, "belongs_to", P(b))
        if prev is not None:
            kg.add_edge(prev, nid, "next", P(b))
        prev = nid

    # references from chunks (and from captions)
    for b in doc.blocks:
        nid = node_of.get(b.index)
        if nid is None:
            continue
        text = b.text if b.type == "text" else b.caption if b.type == "image" else ""
        if b.type == "formula":
            continue
        for kind, n, span in find_references(text):
            label = make_label(kind, n)
            target = by_label.get(label)
            if target is None:
                issue(f"block {b.index}: reference {label!r} does not resolve to any {kind} in the document")
                continue
            if target == nid:
                continue  # a caption naming its own figure
            kg.add_edge(nid, target, "refers_to", prov(doc_id, b.index, (b.span[0] + span[0], b.span[0] + span[1])),
                        label=label, kind=kind)

    _link_figures(kg, doc, node_of, tables, by_label, doc_id, issue)
    _link_formulas(kg, doc, node_of, tables, doc_id)
    _mentions(kg, doc, node_of, tables, doc_id)
    return kg


def _num(label: str) -> int | None:
    m = re.search(r"(\d+)", label or "")
    return int(m.group(1)) if m else None


def _add_table(kg: KG, doc: Document, b: Block, nid: str, p: dict, common: dict, tables: dict, issue,
               extractor: str = "structural") -> None:
    t = read_table(b.rows)
    # the table's crop of the rendered page (PDF readers), with the same fields an Image node has
    crop = {"path": b.image_path, "sha": b.image_sha, "status": b.image_status, "width": b.image_size[0],
            "height": b.image_size[1], "path_root": "out" if b.image_status == "embedded" else "input"} \
        if b.image_status in ("embedded", "ok") and b.image_path else {}
    if t is None:
        issue(f"block {b.index}: table {b.label!r} has no body rows")
        kg.add_node(nid, "Table", p, label=b.label, number=_num(b.label), caption=b.caption,
                    header=b.rows[0] if b.rows else [], columns=[], units=[], rows=[], values=[], key_column=0,
                    kinds=[], roles=[], summary=[], **crop, **common)
        return
    for why in t.issues:
        issue(f"block {b.index}: {b.label or 'table'}: {why}")
    values = [[c.value if t.kinds[j] == "number" and c.kind == "number" else None for j, c in enumerate(r)]
              for r in t.cells]
    summary = [{"row": i, "label": entity_name(t.body[i][t.key]),
                "values": {t.columns[j]: values[i][j] for j in range(len(t.columns))
                           if t.columns[j] and values[i][j] is not None}}
               for i, role in enumerate(t.roles) if role == "summary"]
    kg.add_node(nid, "Table", p, label=b.label, number=_num(b.label), caption=b.caption, header=t.header,
                columns=t.columns, units=t.units, rows=[list(r) for r in t.body], values=values, key_column=t.key,
                kinds=t.kinds, roles=t.roles, summary=summary, header_rows=t.header_rows, **crop, **common)
    etype = t.columns[t.key] or "Entity"
    ents: list[str | None] = []
    for i, r in enumerate(t.cells):
        name = t.names[i]
        if t.roles[i] != "data" or name is None:
            ents.append(None)
            continue
        eid = kg.add_entity(name, etype, p)
        ents.append(eid)
        kg.add_edge(eid, nid, "row_of", p, extractor, row=i)
        for j, cell in enumerate(r):
            kind = t.kinds[j]
            if j == t.key or not cell.text or not t.columns[j] or kind == "empty" or cell.kind == "missing":
                continue
            if kind == "entity":
                if is_note(cell):
                    continue
                oid = kg.add_entity(entity_name(cell.text), t.columns[j], p)
                kg.add_edge(eid, oid, "relation", p, extractor, name=t.columns[j].lower(), table=nid, row=i, col=j)
                continue
            if kind == "number" and cell.kind == "number":
                val, unit = cell.value, t.units[j] or cell.unit
            elif kind == "number" and is_note(cell):
                continue  # a note in a numeric column is a missing value
            else:
                val, unit = cell.text, t.units[j]
            kg.add_edge(eid, nid, "has_attribute", p, extractor, name=t.columns[j], value=val, unit=unit, raw=t.body[i][j],
                        row=i, col=j, table=nid)
    tables[nid] = {"columns": t.columns, "kinds": t.kinds, "entities": ents, "block": b.index, "key": t.key,
                   "names": [n if role == "data" else None for n, role in zip(t.names, t.roles)]}


def _add_formula(kg: KG, b: Block, nid: str, p: dict, common: dict, issue) -> None:
    attrs = {"label": b.label, "number": _num(b.label), "latex": b.text, "sympy": None, "srepr": None,
             "variables": [], "quantities": {}, "parse_error": None}
    try:
        expr = parse_formula(b.text)
        attrs.update(sympy=str(expr), srepr=formula_srepr(expr), variables=sorted(str(s) for s in expr.free_symbols))
    except ValueError as e:
        attrs["parse_error"] = str(e)
        issue(f"block {b.index}: formula {b.label or b.text[:40]!r}: {e}")
    kg.add_node(nid, "Formula", p, **attrs, **common)


def _link_figures(kg: KG, doc: Document, node_of: dict, tables: dict, by_label: dict, doc_id: str, issue) -> None:
    """Image -> Table `plots` edges: the table the caption names, with the numeric columns it names; else
    the nearest table whose numeric column AND whose row type (the key column's name) the caption both
    name ("Atomic mass by element"). A caption that merely shares a word with a column ("across 23
    languages" vs "# Languages") links nothing: a figure whose plotted column is unknown is no chart."""
    for b in doc.blocks:
        if b.type != "image" or not b.caption:
            continue
        img = node_of[b.index]
        named = [by_label.get(make_label(k, n)) for k, n, _ in find_references(b.caption) if k == "table"]
        named = [t for t in named if t in tables]
        candidates = named or sorted(tables, key=lambda t: (tables[t]["block"] > b.index, abs(tables[t]["block"] - b.index)))
        best = None
        for t in candidates:
            info = tables[t]
            allowed = [j for j, k in enumerate(info["kinds"]) if k == "number"]
            cap = re.sub(r"^\s*(?:Figure|Fig\.)\s*\d+\s*[:.]?", "", b.caption)
            cols = _match_columns(cap, info["columns"], allowed)
            if not named and cols and not _names_rows(cap, info["columns"][info["key"]]):
                continue  # no table named and the caption does not say the bars are the table's rows
            if cols or (named and t == named[0]):
                best = (t, cols)
                break
        if best is None or not best[1]:
            continue  # no plotted column named: not a chart source
        t, cols = best
        kind = (kg.g.nodes[img].get("vlm") or {}).get("kind") or "chart"
        kg.add_edge(img, t, "plots", prov(doc_id, b.index, b.span), columns=[tables[t]["columns"][c] for c in cols],
                    rows=[n for n in tables[t]["names"] if n], kind=kind)


def add_vlm_chart(kg: KG, doc: Document, b: Block, issues: list[dict]) -> str | None:
    """A figure a VLM described as a chart with its data: a hidden Table node (source "vlm": never shown,
    never labelled) with the data as row entities and cells, and a `plots` edge from the figure to it (the
    numeric columns its caption names, else all of them). Returns the table id, or None when the data has
    no numeric column."""
    img = block_node_id(doc_node_id(doc), b)
    d = (kg.g.nodes[img].get("vlm") or {}) if img in kg.g else {}
    data = d.get("table") or {}
    if d.get("kind") != "chart" or not data.get("header") or len(data.get("rows") or []) < 2:
        return None
    doc_id = doc_node_id(doc)
    nid = make_id(doc_id, b.index, "vlm", prefix="table:")
    blk = Block(type="table", rows=[list(data["header"])] + [list(r) for r in data["rows"]], index=b.index,
                span=b.span, caption=b.caption, page=b.page, section=b.section)
    tables: dict = {}
    common = {"doc": doc_id, "block": b.index, "span": list(b.span), "section": b.section, "page": b.page}
    _add_table(kg, doc, blk, nid, prov(doc_id, b.index, b.span), common, tables,
               lambda why: issues.append({"file": doc.path, "stage": "kg.llm", "reason": f"VLM chart data: {why}"}),
               extractor="vlm")
    info = tables.get(nid)
    numeric = [j for j, k in enumerate(info["kinds"]) if k == "number" and info["columns"][j]] if info else []
    if not numeric:
        return None
    kg.g.nodes[nid].update(source="vlm", label="")
    named = _match_columns(b.caption or "", info["columns"], numeric)
    kg.add_edge(img, nid, "plots", prov(doc_id, b.index, b.span), "vlm",
                columns=[info["columns"][j] for j in (named or numeric)], rows=[n for n in info["names"] if n],
                kind="chart")
    return nid


def _link_formulas(kg: KG, doc: Document, node_of: dict, tables: dict, doc_id: str) -> None:
    blocks = doc.blocks
    for i, b in enumerate(blocks):
        if b.type != "formula":
            continue
        fid = node_of[b.index]
        # the "where ..." sentence: the paragraph right after (or before) the formula
        quantities: dict[str, str] = {}
        for j in (i + 1, i - 1):
            if 0 <= j < len(blocks) and blocks[j].type == "text" and not blocks[j].heading_level:
                quantities = where_quantities(blocks[j].text)
                if quantities:
                    break
        node = kg.g.nodes[fid]
        variables = set(node["variables"])
        quantities = {s: q for s, q in quantities.items() if not variables or s in variables}
        node["quantities"] = quantities
        for sym, q in quantities.items():
            nq = norm_name(q)
            order = sorted(tables, key=lambda t: (tables[t]["block"] > b.index, abs(tables[t]["block"] - b.index)))
            for t in order:
                info = tables[t]
                hit = [j for j, k in enumerate(info["kinds"]) if k == "number" and norm_name(info["columns"][j]) == nq]
                if hit:
                    kg.add_edge(fid, t, "uses_quantity", prov(doc_id, b.index, b.span), variable=sym,
                                column=info["columns"][hit[0]], quantity=q, col=hit[0])
                    break


def _mentions(kg: KG, doc: Document, node_of: dict, tables: dict, doc_id: str) -> None:
    names: dict[str, str] = {}
    for info in tables.values():
        for eid in info["entities"]:
            if eid:
                names[kg.g.nodes[eid]["name"]] = eid
    for _, v, _, _ in kg.edges_of("relation", doc_id):
        names.setdefault(kg.g.nodes[v]["name"], v)
    # a short lower-case name ("it", "de", "es": language codes) is an ordinary word in prose, not a mention
    names = {n: e for n, e in names.items() if len(n) >= 3 or re.search(r"[A-Z0-9]", n)}
    if not names:
        return
    pat = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b")
    for b in doc.blocks:
        if b.type != "text" or b.heading_level or b.index not in node_of:
            continue
        for m in pat.finditer(b.text):
            kg.add_edge(node_of[b.index], names[m.group(1)], "mentions",
                        prov(doc_id, b.index, (b.span[0] + m.start(), b.span[0] + m.end())))
