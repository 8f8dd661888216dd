"""Answers as computations on the graph: a small expression language stored in provenance.

A spec is `{"op": name, "args": [...], ...}`; an argument is a spec or a reference:

    {"cell": edge_key}      the value of a has_attribute edge (a table cell)
    {"rel": edge_key}       the tail entity's name of a relation edge
    {"head": edge_key}      the head entity's name of a relation / has_attribute edge
    {"num": 3.5}            a literal (a number stated in the question)

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
    if op == "larger":  # label of the larger of two labelled values
        vals = [_ref(kg, x) for x in args]
        if vals[0] == vals[1]:
            raise ComputeError("larger: tie")
        return spec["labels"][0 if vals[0] > vals[1] else 1]
    if op == "concat":
        return "; ".join(str(render(_ref(kg, x), x if isinstance(x, dict) else {})) for x in args)
    raise ComputeError(f"unknown op {op!r}")


def spec_refs(spec) -> list[str]:
    """Every edge key a compute spec reads (cells, relations, heads), in order."""
    out = []
    if isinstance(spec, dict):
        for k in ("cell", "rel", "head"):
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
