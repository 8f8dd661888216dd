"""Answers as computations on the graph: a small expression language stored in provenance.

A spec is `{"op": name, "args": [...], ...}`; an argument is a spec or a reference:

    {"cell": edge_key}      the value of a has_attribute edge (a table cell)
    {"rel": edge_key}       the tail entity's name of a relation edge
    {"head": edge_key}      the head entity's name of a relation / has_attribute edge
    {"num": 3.5}            a literal (a number stated in the question)

Ops that read a passage: `named` (the n-th distinct row of `table` that `chunk` names, from its mention
edges in reading order; n = 0 the first) and `count_named` (how many of the listed entity ids some of
`chunks` mention), `stated_symbol` (the symbol of `formula` bound to the column of a `stated_cell` that `chunk`
states). `attr` reads a column of the row an inner op names; `related` the tail of the row's
relation `name` in `table`; `claim` answers yes / no (in `language`): is `claim` the answer of args[0]?

`evaluate(kg, spec)` recomputes the answer from the graph alone, so a test (or a reader) can check
every template answer; `render(value, spec)` gives the canonical answer string.
"""

from __future__ import annotations

import operator
from functools import lru_cache

from ..kg.graph import KG


class ComputeError(ValueError):
    pass


_BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}
_REDUCE = {"sum": sum, "mean": lambda xs: sum(xs) / len(xs), "max": max, "min": min}


def edge_index(kg: KG) -> dict[str, tuple[str, str, dict]]:
    """{edge key: (u, v, data)} (cached on the KG object)."""
    idx = getattr(kg, "_edge_index", None)
    if idx is None:
        idx = {k: (u, v, d) for u, v, k, d in kg.g.edges(keys=True, data=True)}
        kg._edge_index = idx  # type: ignore[attr-defined]
    return idx


def relation_edges(kg: KG) -> list[tuple[str, str, str, dict]]:
    """Every relation edge (u, v, key, data) of the graph (cached on the KG object like `edge_index`)."""
    rels = getattr(kg, "_relation_edges", None)
    if rels is None:
        rels = [(u, v, k, d) for k, (u, v, d) in edge_index(kg).items() if d["type"] == "relation"]
        kg._relation_edges = rels  # type: ignore[attr-defined]
    return rels


def _edge(kg: KG, key: str):
    try:
        return edge_index(kg)[key]
    except KeyError:
        raise ComputeError(f"edge {key} is not in the graph") from None


def _ref(kg: KG, a):
    if isinstance(a, dict) and "op" in a:
        return evaluate(kg, a)
    if isinstance(a, dict) and "cell" in a:
        u, v, d = _edge(kg, a["cell"])
        if d["type"] != "has_attribute" or not isinstance(d["value"], (int, float)):
            raise ComputeError(f"edge {a['cell']} is not a numeric table cell")
        return float(d["value"])
    if isinstance(a, dict) and "rel" in a:
        u, v, d = _edge(kg, a["rel"])
        return kg.g.nodes[v]["name"]
    if isinstance(a, dict) and "head" in a:
        u, v, d = _edge(kg, a["head"])
        return kg.g.nodes[u]["name"]
    if isinstance(a, dict) and "num" in a:
        return float(a["num"])
    raise ComputeError(f"bad argument {a!r}")


def _cell_entity(kg: KG, a) -> str:
    if isinstance(a, dict) and a.get("op") == "attr":  # the row the inner op names
        return evaluate(kg, a["args"][0]) if "op" in a["args"][0] else _cell_entity(kg, a["args"][0])
    if not (isinstance(a, dict) and "cell" in a):
        raise ComputeError("argmax/argmin take cell references")
    u, _, _ = _edge(kg, a["cell"])
    return kg.g.nodes[u]["name"]


@lru_cache(maxsize=256)
def _formula_expr(latex: str):
    from ..kg.formulas import parse_formula

    return parse_formula(latex)


@lru_cache(maxsize=1024)
def _solution(latex: str, target: str):
    """(callable over the other variables, their names): the formula solved for `target`, symbolically."""
    import sympy

    expr = _formula_expr(latex)
    syms = {s.name: s for s in expr.free_symbols}
    if target not in syms:
        raise ComputeError(f"no variable {target!r} in {latex!r}")
    eq = expr if isinstance(expr, sympy.Equality) else sympy.Eq(expr, 0)
    sols = sympy.solve(eq, syms[target])
    if len(sols) != 1:
        raise ComputeError(f"{len(sols)} solutions for {target} in {latex!r}")
    names = sorted(n for n in syms if n != target)
    return sympy.lambdify([syms[n] for n in names], sols[0], "math"), tuple(names)


def solve_formula(kg: KG, fid: str, target: str, bind: dict[str, float]) -> float:
    """Solve the formula (an equation) for `target` with the other variables bound."""
    fn, names = _solution(kg.g.nodes[fid]["latex"], target)
    missing = [n for n in names if n not in bind]
    if missing:
        raise ComputeError(f"{fid}: no value for {missing}")
    try:
        return float(fn(*[float(bind[n]) for n in names]))
    except (ZeroDivisionError, ValueError, OverflowError) as e:
        raise ComputeError(f"{fid}: {e}") from None


def evaluate(kg: KG, spec: dict):
    """The value of a compute spec (float, int or str), recomputed from the graph."""
    op, args = spec["op"], spec.get("args", [])
    if op == "value":
        return _ref(kg, args[0])
    if op in _BINARY:
        a, b = (_ref(kg, x) for x in args)
        if op == "div" and b == 0:
            raise ComputeError("division by zero")
        return _BINARY[op](a, b)
    if op in _REDUCE:
        vals = [_ref(kg, x) for x in args]
        if not vals:
            raise ComputeError(f"{op} of no values")
        return _REDUCE[op](vals)
    if op in ("argmax", "argmin"):
        vals = [_ref(kg, x) for x in args]
        best = (max if op == "argmax" else min)(vals)
        if vals.count(best) != 1:
            raise ComputeError(f"{op}: tie")
        return _cell_entity(kg, args[vals.index(best)])
    if op == "count_gt":
        thr = float(spec["threshold"])
        return sum(1 for x in args if _ref(kg, x) > thr)
    if op == "rank_desc":  # 1 = largest
        target, others = _ref(kg, args[0]), [_ref(kg, x) for x in args[1:]]
        return 1 + sum(1 for x in others if x > target)
    if op == "attr":  # a column's value for the entity named by args[0], read from a table node
        name = _ref(kg, args[0]) if not (isinstance(args[0], dict) and "cell" in args[0]) else _cell_entity(kg, args[0])
        for c in kg.table_cells(spec["table"]):
            if c["entity"] == name and c["column"] == spec["column"] and isinstance(c["value"], (int, float)):
                return float(c["value"])
        raise ComputeError(f"no {spec['column']!r} cell for {name!r} in {spec['table']}")
    if op == "named":
        rows = named_rows(kg, spec["chunk"], spec["table"], spec.get("spans"))
        if spec.get("n", 0) >= len(rows):
            raise ComputeError(f"{spec['chunk']} names {len(rows)} rows of {spec['table']}")
        return kg.g.nodes[rows[spec.get("n", 0)]]["name"]
    if op == "related":
        return kg.g.nodes[related_edge(kg, spec)[1]]["name"]
    if op == "count_named":
        return sum(1 for e in spec["entities"] if any(named_by(kg, ch, e) for ch in spec["chunks"]))
    if op == "entity":  # the entity name of a cell
        return _cell_entity(kg, args[0])
    if op == "relation":
        return _ref(kg, {"rel": args[0]["rel"]})
    if op == "count_tail":  # relation edges (args) whose tail is the named entity
        return sum(1 for x in args if _ref(kg, {"rel": x["rel"]}) == spec["tail"])
    if op == "shared":  # head of args[1] when both relations point at the same tail
        t0, t1 = _ref(kg, {"rel": args[0]["rel"]}), _ref(kg, {"rel": args[1]["rel"]})
        if t0 != t1:
            raise ComputeError("relations do not share a tail")
        return _ref(kg, {"head": args[1]["rel"]})
    if op == "formula":
        bind = {k: _ref(kg, v) for k, v in spec["bind"].items()}
        return solve_formula(kg, spec["formula"], spec["target"], bind)
    if op == "symbol":  # the formula variable that stands for a quantity
        q = kg.g.nodes[spec["formula"]]["quantities"]
        hits = [s for s, name in q.items() if name == spec["quantity"]]
        if len(hits) != 1:
            raise ComputeError(f"{len(hits)} symbols for {spec['quantity']!r}")
        return hits[0]
    if op == "claim":  # is the claimed answer the inner computation's answer? (a true/false question)
        from .lang import text

        ok = render(evaluate(kg, args[0]), args[0]) == spec["claim"]
        return text(spec.get("language", "en"), "yes" if ok else "no")
    if op == "walk":
        cur, _ = walk(kg, spec)
        return float(cur) if not isinstance(cur, str) else kg.g.nodes[cur]["name"]
    if op == "stated_symbol":  # the formula variable bound to the column of a cell the passage states
        u, t, d = _edge(kg, spec["stated_cell"])
        text = kg.g.nodes[spec["chunk"]]["text"]
        if str(d["raw"]) not in text and fmt_num(d["value"]) not in text:
            raise ComputeError(f"{spec['chunk']} does not state {d['raw']}")
        hits = [x for x, (tt, col) in kg.formula_columns(spec["formula"]).items() if tt == t and col == d["name"]]
        if len(hits) != 1:
            raise ComputeError(f"{len(hits)} symbols for column {d['name']!r}")
        return hits[0]
    if op == "larger":  # label of the larger of two labelled values
        vals = [_ref(kg, x) for x in args]
        if vals[0] == vals[1]:
            raise ComputeError("larger: tie")
        return spec["labels"][0 if vals[0] > vals[1] else 1]
    if op == "concat":
        return "; ".join(str(render(_ref(kg, x), x if isinstance(x, dict) else {})) for x in args)
    raise ComputeError(f"unknown op {op!r}")


def named_by(kg: KG, chunk: str, entity: str) -> str | None:
    """The key of the mention edge chunk -> entity, or None."""
    return next((k for k, d in kg.g.get_edge_data(chunk, entity, default={}).items() if d["type"] == "mentions"), None)


def named_rows(kg: KG, chunk: str, table: str, spans: list | None = None) -> list[str]:
    """The distinct row entities of `table` that `chunk` mentions, in reading order (mention spans); with
    `spans` ([start, end) ranges of the chunk's text a record shows) only mentions inside them."""
    rows = {u for u, _, d in kg.g.in_edges(table, data=True) if d["type"] == "row_of"}
    base = kg.g.nodes[chunk]["span"][0]

    def shown(sp) -> bool:
        return spans is None or any(a <= sp[0] - base and sp[1] - base <= b for a, b in spans)

    ms = sorted((d["provenance"]["span"][0], v) for _, v, d in kg.g.out_edges(chunk, data=True)
                if d["type"] == "mentions" and v in rows and shown(d["provenance"]["span"]))
    return list(dict.fromkeys(v for _, v in ms))


def related_edge(kg: KG, spec: dict) -> tuple[str, str, str]:
    """(head, tail, key) of the relation `spec['name']` of the row an inner op names, in `spec['table']`."""
    name = evaluate(kg, spec["args"][0])
    for u, w, k, d in relation_edges(kg):
        if d["name"] == spec["name"] and d.get("table") == spec.get("table") \
                and kg.g.nodes[u]["name"] == name:
            return u, w, k
    raise ComputeError(f"no {spec['name']!r} relation for {name!r}")


def walk(kg: KG, spec: dict) -> tuple:
    """Follow a multi-hop chain on the graph: (the end entity id, or the value its final attribute hop reads;
    the edge keys read, as [("cell" | "rel", key)]). Every hop must lead to exactly one entity.

    spec: {"start": {"entity": id} | {"table", "column", "value"} (the one row with that value: an entity
    described by its attribute, never named), "steps": [{"relation": name, "dir": "out" | "in", "table": id (optional: that table's
    relation only; a merged entity may have the same relation in several documents)}], "attr":
    {"table", "column"} (optional final hop: read that cell)}."""
    used: list[tuple[str, str]] = []
    st = spec["start"]
    if "entity" in st:
        cur = st["entity"]
    else:
        hits = [(u, k) for u, _, k, d in kg.g.in_edges(st["table"], keys=True, data=True) if d["type"] == "has_attribute"
                and d["name"] == st["column"] and isinstance(d["value"], (int, float)) and d["value"] == st["value"]]
        if len(hits) != 1:
            raise ComputeError(f"{len(hits)} rows with {st['column']} = {st['value']}")
        cur, k = hits[0]
        used.append(("cell", k))
    seen = [cur]
    for step in spec["steps"]:
        it = kg.g.out_edges(cur, keys=True, data=True) if step["dir"] == "out" else kg.g.in_edges(cur, keys=True, data=True)
        nxt = [((w if step["dir"] == "out" else u), k) for u, w, k, d in it
               if d["type"] == "relation" and d["name"] == step["relation"]
               and ("table" not in step or d.get("table") == step["table"])]
        nxt = [(n, k) for n, k in nxt if n not in seen]
        if len({n for n, _ in nxt}) != 1:
            raise ComputeError(f"hop {step} from {cur}: {len(nxt)} entities")
        cur, k = nxt[0]
        used.append(("rel", k))
        seen.append(cur)
    if spec.get("attr"):
        a = spec["attr"]
        k = next((k for _, t, k, d in kg.g.out_edges(cur, keys=True, data=True) if t == a["table"]
                  and d["type"] == "has_attribute" and d["name"] == a["column"] and isinstance(d["value"], (int, float))), None)
        if k is None:
            raise ComputeError(f"no {a['column']!r} for {cur}")
        used.append(("cell", k))
        return kg.g.edges[cur, a["table"], k]["value"], used
    return cur, used


def spec_refs(spec) -> list[str]:
    """Every edge key a compute spec reads (cells, relations, heads), in order."""
    out = []
    if isinstance(spec, dict):
        for k in ("cell", "rel", "head", "stated_cell"):
            if k in spec:
                out.append(spec[k])
        for v in spec.values():
            out += spec_refs(v)
    elif isinstance(spec, list):
        for v in spec:
            out += spec_refs(v)
    return out


def fmt_num(x: float, decimals: int | None = None) -> str:
    """Canonical number text: rounded to `decimals` (if given), no trailing zeros, no '-0'."""
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and decimals is None):
        return str(int(x))
    x = round(float(x), 6 if decimals is None else decimals)
    s = f"{x:.{6 if decimals is None else decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def render(value, spec: dict) -> str:
    if isinstance(value, str):
        return value
    return fmt_num(value, spec.get("round"))
