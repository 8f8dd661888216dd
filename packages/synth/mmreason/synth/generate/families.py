"""Template question families: each computes its answer from the graph and writes the reasoning.

`FAMILIES[name](view, rng) -> Draft | None` (None: the path does not fit this family). Register
your own with `@family("name")`; a task type YAML lists the families it asks.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable

from ..kg.tables import singular
from .compute import ComputeError, evaluate, fmt_num, render
from .view import Draft, View, cn

FAMILIES: dict[str, Callable[[View, random.Random], Draft | None]] = {}


def family(name: str, pick: Callable[[View, random.Random], tuple | None] | None = None):
    """Register `fn` as family `name`. With `pick`, the family applies only where `pick(v, rng)` finds
    something, and `fn(v, rng, *picked)` receives it."""

    def deco(fn):
        run = fn if pick is None else _after_pick(pick, fn)
        FAMILIES[name] = run
        return run

    return deco


def _after_pick(pick, fn):
    @functools.wraps(fn)
    def run(v: View, rng: random.Random):
        got = pick(v, rng)
        return fn(v, rng, *got) if got else None

    return run


def make_choice(correct: str, pool: list[str], rng: random.Random, k: int = 4) -> tuple[list[str], str] | None:
    """Options: the correct text and up to k-1 distinct distractors from `pool`, shuffled; (choices, letter)."""
    others = sorted({p for p in pool if p != correct})
    if not others:
        return None
    opts = rng.sample(others, min(k - 1, len(others))) + [correct]
    rng.shuffle(opts)
    return opts, chr(65 + opts.index(correct))


def _u(unit: str | None) -> str:
    return f" (in {unit})" if unit else ""


def _us(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def _finish(fam: str, question: str, spec: dict, cot: list[str], facts: list[str], v: View, rng: random.Random,
            pool: list[str] | None = None, as_choice: bool | None = None, answer_type: str = "number", **kw) -> Draft | None:
    """Evaluate the spec on the graph, phrase the answer (a choice when `pool` gives distractors).
    A question with an empty slot ("the  of 0.0016") is no question."""
    if empty_slot(question):
        return None
    try:
        value = evaluate(v.kg, spec)
    except (ComputeError, ZeroDivisionError, ValueError, TypeError):
        return None
    ans = render(value, spec)
    if spec["op"] in ("relation", "shared") and re.search(rf"(?<!\w){re.escape(ans)}(?!\w)", question):
        return None  # the answer is part of a name the question uses ("the strategy of Llama (Full)?" -> Full)
    if as_choice is None:
        as_choice = pool is not None
    if as_choice:
        made = make_choice(ans, pool or [], rng)
        if made is None:
            return None
        choices, letter = made
        cot = cot + [f"The matching option is {letter} ({ans})."]
        return Draft(fam, question, letter, "choice", spec, cot, facts, choices, operation=spec["op"], **kw)
    if isinstance(value, str):
        answer_type = "text"
    return Draft(fam, question, ans, answer_type, spec, cot, facts, operation=spec["op"], **kw)


_EMPTY_SLOT = re.compile(r"\s{2,}|\bthe\s+(?:of|in|for|by|and|or)\b|\b(?:of|in|for|by)\s+(?:of|in|for|by)\b|\(\s*\)"
                         r"|\s[?,.:;]|^\s|\b(?:the|of|for|by)\s*[?.]?$")


def empty_slot(question: str) -> bool:
    """Whether a template left a slot empty: "Add the  of 0.0016 in Table 6", "the  rows", "( )"."""
    return bool(_EMPTY_SLOT.search(question.split("\n")[0]))


def _table_col(v: View, rng, complete: bool = False) -> tuple[str, str] | None:
    """(a shown table with numeric columns, one of its numeric columns); `complete`: only columns with a
    number in every row (what "over all rows" questions need)."""
    opts = [(t, c) for t in v.tables for c in v.numeric_columns(t) if not complete or v.complete(t, c)]
    if not opts:
        return None
    t = rng.choice([t for t in v.tables if any(tt == t for tt, _ in opts)])
    return t, rng.choice([c for tt, c in opts if tt == t])


def _table_col_all(v: View, rng):
    return _table_col(v, rng, complete=True)


# =============================================================== tables (shown as text)
@family("table_lookup", pick=_table_col)
def table_lookup(v: View, rng, t, col):
    c = rng.choice(v.num_cells(t, col))
    unit = v.unit(t, col)
    q = f"According to {v.label(t)}, what is the {cn(col)} of {c['entity']}{_u(unit)}?"
    cot = [f"{v.label(t)} lists {c['entity']} with {cn(col)} {c['raw']}."]
    return _finish("table_lookup", q, {"op": "value", "args": [{"cell": c["key"]}]}, cot, [c["key"]], v, rng)


def _two_cells(v: View, rng):
    got = _table_col(v, rng)
    if not got:
        return None
    t, col = got
    a, b = rng.sample(v.num_cells(t, col), 2)
    return t, col, a, b, v.unit(t, col)


@family("table_diff", pick=_two_cells)
def table_diff(v: View, rng, t, col, a, b, unit):
    q = f"Using {v.label(t)}, what is the {cn(col)} of {a['entity']} minus the {cn(col)} of {b['entity']}{_u(unit)}?"
    spec = {"op": "sub", "args": [{"cell": a["key"]}, {"cell": b["key"]}], "round": 4}
    cot = [f"{a['entity']}: {cn(col)} = {a['raw']}.", f"{b['entity']}: {cn(col)} = {b['raw']}.",
           f"{fmt_num(a['value'])} - {fmt_num(b['value'])} = {fmt_num(a['value'] - b['value'], 4)}."]
    return _finish("table_diff", q, spec, cot, [a["key"], b["key"]], v, rng)


@family("table_ratio", pick=_two_cells)
def table_ratio(v: View, rng, t, col, a, b, _unit):
    if not b["value"]:
        return None
    q = (f"Using {v.label(t)}, divide the {cn(col)} of {a['entity']} by that of {b['entity']}. "
         "Round the result to 2 decimal places.")
    spec = {"op": "div", "args": [{"cell": a["key"]}, {"cell": b["key"]}], "round": 2}
    cot = [f"{a['entity']}: {a['raw']}; {b['entity']}: {b['raw']}.",
           f"{fmt_num(a['value'])} / {fmt_num(b['value'])} = {fmt_num(a['value'] / b['value'], 4)} ≈ "
           f"{fmt_num(a['value'] / b['value'], 2)}."]
    return _finish("table_ratio", q, spec, cot, [a["key"], b["key"]], v, rng)


@family("table_sum", pick=_table_col_all)
def table_sum(v: View, rng, t, col):
    cells = v.num_cells(t, col)
    op = rng.choice(["sum", "mean"])
    word = "total" if op == "sum" else "average"
    q = (f"What is the {word} {cn(col)} over all {v.key_type(t)} rows of {v.label(t)}{_u(v.unit(t, col))}? "
         "Round to 2 decimal places.")
    spec = {"op": op, "args": [{"cell": c["key"]} for c in cells], "round": 2}
    vals = [c["value"] for c in cells]
    res = sum(vals) if op == "sum" else sum(vals) / len(vals)
    cot = [f"The {cn(col)} values are {', '.join(c['raw'] for c in cells)}.",
           f"Their sum is {fmt_num(sum(vals), 4)}" + ("." if op == "sum" else f"; divided by {len(vals)} gives {fmt_num(res, 4)}."),
           f"Rounded: {fmt_num(res, 2)}."]
    return _finish("table_sum", q, spec, cot, [c["key"] for c in cells], v, rng)


def _arg(fam: str, op: str, v: View, rng, t: str, col: str, where: str, image: bool = False):
    cells = v.num_cells(t, col)
    word = "largest" if op == "argmax" else "smallest"
    q = f"Which {v.key_type(t)} has the {word} {cn(col)} {where}?"
    spec = {"op": op, "args": [{"cell": c["key"]} for c in cells]}
    best = (max if op == "argmax" else min)(cells, key=lambda c: c["value"])
    if image:
        cot = [f"{where[0].upper() + where[1:]} there is one bar per {v.key_type(t)}; the {word} one is {best['entity']}."]
    else:
        cot = [f"The {cn(col)} values are " + ", ".join(f"{c['entity']} {c['raw']}" for c in cells) + ".",
               f"The {word} is {best['raw']}, for {best['entity']}."]
    as_choice = image or rng.random() < 0.5
    return _finish(fam, q, spec, cot, [c["key"] for c in cells], v, rng, pool=[c["entity"] for c in cells],
                   as_choice=as_choice)


@family("table_argmax", pick=_table_col_all)
def table_argmax(v: View, rng, t, col):
    return _arg("table_argmax", "argmax", v, rng, t, col, f"in {v.label(t)}")


@family("table_argmin", pick=_table_col_all)
def table_argmin(v: View, rng, t, col):
    return _arg("table_argmin", "argmin", v, rng, t, col, f"in {v.label(t)}")


def _threshold(vals: list[float], rng) -> float | None:
    """A threshold in a clear gap between two adjacent values (≥ 10% of the range), rounded."""
    s = sorted(set(vals))
    span = (s[-1] - s[0]) or 1.0
    gaps = [(a, b) for a, b in zip(s, s[1:]) if b - a >= 0.1 * span]
    if not gaps:
        return None
    a, b = rng.choice(gaps)
    mid = (a + b) / 2
    for d in (-3, -2, -1, 0, 1, 2, 3):  # the roundest number inside the gap's middle half
        step = 10.0 ** (-d)
        r = round(mid / step) * step
        if a + (b - a) / 4 <= r <= b - (b - a) / 4:
            return float(fmt_num(r, max(d, 0)))
    return float(fmt_num(mid, 3))


@family("table_count_gt", pick=_table_col_all)
def table_count_gt(v: View, rng, t, col):
    cells = v.num_cells(t, col)
    thr = _threshold([c["value"] for c in cells], rng)
    if thr is None:
        return None
    q = f"How many {v.key_type(t)} rows of {v.label(t)} have a {cn(col)} greater than {fmt_num(thr)}{_us(v.unit(t, col))}?"
    spec = {"op": "count_gt", "args": [{"cell": c["key"]} for c in cells], "threshold": thr}
    above = [c["entity"] for c in cells if c["value"] > thr]
    cot = [f"Values above {fmt_num(thr)}: {', '.join(above) or 'none'}.", f"That is {len(above)}."]
    return _finish("table_count_gt", q, spec, cot, [c["key"] for c in cells], v, rng)


@family("table_compare", pick=_two_cells)
def table_compare(v: View, rng, t, col, a, b, _unit):
    if a["value"] == b["value"]:
        return None
    q = f"According to {v.label(t)}, which has the larger {cn(col)}: {a['entity']} or {b['entity']}?"
    spec = {"op": "argmax", "args": [{"cell": a["key"]}, {"cell": b["key"]}]}
    hi = a if a["value"] > b["value"] else b
    cot = [f"{a['entity']}: {cn(col)} = {a['raw']}; {b['entity']}: {cn(col)} = {b['raw']}.", f"The larger is {hi['entity']}."]
    return _finish("table_compare", q, spec, cot, [a["key"], b["key"]], v, rng, pool=[a["entity"], b["entity"]])


@family("table_rank", pick=_table_col_all)
def table_rank(v: View, rng, t, col):
    cells = v.num_cells(t, col)
    vals = [c["value"] for c in cells]
    uniq = [c for c in cells if vals.count(c["value"]) == 1]
    if len(cells) < 3 or not uniq:
        return None
    me = rng.choice(uniq)
    q = (f"Rank the {v.key_type(t)} rows of {v.label(t)} by {cn(col)}, largest first. At which position is "
         f"{me['entity']}?")
    spec = {"op": "rank_desc", "args": [{"cell": me["key"]}] + [{"cell": c["key"]} for c in cells if c is not me]}
    order = sorted(cells, key=lambda c: -c["value"])
    cot = ["By " + cn(col) + ": " + " > ".join(f"{c['entity']} ({c['raw']})" for c in order) + ".",
           f"{me['entity']} is at position {order.index(me) + 1}."]
    return _finish("table_rank", q, spec, cot, [c["key"] for c in cells], v, rng)


def _category(v: View, rng):
    """(table, relation name, tail entity id, the table's edges of that relation) for a categorical column
    filled in every row, with a value that more than one row (but not every row) has, when possible."""
    opts = []
    for t in v.tables:
        by_name: dict[str, list] = {}
        for e in v.relations_of_table(t):
            by_name.setdefault(e[3]["name"], []).append(e)
        for name, es in by_name.items():
            if len({u for u, *_ in es}) != v.row_count(t) or len(es) != v.row_count(t) or len(es) < 3:
                continue
            tails = [w for _, w, _, _ in es]
            vals = sorted(set(tails), key=lambda w: (-tails.count(w), w))
            if 1 < len(vals) < len(es):
                opts.append((t, name, rng.choice(vals[:max(1, len(vals) // 2)]), es))
    return rng.choice(opts) if opts else None


@family("table_category_count", pick=_category)
def table_category_count(v: View, rng, t, name, tail, es):
    tname = v.node(tail)["name"]
    q = f"How many {v.key_type(t)} rows of {v.label(t)} have {name} {tname}?"
    spec = {"op": "count_tail", "args": [{"rel": k} for _, _, k, _ in es], "tail": tname}
    heads = [v.node(u)["name"] for u, w, _, _ in es if w == tail]
    cot = [f"Rows of {v.label(t)} with {name} {tname}: {', '.join(heads)}.", f"That is {len(heads)}."]
    return _finish("table_category_count", q, spec, cot, [k for _, _, k, _ in es], v, rng)


@family("table_relation")
def table_relation(v: View, rng):
    rels = [r for t in v.tables for r in v.relations_of_table(t)]
    if not rels:
        return None
    u, w, k, d = rng.choice(rels)
    pool = [v.g.nodes[x[1]]["name"] for x in rels if x[3]["name"] == d["name"]]
    head = v.g.nodes[u]["name"]
    q = f"According to {v.label(d['table'])}, what is the {d['name']} entry for {head}?"
    cot = [f"In {v.label(d['table'])}, the row of {head} has {d['name']} {v.g.nodes[w]['name']}."]
    return _finish("table_relation", q, {"op": "relation", "args": [{"rel": k}]}, cot, [k], v, rng, pool=pool,
                   as_choice=rng.random() < 0.6)


# =============================================================== passages + tables
def _passage_entity(v: View, rng):
    """(chunk, table, first mentioned row entity, mention edge key) for a chunk that names a row entity."""
    opts = []
    for ch in v.chunks:
        for t in v.tables or [v.chart(i)[0] for i in v.charts]:
            rows = {c["entity_id"] for c in v.cells(t)}
            ms = [(e, k) for _, e, k in v.mentions(ch) if e in rows]
            if ms:
                opts.append((ch, t, ms[0][0], ms[0][1]))
    return rng.choice(opts) if opts else None


@family("passage_lookup", pick=_passage_entity)
def passage_lookup(v: View, rng, ch, t, ent, mk):
    cols = v.numeric_columns(t)
    if not cols:
        return None
    col = rng.choice(cols)
    cell = next((c for c in v.num_cells(t, col) if c["entity_id"] == ent), None)
    if not cell:
        return None
    n = v.passage_no(ch)
    q = (f"Take the first {v.key_type(t)} named in Passage {n}. What is its {cn(col)} according to "
         f"{v.label(t)}{_u(v.unit(t, col))}?")
    cot = [f"Passage {n} first names {cell['entity']}.", f"{v.label(t)} gives its {cn(col)} as {cell['raw']}."]
    return _finish("passage_lookup", q, {"op": "value", "args": [{"cell": cell["key"]}]}, cot, [mk, cell["key"]], v, rng)


@family("passage_rank", pick=_passage_entity)
def passage_rank(v: View, rng, ch, t, ent, mk):
    cols = [c for c in v.numeric_columns(t) if v.complete(t, c)]
    if not cols:
        return None
    col = rng.choice(cols)
    cells = v.num_cells(t, col)
    me = next((c for c in cells if c["entity_id"] == ent), None)
    if not me or [c["value"] for c in cells].count(me["value"]) > 1:
        return None
    n = v.passage_no(ch)
    q = (f"Rank the {v.key_type(t)} rows of {v.label(t)} by {cn(col)}, largest first. At which position is the "
         f"first {v.key_type(t)} named in Passage {n}?")
    others = [c for c in cells if c is not me]
    spec = {"op": "rank_desc", "args": [{"cell": me["key"]}] + [{"cell": c["key"]} for c in others]}
    order = sorted(cells, key=lambda c: -c["value"])
    cot = [f"Passage {n} first names {me['entity']}.",
           "By " + cn(col) + ": " + " > ".join(f"{c['entity']} ({c['raw']})" for c in order) + ".",
           f"{me['entity']} is at position {order.index(me) + 1}."]
    return _finish("passage_rank", q, spec, cot, [mk] + [c["key"] for c in cells], v, rng)


def _stated_facts(v: View) -> list[tuple[str, dict, str]]:
    """(chunk, cell, mention key) where a passage states a table cell of an entity it mentions."""
    out = []
    for ch in v.chunks:
        text = v.node(ch)["text"]
        for _, e, mk in v.mentions(ch):
            for _, t, k, d in v.g.out_edges(e, keys=True, data=True):
                if d["type"] == "has_attribute" and isinstance(d["value"], (int, float)) and d["raw"] in text \
                        and d["name"].lower() in text.lower():
                    cell = next(c for c in v.cells(t, d["name"]) if c["key"] == k)
                    out.append((ch, cell, mk))
    return out


@family("passage_fact")
def passage_fact(v: View, rng):
    facts = _stated_facts(v)
    if not facts:
        return None
    ch, c, mk = rng.choice(facts)
    n = v.passage_no(ch)
    q = f"According to the passages, what is the {cn(c['column'])} of {c['entity']}{_u(c['unit'])}?"
    cot = [f"Passage {n} states the {cn(c['column'])} of {c['entity']}: {c['raw']}."]
    return _finish("passage_fact", q, {"op": "value", "args": [{"cell": c["key"]}]}, cot, [mk, c["key"]], v, rng)


@family("passage_count")
def passage_count(v: View, rng):
    types: dict[str, dict[str, str]] = {}
    for ch in v.chunks:
        for _, e, mk in v.mentions(ch):
            types.setdefault(v.node(e)["entity_type"], {}).setdefault(e, mk)
    text = " ".join(v.node(ch)["text"] for ch in v.chunks).lower()
    # only a kind of entity the passages themselves name ("strategies", "compounds"): else what counts is unclear
    types = {t: es for t, es in types.items() if len(es) >= 2 and singular(t.lower().split()[-1]) in text}
    if not types:
        return None
    et = rng.choice(sorted(types))
    es = types[et]
    q = f"How many different {cn(et)} entities are named across the passages?"
    names = sorted(v.node(e)["name"] for e in es)
    spec = {"op": "count_gt", "args": [{"num": 1}] * len(es), "threshold": 0}
    cot = [f"The passages name these {cn(et)} entities: {', '.join(names)}.", f"That is {len(es)}."]
    return _finish("passage_count", q, spec, cot, sorted(es.values()), v, rng)


@family("passage_relation")
def passage_relation(v: View, rng):
    opts = []
    for ch in v.chunks:
        text = v.node(ch)["text"]
        for _, e, mk in v.mentions(ch):
            for _, w, k, d in v.g.out_edges(e, keys=True, data=True):
                if d["type"] == "relation" and v.node(w)["name"] in text and d["name"].lower() in text.lower():
                    opts.append((ch, e, w, k, d, mk))
    if not opts:
        return None
    ch, e, w, k, d, mk = rng.choice(opts)
    pool = [v.node(x)["name"] for _, x, kk, dd in v.kg.edges_of("relation") if dd["name"] == d["name"]
            and v.node(x)["entity_type"] == v.node(w)["entity_type"]]
    q = f"According to the passages, what is the {d['name']} entry for {v.node(e)['name']}?"
    cot = [f"Passage {v.passage_no(ch)} gives the {d['name']} entry for {v.node(e)['name']}: {v.node(w)['name']}."]
    return _finish("passage_relation", q, {"op": "relation", "args": [{"rel": k}]}, cot, [mk, k], v, rng, pool=pool)


# =============================================================== entities
def _entity_rel(v: View):
    for a, b in zip(v.nodes, v.nodes[1:]):
        for _, w, k, d in v.g.out_edges(a, keys=True, data=True):
            if w == b and d["type"] == "relation":
                return a, b, k, d
    return None


def entity_facts(v: View, rel_name: str, table: str | None) -> list[tuple[str, str, str, dict]]:
    """The relation edges shown as evidence for Entity tasks: same relation name and source table."""
    return sorted([(u, w, k, d) for u, w, k, d in v.kg.edges_of("relation") if d["name"] == rel_name
                   and d.get("table") == table], key=lambda e: (e[3].get("row", 0), e[2]))


@family("entity_relation")
def entity_relation(v: View, rng):
    got = _entity_rel(v)
    if not got:
        return None
    a, b, k, d = got
    facts = entity_facts(v, d["name"], d.get("table"))
    pool = [v.node(w)["name"] for _, w, _, _ in facts] + [v.node(n)["name"] for n in v.kg.nodes_of("Entity")
                                                          if v.node(n)["entity_type"] == v.node(b)["entity_type"]]
    q = f"What is the {d['name']} entry for {v.node(a)['name']}?"
    cot = [f"The facts list ({v.node(a)['name']}, {d['name']}, {v.node(b)['name']})."]
    return _finish("entity_relation", q, {"op": "relation", "args": [{"rel": k}]}, cot, [k], v, rng, pool=pool,
                   as_choice=rng.random() < 0.5, extra_nodes=[d["table"]] if d.get("table") else [])


@family("entity_count")
def entity_count(v: View, rng):
    got = _entity_rel(v)
    if not got:
        return None
    a, b, k, d = got
    facts = entity_facts(v, d["name"], d.get("table"))
    tail = v.node(b)["name"]
    q = f"How many of the listed facts have {tail} as their {d['name']} entry?"
    spec = {"op": "count_tail", "args": [{"rel": kk} for _, _, kk, _ in facts], "tail": tail}
    heads = [v.node(u)["name"] for u, w, _, _ in facts if w == b]
    cot = [f"Facts with {d['name']} {tail}: {', '.join(heads)}.", f"That is {len(heads)}."]
    return _finish("entity_count", q, spec, cot, [kk for _, _, kk, _ in facts], v, rng,
                   extra_nodes=[d["table"]] if d.get("table") else [])


@family("entity_shared")
def entity_shared(v: View, rng):
    if len(v.nodes) != 3:
        return None
    a, x, b = v.nodes
    ka = next((k for _, w, k, d in v.g.out_edges(a, keys=True, data=True) if w == x and d["type"] == "relation"), None)
    kb = next((k for _, w, k, d in v.g.out_edges(b, keys=True, data=True) if w == x and d["type"] == "relation"), None)
    if not ka or not kb:
        return None
    d = v.kg.g.edges[a, x, ka]
    facts = entity_facts(v, d["name"], d.get("table"))
    sharing = [u for u, w, _, _ in facts if w == x and u != a]
    if sharing != [b]:  # the answer must be unique
        return None
    pool = [v.node(u)["name"] for u, w, _, _ in facts if w != x]
    q = f"Which other {cn(v.node(a)['entity_type'])} has the same {d['name']} entry as {v.node(a)['name']}?"
    cot = [f"{v.node(a)['name']} has {d['name']} {v.node(x)['name']}.",
           f"The only other entry with {v.node(x)['name']} is {v.node(b)['name']}."]
    return _finish("entity_shared", q, {"op": "shared", "args": [{"rel": ka}, {"rel": kb}]}, cot, [ka, kb], v, rng,
                   pool=pool, extra_nodes=[d["table"]] if d.get("table") else [])


# =============================================================== multi-table
def _two_tables(v: View, rng):
    full = {t: [c for c in v.numeric_columns(t) if v.complete(t, c)] for t in v.tables}
    ts = [t for t in v.tables if full[t]]
    if len(ts) < 2:
        return None
    t1, t2 = ts[:2] if rng.random() < 0.5 else ts[1::-1][:2]
    return t1, rng.choice(full[t1]), t2, rng.choice(full[t2])


def _multi_arg(fam, op, v, rng, pairs, image=False):
    word = "largest" if op == "argmax" else "smallest"
    args, facts, names, pools = [], [], [], []
    for t, col, _where in pairs:
        cells = v.num_cells(t, col)
        args.append({"op": op, "args": [{"cell": c["key"]} for c in cells]})
        facts += [c["key"] for c in cells]
        best = (max if op == "argmax" else min)(cells, key=lambda c: c["value"])
        names.append(best["entity"])
        pools.append([c["entity"] for c in cells])
    (t1, c1, w1), (t2, c2, w2) = pairs
    q = (f"Give the {v.key_type(t1)} with the {word} {cn(c1)} {w1} and the {v.key_type(t2)} with the {word} "
         f"{cn(c2)} {w2}, as 'first; second'.")
    pool = [f"{x}; {y}" for x in pools[0] for y in pools[1]]
    cot = [f"{w1[0].upper() + w1[1:]}: the {word} {cn(c1)} is {names[0]}.",
           f"{w2[0].upper() + w2[1:]}: the {word} {cn(c2)} is {names[1]}."]
    return _finish(fam, q, {"op": "concat", "args": args}, cot, facts, v, rng, pool=pool, as_choice=image or rng.random() < 0.5)


@family("multi_table_argmax", pick=_two_tables)
def multi_table_argmax(v: View, rng, t1, c1, t2, c2):
    op = rng.choice(["argmax", "argmin"])
    return _multi_arg("multi_table_argmax", op, v, rng, [(t1, c1, f"in {v.label(t1)}"), (t2, c2, f"in {v.label(t2)}")])


def _multi_count(fam, v, rng, pairs):
    args, facts, cot, parts = [], [], [], []
    for t, col, where in pairs:
        cells = v.num_cells(t, col)
        thr = _threshold([c["value"] for c in cells], rng)
        if thr is None:
            return None
        args.append({"op": "count_gt", "args": [{"cell": c["key"]} for c in cells], "threshold": thr})
        facts += [c["key"] for c in cells]
        n = sum(c["value"] > thr for c in cells)
        parts.append(f"{cn(col)} above {fmt_num(thr)}{_us(v.unit(t, col))} {where}")
        cot.append(f"{where[0].upper() + where[1:]}: {n} {v.key_type(t)} rows have {cn(col)} above {fmt_num(thr)}.")
    q = f"Count the rows with {parts[0]}, plus the rows with {parts[1]}. What is the total?"
    spec = {"op": "add", "args": args}
    cot.append(f"Total: {evaluate(v.kg, args[0])} + {evaluate(v.kg, args[1])}.")
    return _finish(fam, q, spec, cot, facts, v, rng)


@family("multi_table_count", pick=_two_tables)
def multi_table_count(v: View, rng, t1, c1, t2, c2):
    return _multi_count("multi_table_count", v, rng, [(t1, c1, f"in {v.label(t1)}"), (t2, c2, f"in {v.label(t2)}")])


@family("multi_table_sum", pick=_two_tables)
def multi_table_sum(v: View, rng, t1, c1, t2, c2):
    a, b = rng.choice(v.num_cells(t1, c1)), rng.choice(v.num_cells(t2, c2))
    q = (f"Add the {cn(c1)} of {a['entity']} in {v.label(t1)} to the {cn(c2)} of {b['entity']} in "
         f"{v.label(t2)} (ignore units). What is the sum?")
    spec = {"op": "add", "args": [{"cell": a["key"]}, {"cell": b["key"]}], "round": 4}
    cot = [f"{v.label(t1)}: {a['entity']} {cn(c1)} = {a['raw']}.", f"{v.label(t2)}: {b['entity']} {cn(c2)} = {b['raw']}.",
           f"{fmt_num(a['value'])} + {fmt_num(b['value'])} = {fmt_num(a['value'] + b['value'], 4)}."]
    return _finish("multi_table_sum", q, spec, cot, [a["key"], b["key"]], v, rng)


@family("join_lookup")
def join_lookup(v: View, rng):
    if len(v.tables) != 2:
        return None
    t1, t2 = v.tables if rng.random() < 0.5 else v.tables[::-1]
    c1s, c2s = v.numeric_columns(t1), v.numeric_columns(t2)
    if not c1s or not c2s:
        return None
    c1, c2 = rng.choice(c1s), rng.choice(c2s)
    op = rng.choice(["argmax", "argmin"])
    cells = v.num_cells(t1, c1)
    inner = {"op": op, "args": [{"cell": c["key"]} for c in cells]}
    try:
        who = evaluate(v.kg, inner)
    except ComputeError:
        return None
    target = next((c for c in v.num_cells(t2, c2) if c["entity"] == who), None)
    if not target:
        return None
    word = "largest" if op == "argmax" else "smallest"
    q = (f"Find the {v.key_type(t1)} with the {word} {cn(c1)} in {v.label(t1)}. What is its {cn(c2)} in "
         f"{v.label(t2)}{_u(v.unit(t2, c2))}?")
    spec = {"op": "attr", "args": [inner], "table": t2, "column": c2}
    cot = [f"In {v.label(t1)} the {word} {cn(c1)} belongs to {who}.", f"{v.label(t2)} lists {who} with {cn(c2)} {target['raw']}."]
    return _finish("join_lookup", q, spec, cot, [c["key"] for c in cells] + [target["key"]], v, rng)


# =============================================================== charts (the plotted table is never shown)
def _pick_chart(v: View, rng):
    cs = [(i, *c) for i in v.charts if (c := v.chart(i))]
    cs = [c for c in cs if len(v.num_cells(c[1], c[2])) >= 2 and v.complete(c[1], c[2])]
    return rng.choice(cs) if cs else None


@family("chart_argmax", pick=_pick_chart)
def chart_argmax(v: View, rng, i, t, col):
    return _arg("chart_argmax", "argmax", v, rng, t, col, f"in {v.label(i)}", image=True)


@family("chart_argmin", pick=_pick_chart)
def chart_argmin(v: View, rng, i, t, col):
    return _arg("chart_argmin", "argmin", v, rng, t, col, f"in {v.label(i)}", image=True)


@family("chart_value", pick=_pick_chart)
def chart_value(v: View, rng, i, t, col):
    cells = v.num_cells(t, col)
    c = rng.choice(cells)
    q = f"Read {v.label(i)}: what is the {cn(col)} of {c['entity']}{_u(v.unit(t, col))}?"
    cot = [f"In {v.label(i)} the bar of {c['entity']} reaches {fmt_num(c['value'])}."]
    return _finish("chart_value", q, {"op": "value", "args": [{"cell": c["key"]}]}, cot, [c["key"]], v, rng,
                   pool=[fmt_num(x["value"]) for x in cells], extra_nodes=[t])


@family("chart_compare", pick=_pick_chart)
def chart_compare(v: View, rng, i, t, col):
    a, b = rng.sample(v.num_cells(t, col), 2)
    if a["value"] == b["value"]:
        return None
    q = f"In {v.label(i)}, which has the larger {cn(col)}: {a['entity']} or {b['entity']}?"
    spec = {"op": "argmax", "args": [{"cell": a["key"]}, {"cell": b["key"]}]}
    hi = a if a["value"] > b["value"] else b
    cot = [f"In {v.label(i)} the bar of {hi['entity']} is the taller of the two."]
    return _finish("chart_compare", q, spec, cot, [a["key"], b["key"]], v, rng, pool=[a["entity"], b["entity"]],
                   extra_nodes=[t])


@family("chart_count_gt", pick=_pick_chart)
def chart_count_gt(v: View, rng, i, t, col):
    cells = v.num_cells(t, col)
    thr = _threshold([c["value"] for c in cells], rng)
    if thr is None:
        return None
    q = f"How many bars in {v.label(i)} show a {cn(col)} above {fmt_num(thr)}{_us(v.unit(t, col))}?"
    spec = {"op": "count_gt", "args": [{"cell": c["key"]} for c in cells], "threshold": thr}
    above = [c["entity"] for c in cells if c["value"] > thr]
    cot = [f"Bars above {fmt_num(thr)} in {v.label(i)}: {', '.join(above) or 'none'}.", f"That is {len(above)}."]
    return _finish("chart_count_gt", q, spec, cot, [c["key"] for c in cells], v, rng, extra_nodes=[t])


@family("chart_diff", pick=_pick_chart)
def chart_diff(v: View, rng, i, t, col):
    cells = v.num_cells(t, col)
    refs = [{"cell": c["key"]} for c in cells]
    spec = {"op": "sub", "args": [{"op": "max", "args": refs}, {"op": "min", "args": refs}], "round": 4}
    vals = [c["value"] for c in cells]
    pool = [fmt_num(a - b, 4) for a in vals for b in vals if a > b]
    q = f"In {v.label(i)}, what is the difference between the tallest and the shortest bar{_u(v.unit(t, col))}?"
    cot = [f"Tallest bar: {fmt_num(max(vals))}; shortest: {fmt_num(min(vals))}.",
           f"{fmt_num(max(vals))} - {fmt_num(min(vals))} = {fmt_num(max(vals) - min(vals), 4)}."]
    return _finish("chart_diff", q, spec, cot, [c["key"] for c in cells], v, rng, pool=pool, extra_nodes=[t])


def _two_charts(v: View, rng):
    """Two charts at random, as (plotted table, column, "in Figure n")."""
    cs = [(i, *c) for i in v.charts if (c := v.chart(i)) and v.complete(*c)]
    if len(cs) < 2:
        return None
    rng.shuffle(cs)
    return [(t, c, f"in {v.label(i)}") for i, t, c in cs[:2]]


@family("multi_chart_argmax", pick=_two_charts)
def multi_chart_argmax(v: View, rng, *pairs):
    return _multi_arg("multi_chart_argmax", "argmax", v, rng, pairs, image=True)


@family("multi_chart_argmin", pick=_two_charts)
def multi_chart_argmin(v: View, rng, *pairs):
    return _multi_arg("multi_chart_argmin", "argmin", v, rng, pairs, image=True)


@family("multi_chart_count", pick=_two_charts)
def multi_chart_count(v: View, rng, *pairs):
    return _multi_count("multi_chart_count", v, rng, pairs)


@family("chart_join", pick=_pick_chart)
def chart_join(v: View, rng, i, t, col):
    if t not in v.tables:
        return None
    others = [c for c in v.numeric_columns(t) if c != col]
    if not others:
        return None
    c2 = rng.choice(others)
    op = rng.choice(["argmax", "argmin"])
    inner = {"op": op, "args": [{"cell": c["key"]} for c in v.num_cells(t, col)]}
    try:
        who = evaluate(v.kg, inner)
    except ComputeError:
        return None
    target = next(c for c in v.num_cells(t, c2) if c["entity"] == who)
    word = "tallest" if op == "argmax" else "shortest"
    q = (f"Find the {v.key_type(t)} with the {word} bar in {v.label(i)}. What is its {cn(c2)} according to "
         f"{v.label(t)}{_u(v.unit(t, c2))}?")
    spec = {"op": "attr", "args": [inner], "table": t, "column": c2}
    cot = [f"The {word} bar in {v.label(i)} is {who}.", f"{v.label(t)} lists {who} with {cn(c2)} {target['raw']}."]
    plotted = v.kg.plotted_table(i)[1]
    return _finish("chart_join", q, spec, cot, [c["key"] for c in v.num_cells(t, col)] + [target["key"]], v, rng,
                   hide_columns={t: list(plotted)}, answer_in_text_ok=True)


# =============================================================== formulas
def _formula_rows(v: View, f: str, need: list[str]):
    """Row entities whose cells bind every variable in `need`: {entity: {var: cell}}."""
    bind = v.formula_bindings(f)
    if any(x not in bind for x in need):
        return {}
    rows: dict[str, dict[str, dict]] = {}
    for var in need:
        t, col = bind[var]
        for c in v.num_cells(t, col):
            rows.setdefault(c["entity"], {})[var] = c
    return {e: r for e, r in rows.items() if len(r) == len(need)}


def _lhs(v: View, f: str) -> str | None:
    from .compute import _formula_expr

    try:
        e = _formula_expr(v.node(f)["latex"])
    except ValueError:
        return None
    lhs = getattr(e, "lhs", None)
    return str(lhs.name) if lhs is not None and getattr(lhs, "is_Symbol", False) else None


def _q(v: View, f: str, var: str) -> str:
    return v.node(f).get("quantities", {}).get(var, var)


def _given(v: View, f: str, row: dict[str, dict], vars_: list[str]) -> str:
    return ", ".join(f"{_q(v, f, x)} {x} = {row[x]['raw'] if not row[x]['unit'] or row[x]['unit'] in row[x]['raw'] else fmt_num(row[x]['value'])}"
                     f"{'' if row[x]['unit'] and row[x]['unit'] in row[x]['raw'] else _us(row[x]['unit'])}"
                     for x in vars_)


def _formula_setup(v: View, rng, solve_rhs: bool):
    fs = [f for f in v.formulas if not v.node(f).get("parse_error") and _lhs(v, f)]
    if not fs:
        return None
    f = rng.choice(fs)
    lhs = _lhs(v, f)
    variables = list(v.node(f)["variables"])
    target = rng.choice([x for x in variables if x != lhs]) if solve_rhs else lhs
    inputs = [x for x in variables if x != target]
    rows = _formula_rows(v, f, inputs)
    if not rows:
        return None
    ent = rng.choice(sorted(rows))
    return f, target, inputs, ent, rows[ent], rows


def _eval_formula(v: View, f: str, target: str, row: dict, inputs: list[str]):
    """(spec, value) of formula `f` solved for `target` with `inputs` bound to the row's cells, rounded to 2;
    None when it does not evaluate."""
    spec = {"op": "formula", "formula": f, "target": target, "bind": {x: {"cell": row[x]["key"]} for x in inputs}, "round": 2}
    try:
        return spec, evaluate(v.kg, spec)
    except ComputeError:
        return None


@family("formula_eval")
def formula_eval(v: View, rng, solve_rhs: bool = False, fam: str = "formula_eval"):
    got = _formula_setup(v, rng, solve_rhs)
    if not got:
        return None
    f, target, inputs, ent, row, _ = got
    q = (f"Using {v.label(f)}, compute the {_q(v, f, target)} {target} when {_given(v, f, row, inputs)}. "
         "Round to 2 decimal places.")
    got = _eval_formula(v, f, target, row, inputs)
    if not got:
        return None
    spec, val = got
    cot = [f"{v.label(f)}: ${v.node(f)['latex']}$.", f"Substitute {_given(v, f, row, inputs)} and solve for {target}.",
           f"{target} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
    b = v.formula_bindings(f)
    return _finish(fam, q, spec, cot, [row[x]["key"] for x in inputs], v, rng,
                   extra_nodes=sorted({b[x][0] for x in inputs}))


@family("formula_solve")
def formula_solve(v: View, rng):
    return formula_eval(v, rng, solve_rhs=True, fam="formula_solve")


@family("formula_symbol")
def formula_symbol(v: View, rng):
    fs = [f for f in v.formulas if len(v.node(f).get("quantities") or {}) >= 2]
    if not fs:
        return None
    f = rng.choice(fs)
    qs = v.node(f)["quantities"]
    var = rng.choice(sorted(qs))
    q = f"In {v.label(f)}, which symbol stands for the {qs[var]}?"
    spec = {"op": "symbol", "formula": f, "quantity": qs[var]}
    cot = [f"The text under {v.label(f)} defines {var} as the {qs[var]}."]
    return _finish("formula_symbol", q, spec, cot, [], v, rng, pool=list(v.node(f)["variables"]))


@family("formula_table")
def formula_table(v: View, rng):
    if not v.formulas or not v.tables:
        return None
    f = v.formulas[0]
    lhs = _lhs(v, f)
    if not lhs:
        return None
    inputs = [x for x in v.node(f)["variables"] if x != lhs]
    rows = _formula_rows(v, f, inputs)
    if not rows:
        return None
    ent = rng.choice(sorted(rows))
    row = rows[ent]
    bind = v.formula_bindings(f)
    t = bind[inputs[0]][0]
    hide = {t: [bind[lhs][1]]} if lhs in bind else {}
    q = (f"Using {v.label(f)} and the values in {v.label(t)}, compute the {_q(v, f, lhs)} {lhs} of {ent}. "
         "Round to 2 decimal places.")
    got = _eval_formula(v, f, lhs, row, inputs)
    if not got:
        return None
    spec, val = got
    cot = [f"{v.label(t)} gives for {ent}: {_given(v, f, row, inputs)}.", f"{v.label(f)}: ${v.node(f)['latex']}$.",
           f"{lhs} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
    return _finish("formula_table", q, spec, cot, [row[x]["key"] for x in inputs], v, rng, hide_columns=hide)


@family("formula_chain")
def formula_chain(v: View, rng):
    fs = [f for f in v.formulas if _lhs(v, f)]
    if len(fs) < 2:
        return None
    for f1, f2 in ([fs[0], fs[1]], [fs[1], fs[0]]):
        shared = sorted((set(v.node(f1)["variables"]) & set(v.node(f2)["variables"])) - {_lhs(v, f2)})
        if not shared:
            continue
        s = shared[0]
        t2 = _lhs(v, f2)
        in1 = [x for x in v.node(f1)["variables"] if x != s]
        in2 = [x for x in v.node(f2)["variables"] if x not in (s, t2)]
        r1, r2 = _formula_rows(v, f1, in1), _formula_rows(v, f2, in2)
        common = sorted(set(r1) & set(r2))
        if not common:
            continue
        ent = rng.choice(common)
        row = {**r1[ent], **r2[ent]}
        inner = {"op": "formula", "formula": f1, "target": s, "bind": {x: {"cell": row[x]["key"]} for x in in1}}
        spec = {"op": "formula", "formula": f2, "target": t2,
                "bind": {s: inner, **{x: {"cell": row[x]["key"]} for x in in2}}, "round": 2}
        try:
            mid, val = evaluate(v.kg, inner), evaluate(v.kg, spec)
        except ComputeError:
            continue
        given = ", ".join([_given(v, f1, row, in1)] + [_given(v, f2, row, [x]) for x in in2 if x not in in1])
        q = (f"A sample has {given}. Using {v.label(f1)} and then {v.label(f2)}, compute its "
             f"{_q(v, f2, t2)} {t2}. Round to 2 decimal places.")
        cot = [f"From {v.label(f1)}: {s} = {fmt_num(mid, 4)}.", f"Then {v.label(f2)}: {t2} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
        b = {**v.formula_bindings(f1), **v.formula_bindings(f2)}
        return _finish("formula_chain", q, spec, cot, [row[x]["key"] for x in in1 + in2], v, rng,
                       extra_nodes=sorted({b[x][0] for x in in1 + in2}))
    return formula_compare(v, rng)


@family("formula_compare")
def formula_compare(v: View, rng):
    fs = [f for f in v.formulas if _lhs(v, f)]
    if len(fs) < 2:
        return None
    specs, cot, facts, texts, extra = [], [], [], [], set()
    for f in fs[:2]:
        lhs = _lhs(v, f)
        inputs = [x for x in v.node(f)["variables"] if x != lhs]
        rows = _formula_rows(v, f, inputs)
        if not rows:
            return None
        ent = rng.choice(sorted(rows))
        row = rows[ent]
        specs.append({"op": "formula", "formula": f, "target": lhs, "bind": {x: {"cell": row[x]["key"]} for x in inputs}})
        facts += [row[x]["key"] for x in inputs]
        texts.append(f"{v.label(f)} with {_given(v, f, row, inputs)}")
        extra |= {v.formula_bindings(f)[x][0] for x in inputs}
        try:
            cot.append(f"{v.label(f)} gives {lhs} = {fmt_num(evaluate(v.kg, specs[-1]), 4)}.")
        except ComputeError:
            return None
    labels = [v.label(f) for f in fs[:2]]
    q = f"Evaluate {texts[0]}; and {texts[1]}. Which equation gives the larger number?"
    spec = {"op": "larger", "args": specs, "labels": labels}
    return _finish("formula_compare", q, spec, cot, facts, v, rng, pool=labels, extra_nodes=sorted(extra))


@family("chart_formula", pick=_pick_chart)
def chart_formula(v: View, rng, i, t, col):
    if not v.formulas:
        return None
    f = v.formulas[0]
    bind = v.formula_bindings(f)
    s = next((x for x, (tt, cc) in bind.items() if tt == t and cc == col), None)
    lhs = _lhs(v, f)
    if s is None or lhs is None:
        return None
    target = lhs if s != lhs else next((x for x in v.node(f)["variables"] if x != lhs and x in bind), None)
    if target is None:
        return None
    others = [x for x in v.node(f)["variables"] if x not in (target, s)]
    rows = _formula_rows(v, f, others + [s])
    if not rows:
        return None
    ent = rng.choice(sorted(rows))
    row = rows[ent]
    spec = {"op": "formula", "formula": f, "target": target, "bind": {x: {"cell": row[x]["key"]} for x in others + [s]},
            "round": 2}
    pool = []
    for c in v.num_cells(t, col):  # distractors: the same computation with another bar's value
        try:
            pool.append(fmt_num(evaluate(v.kg, {**spec, "bind": {**spec["bind"], s: {"cell": c["key"]}}}), 2))
        except ComputeError:
            pass
    given = f" and {_given(v, f, row, others)}" if others else ""
    q = (f"{v.label(i)} shows the {cn(col)} of each {v.key_type(t)}. Using {v.label(f)} with the {_q(v, f, s)} {s} "
         f"of {ent} read from the figure{given}, compute the {_q(v, f, target)} {target}. Round to 2 decimal places.")
    cot = [f"From {v.label(i)}, {ent} has {cn(col)} {fmt_num(row[s]['value'])}.",
           f"{v.label(f)}: ${v.node(f)['latex']}$; solve for {target}."]
    return _finish("chart_formula", q, spec, cot, [row[x]["key"] for x in others + [s]], v, rng, pool=pool,
                   extra_nodes=[t])
