"""Which evidence nodes a question needs, checked on the graph (MMKG-RDS: every listed modality is needed).

A question's computation (compute.py spec) reads graph facts: table cells, relations, the rows a passage
names, formulas. Each fact can be read from some of the shown evidence nodes, decided on the graph:

    cell (Entity -has_attribute-> Table)   the table, when shown with that column; the facts list (an Entity
                                           task, the entity listed); a chart that plots that
                                           column of the table; a passage that names the row and states
                                           the value. A value the question itself states needs no node.
    relation (Entity -relation-> Entity)   its table, when shown; a passage that names both entities; the
                                           facts list of an Entity task, while it lists both entities
    named(chunk, table, n)                 that passage only ("the 2nd model Passage 1 names")
    count_named(chunks, entities)          per entity, the listed passages that mention it
    walk (multi-hop chain)                 each hop's relation edge or cell, as above
    formula / symbol                       the formula node; a symbol, or a quantity the question names in
                                           words only (`by_name`), also a passage that names that quantity

So the evidence a question needs is a conjunction of alternatives (one clause per fact). The gold answer is
derivable from an evidence set when every clause has a node in it (and the spec evaluates); a node is
*needed* when it is the only source of some clause, i.e. removing it makes the answer not derivable.
A task type requires at least n needed nodes of each kind it lists (`TaskType.required`).
"""

from __future__ import annotations

from ..kg.graph import KG
from .compute import ComputeError, edge_index, evaluate, fmt_num, named_by, related_edge
from .view import contains_value, shown_text

Clause = frozenset[str]


def _contains(text: str, value: str) -> bool:
    return bool(value) and contains_value(text, value)


def _text(kg: KG, evidence, chunk: str) -> str:
    """A passage's text as the record shows it (`evidence` may map node ids to their shown text)."""
    shown = evidence.get(chunk) if isinstance(evidence, dict) else None
    return shown if isinstance(shown, str) else kg.g.nodes[chunk]["text"]


def _names(kg: KG, chunk: str, entity: str, evidence=None) -> bool:
    """Whether a passage names an entity (its name or an alias in the shown text, or a mention edge when the
    passage is shown whole)."""
    text = _text(kg, evidence or {}, chunk)
    if named_by(kg, chunk, entity) and text == kg.g.nodes[chunk]["text"]:
        return True
    text = text.casefold()
    d = kg.g.nodes[entity]
    return any(_contains(text, n.casefold()) for n in {d["name"], *d.get("aliases", [])} if n)


def _by_type(kg: KG, evidence, ntype: str) -> list[str]:
    return [n for n in evidence if kg.g.nodes[n]["type"] == ntype]


def cell_sources(kg: KG, key: str, evidence, hide: dict | None = None) -> set[str]:
    """Evidence nodes a table cell (a has_attribute edge) can be read from."""
    u, t, d = edge_index(kg)[key]
    out = set()
    if t in evidence and d["name"] not in (hide or {}).get(t, ()):
        out.add(t)
    if u in evidence:  # the facts list of an Entity task lists the entity's attributes it asks about
        out.add(u)
    for i in _by_type(kg, evidence, "Image"):
        if any(e["type"] == "plots" and w == t and d["name"] in (e.get("columns") or [])
               for _, w, e in kg.g.out_edges(i, data=True)):
            out.add(i)
    vals = {str(d["raw"]), fmt_num(d["value"]) if isinstance(d["value"], (int, float)) else str(d["value"])}
    for ch in _by_type(kg, evidence, "Chunk"):
        text = _text(kg, evidence, ch)
        if any(_contains(text, x) for x in vals) and _names(kg, ch, u, evidence):
            out.add(ch)
    return out


def relation_sources(kg: KG, key: str, evidence, hide: dict | None = None) -> list[set[str]]:
    """Clauses for a relation edge: its table (when shown) or a passage naming both entities, or else the
    facts list, which shows it only while both entities are listed ((u and w) or x = (u or x) and (w or x))."""
    u, w, d = edge_index(kg)[key]
    other = set()
    t = d.get("table")
    if t and t in evidence and d["name"] not in (hide or {}).get(t, ()):
        other.add(t)
    for ch in _by_type(kg, evidence, "Chunk"):
        if _names(kg, ch, u, evidence) and _names(kg, ch, w, evidence):
            other.add(ch)
    if u in evidence and w in evidence:
        return [other | {u}, other | {w}]
    return [other]


def _given(kg: KG, key: str, question: str) -> bool:
    """A cell whose value the question states ("when P = 55") needs no evidence node."""
    d = edge_index(kg)[key][2]
    if not isinstance(d["value"], (int, float)):
        return False
    return any(_contains(question, x) for x in {str(d["raw"]), fmt_num(d["value"])})


def _attr_cell(kg: KG, spec: dict) -> str:
    name = evaluate(kg, spec["args"][0]) if "op" in spec["args"][0] else None
    if name is None:
        u, _, _ = edge_index(kg)[spec["args"][0]["cell"]]
        name = kg.g.nodes[u]["name"]
    for u, _, k, d in kg.g.in_edges(spec["table"], keys=True, data=True):
        if d["type"] == "has_attribute" and d["name"] == spec["column"] and kg.g.nodes[u]["name"] == name:
            return k
    raise ComputeError(f"no {spec['column']!r} cell for {name!r}")


def clauses(kg: KG, spec, evidence, question: str = "", hide: dict | None = None) -> list[Clause]:
    """One clause (the evidence nodes that can supply it) per fact the spec reads; an empty clause means
    the evidence cannot supply that fact."""
    ev = evidence if isinstance(evidence, dict) else dict.fromkeys(evidence)
    out: list[Clause] = []
    if isinstance(spec, list):
        for x in spec:
            out += clauses(kg, x, ev, question, hide)
        return out
    if not isinstance(spec, dict):
        return out
    if "cell" in spec:
        return [] if _given(kg, spec["cell"], question) else [frozenset(cell_sources(kg, spec["cell"], ev, hide))]
    if "rel" in spec or "head" in spec:
        return [frozenset(c) for c in relation_sources(kg, spec.get("rel") or spec["head"], ev, hide)]
    op = spec.get("op")
    if op == "named":
        out.append(frozenset({spec["chunk"]} & ev.keys()))
    elif op == "related":
        out += [frozenset(c) for c in relation_sources(kg, related_edge(kg, spec)[2], ev, hide)]
    elif op == "count_named":
        for e in spec["entities"]:  # a listed entity no passage names counts 0 whatever is removed
            if any(named_by(kg, ch, e) for ch in spec["chunks"]):
                out.append(frozenset(ch for ch in spec["chunks"] if ch in ev and named_by(kg, ch, e)))
    elif op == "walk":
        from .compute import walk

        for kind, key in walk(kg, spec)[1]:
            out += clauses(kg, {kind: key}, ev, question, hide)
    elif op == "stated_symbol":  # which quantity: that passage; which symbol: the formula and its definition
        u, t, d = edge_index(kg)[spec["stated_cell"]]
        word = next((q for x, q in (kg.g.nodes[spec["formula"]].get("quantities") or {}).items()
                     if kg.formula_columns(spec["formula"]).get(x) == (t, d["name"])), d["name"]).casefold()
        out += [frozenset({spec["chunk"]} & ev.keys()), frozenset({spec["formula"]} & ev.keys()),
                frozenset(ch for ch in _by_type(kg, ev, "Chunk") if ch != spec["chunk"]
                          and word in _text(kg, evidence, ch).casefold())]
        return out
    elif op in ("formula", "symbol"):
        out.append(frozenset({spec["formula"]} & ev.keys()))
        if spec.get("by_name"):  # quantities named in words: the passages that define the symbols
            qs = kg.g.nodes[spec["formula"]].get("quantities") or {}
            for var in [spec["target"], *spec["bind"]]:
                q = (qs.get(var) or var).casefold()
                out.append(frozenset(ch for ch in _by_type(kg, ev, "Chunk") if q in _text(kg, evidence, ch).casefold()))
        if op == "symbol":
            q = spec["quantity"].casefold()
            out.append(frozenset(ch for ch in _by_type(kg, ev, "Chunk") if q in _text(kg, evidence, ch).casefold()))
    elif op == "attr":
        out.append(frozenset(cell_sources(kg, _attr_cell(kg, spec), ev, hide)))
    for k in ("args", "bind"):
        v = spec.get(k)
        out += clauses(kg, list(v.values()) if isinstance(v, dict) else (v or []), ev, question, hide)
    return out


def needed(cl: list[Clause]) -> set[str]:
    """Nodes that are the only source of some clause: removing any one of them breaks the derivation."""
    return {next(iter(c)) for c in cl if len(c) == 1}


def derivable(kg: KG, spec: dict, evidence, answer: str | None = None, question: str = "",
              hide: dict | None = None) -> bool:
    """Whether `evidence` (node ids) supplies every fact the spec reads, and the spec evaluates (to
    `answer`, when given)."""
    from .compute import render

    try:
        cl = clauses(kg, spec, evidence, question, hide)
        value = render(evaluate(kg, spec), spec)
    except (ComputeError, KeyError, ZeroDivisionError, ValueError, TypeError):
        return False
    return all(cl) and (answer is None or value == answer)


def check(kg: KG, required: dict[str, int], spec: dict, evidence, question: str = "",
          hide: dict | None = None) -> tuple[list[str], str | None]:
    """(needed node ids, None) when the question needs at least `required[kind]` nodes of each kind, else
    (needed, the reason it fails)."""
    try:
        cl = clauses(kg, spec, evidence, question, hide)
    except (ComputeError, KeyError) as e:
        return [], f"not derivable ({e})"
    if not all(cl):
        return [], "not derivable from the evidence"
    need = sorted(needed(cl))
    for kind, n in required.items():
        got = sum(1 for x in need if kg.g.nodes[x]["type"] == kind)
        if got < n:
            return need, f"needs {got} {kind} node(s), the task requires {n}"
    return need, None


def evidence_of(kg: KG, prov: dict) -> dict[str, str | None]:
    """The evidence a record showed, rebuilt from its provenance: {node id: shown passage text or None}."""
    spans = prov.get("passage_spans") or {}
    return {n: shown_text(kg.g.nodes[n]["text"], spans[n]) if n in spans else
            (kg.g.nodes[n]["text"] if kg.g.nodes[n]["type"] == "Chunk" else None) for n in prov["evidence_node_ids"]}
