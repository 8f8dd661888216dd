"""Template question families: each computes its answer from the graph and writes the reasoning.

`FAMILIES[name](view, rng) -> Draft | None` (None: the path does not fit this family). Register
your own with `@family("name")`; a task type YAML lists the families it asks.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Callable

from ..kg.tables import singular
from .compute import ComputeError, edge_index, evaluate, fmt_num, relation_edges, render
from .view import Draft, View, cn

FAMILIES: dict[str, Callable[[View, random.Random], Draft | None]] = {}


def family(name: str, pick: Callable[[View, random.Random], tuple | None] | None = None,
           languages: tuple[str, ...] = ("en",)):
    """Register `fn` as family `name`. With `pick`, the family applies only where `pick(v, rng)` finds
    something, and `fn(v, rng, *picked)` receives it. `languages`: the question languages it writes
    (generate/lang.py); in another it yields nothing."""

    def deco(fn):
        run = fn if pick is None else _after_pick(pick, fn)

        @functools.wraps(run)
        def in_language(v: View, rng: random.Random, *a, **kw):
            return run(v, rng, *a, **kw) if getattr(v, "language", "en") in languages else None

        FAMILIES[name] = in_language
        return in_language

    return deco


ZH_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八")


def _zh(v: View) -> bool:
    return getattr(v, "language", "en") == "zh"


def _uz(unit: str | None) -> str:
    return f"（单位：{unit}）" if unit else ""


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
@family("table_lookup", pick=_table_col, languages=("en", "zh"))
def table_lookup(v: View, rng, t, col):
    c = rng.choice(v.num_cells(t, col))
    unit = v.unit(t, col)
    q = f"According to {v.label(t)}, what is the {cn(col)} of {c['entity']}{_u(unit)}?"
    if _zh(v):
        q = f"根据{v.label(t)}，{c['entity']}的{cn(col)}是多少{_uz(unit)}？"
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
    d = exact_places(a["value"], b["value"])
    spec = {"op": "sub", "args": [{"cell": a["key"]}, {"cell": b["key"]}], "round": d}
    cot = [f"{a['entity']}: {cn(col)} = {a['raw']}.", f"{b['entity']}: {cn(col)} = {b['raw']}.",
           f"{fmt_num(a['value'])} - {fmt_num(b['value'])} = {fmt_num(a['value'] - b['value'], d)}."]
    return _finish("table_diff", q, spec, cot, [a["key"], b["key"]], v, rng)


def exact_places(*values: float) -> int:
    """Decimal places that keep a sum or difference of `values` exact: the most any of them has (at least 4,
    the old fixed rounding; 65.78 + 0.00015 = 65.78015, not "65.7802")."""
    return max([4] + [len(fmt_num(v).partition(".")[2]) for v in values])


def places(x: float) -> int:
    """Decimal places to round a result to: 2, or enough for two significant digits of a small one
    (0.00265 -> 4: "0.0027", not "0")."""
    return 2 if not x or abs(x) >= 0.1 else min(8, 1 - math.floor(math.log10(abs(x))))


@family("table_ratio", pick=_two_cells)
def table_ratio(v: View, rng, t, col, a, b, _unit):
    if not b["value"]:
        return None
    d = places(a["value"] / b["value"])
    q = (f"Using {v.label(t)}, divide the {cn(col)} of {a['entity']} by that of {b['entity']}. "
         f"Round the result to {d} decimal places.")
    spec = {"op": "div", "args": [{"cell": a["key"]}, {"cell": b["key"]}], "round": d}
    cot = [f"{a['entity']}: {a['raw']}; {b['entity']}: {b['raw']}.",
           f"{fmt_num(a['value'])} / {fmt_num(b['value'])} = {fmt_num(a['value'] / b['value'], d + 2)} ≈ "
           f"{fmt_num(a['value'] / b['value'], d)}."]
    return _finish("table_ratio", q, spec, cot, [a["key"], b["key"]], v, rng)


@family("table_sum", pick=_table_col_all)
def table_sum(v: View, rng, t, col):
    cells = v.num_cells(t, col)
    op = rng.choice(["sum", "mean"])
    word = "total" if op == "sum" else "average"
    vals = [c["value"] for c in cells]
    res = sum(vals) if op == "sum" else sum(vals) / len(vals)
    d = places(res)
    q = (f"What is the {word} {cn(col)} over all {v.key_type(t)} rows of {v.label(t)}{_u(v.unit(t, col))}? "
         f"Round to {d} decimal places.")
    spec = {"op": op, "args": [{"cell": c["key"]} for c in cells], "round": d}
    cot = [f"The {cn(col)} values are {', '.join(c['raw'] for c in cells)}.",
           f"Their sum is {fmt_num(sum(vals), d + 2)}" + ("." if op == "sum" else f"; divided by {len(vals)} gives "
                                                          f"{fmt_num(res, d + 2)}."),
           f"Rounded: {fmt_num(res, d)}."]
    return _finish("table_sum", q, spec, cot, [c["key"] for c in cells], v, rng)


def _arg(fam: str, op: str, v: View, rng, t: str, col: str, where: str, image: bool = False):
    cells = v.num_cells(t, col)
    word = "largest" if op == "argmax" else "smallest"
    q = f"Which {v.key_type(t)} has the {word} {cn(col)} {where}?"
    if _zh(v):
        q = f"在{where.removeprefix('in ')}中，哪个{v.key_type(t)}的{cn(col)}{'最大' if op == 'argmax' else '最小'}？"
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


@family("table_argmax", pick=_table_col_all, languages=("en", "zh"))
def table_argmax(v: View, rng, t, col):
    return _arg("table_argmax", "argmax", v, rng, t, col, f"in {v.label(t)}")


@family("table_argmin", pick=_table_col_all, languages=("en", "zh"))
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
def _first_words(names) -> set[str]:
    return {w for n in names for w in re.findall(r"\w+", n.casefold())[:1] if len(w) >= 3 and not w.isdigit()}


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _row_tables(v: View) -> list[str]:
    """Tables whose rows a passage may name: the shown ones, those the charts plot, else (passages only, the
    table hidden) the tables of the entities the passages mention."""
    ts = list(v.tables) + [v.chart(i)[0] for i in v.charts]
    if not ts:
        ts = [t for ch in v.chunks for _, e, _ in v.mentions(ch) for _, t, d in v.g.out_edges(e, data=True)
              if d["type"] == "row_of"]
    return list(dict.fromkeys(ts))


def _named_rows(v: View, ch: str, t: str) -> list[str]:
    """The rows of `t` a passage names, in reading order, as far as each is unambiguous: no other row's first
    word ("Aya" of "Aya Expanse 32B") occurs before it outside the mentions of the rows named before it."""
    from .compute import named_rows

    rows = {c["entity_id"]: c["entity"] for c in v.cells(t)}
    named = [e for e in named_rows(v.kg, ch, t, _spans(v, ch)) if e in rows][: len(ORDINALS)]
    d = v.node(ch)
    text, base = d["text"].casefold(), d["span"][0]
    spans = sorted((dd["provenance"]["span"][0] - base, dd["provenance"]["span"][1] - base, w)
                   for _, w, dd in v.g.out_edges(ch, data=True) if dd["type"] == "mentions" and w in rows)
    out: list[str] = []
    for e in named:
        start = next(a for a, _, w in spans if w == e)
        before = text[: max(0, start)]
        for a, b, w in spans:  # the earlier rows' own mentions are not ambiguous words
            if w in out and b <= start:
                before = before[:a] + " " * (b - a) + before[b:]
        others = _first_words(n for x, n in rows.items() if x != e and x not in out)
        if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", before) for w in others):
            break
        out.append(e)
    return out


def _named(v: View) -> list[tuple[str, str, int, str]]:
    """(chunk, table, n, row entity): the n-th row of the table that the passage names (unambiguously)."""
    if "_named" not in v.__dict__:
        v.__dict__["_named"] = [(ch, t, i, e) for ch in v.chunks for t in _row_tables(v)
                                for i, e in enumerate(_named_rows(v, ch, t))]
    return v.__dict__["_named"]


def _where(v: View, t: str, col: str) -> str | None:
    """Where a reader finds a column of a table: the shown table, a chart that plots it, or (the table hidden
    and no chart) the passages; None when the record shows none of those."""
    if "Table" in v.shown and t in v.tables:
        return v.label(t)
    if "Image" in v.shown:
        for i in v.charts:
            p = v.kg.plotted_table(i)
            if p and p[0] == t and col in p[1]:
                return v.label(i)
        return None
    return "the passages" if "Chunk" in v.shown and not v.charts else None


def _row_phrase(v: View, ch: str, t: str, n: int, where: str) -> str:
    kt = v.key_type(t)
    scope = f" row of {where}" if where.startswith("Table") else (f" in {where}" if where != "the passages" else "")
    return f"the {ORDINALS[n]} {kt}{scope} that Passage {v.passage_no(ch)} names"


def _spans(v: View, ch: str) -> list | None:
    """The kept ranges of a passage a record shows in part (None: shown whole)."""
    text, kept = v.shown_passage(ch)
    return None if text == v.node(ch)["text"] else kept


def _named_spec(v: View, ch: str, t: str, n: int) -> dict:
    spec = {"op": "named", "chunk": ch, "table": t, "n": n}
    return spec if _spans(v, ch) is None else {**spec, "spans": _spans(v, ch)}


def _cell_of(v: View, t: str, col: str, e: str) -> dict | None:
    return next((c for c in v.num_cells(t, col) if c["entity_id"] == e), None)


def _named_cot(v: View, ch: str, t: str, n: int, e: str) -> str:
    names = [v.node(x)["name"] for x in _named_rows(v, ch, t)[: n + 1]]
    return f"Passage {v.passage_no(ch)} names {', '.join(names)}; the {ORDINALS[n]} is {names[-1]}."


def _cols_of(v: View, t: str, complete: bool = False) -> list[tuple[str, str]]:
    """(numeric column, where it is read) of a table (cached on the view)."""
    cache = v.__dict__.setdefault("_cols_of", {})
    if (t, complete) not in cache:
        cache[t, complete] = [(c, w) for c in v.numeric_columns(t) if (w := _where(v, t, c))
                              and (not complete or v.complete(t, c))]
    return cache[t, complete]


def _stated_elsewhere(v: View, ch: str, key: str, relation: bool = False) -> bool:
    """Whether another passage than `ch` states a cell (or relation): what a question whose table is hidden
    reads the value from."""
    from .necessity import cell_sources, relation_sources

    ev = {c: v.shown_passage(c)[0] for c in v.chunks if c != ch}
    if relation:
        return all(relation_sources(v.kg, key, ev))
    return bool(cell_sources(v.kg, key, ev))


@family("passage_lookup", languages=("en", "zh"))
def passage_lookup(v: View, rng):
    picks = [(ch, t, n, e, col, where, cell) for ch, t, n, e in _named(v) for col, where in _cols_of(v, t)
             if (cell := _cell_of(v, t, col, e)) and (where != "the passages" or _stated_elsewhere(v, ch, cell["key"]))]
    if not picks:
        return None
    ch, t, n, e, col, where, cell = rng.choice(picks)
    q = f"Take {_row_phrase(v, ch, t, n, where)}. What is its {cn(col)} according to {where}{_u(v.unit(t, col))}?"
    if _zh(v):
        src = "各段落" if where == "the passages" else where
        q = (f"取{src}中段落 {v.passage_no(ch)} 提到的第{ZH_ORDINALS[n]}个{v.key_type(t)}。根据{src}，它的{cn(col)}是多少"
             f"{_uz(v.unit(t, col))}？")
    cot = [_named_cot(v, ch, t, n, e), f"{where[0].upper() + where[1:]} gives its {cn(col)} as {cell['raw']}."]
    spec = {"op": "attr", "args": [_named_spec(v, ch, t, n)], "table": t, "column": col}
    return _finish("passage_lookup", q, spec, cot, [cell["key"]], v, rng, hops=2)


@family("passage_rank")
def passage_rank(v: View, rng):
    picks = [p for p in _named(v) if _cols_of(v, p[1], complete=True)]
    if not picks:
        return None
    ch, t, n, e = rng.choice(picks)
    col, where = rng.choice(_cols_of(v, t, complete=True))
    cells = v.num_cells(t, col)
    me = _cell_of(v, t, col, e)
    if not me or len(cells) < 3 or [c["value"] for c in cells].count(me["value"]) > 1:
        return None
    q = (f"Rank the {v.key_type(t)} entries of {where} by {cn(col)}, largest first. At which position is "
         f"{_row_phrase(v, ch, t, n, where)}?")
    spec = {"op": "rank_desc", "args": [{"op": "attr", "args": [_named_spec(v, ch, t, n)], "table": t, "column": col}]
            + [{"cell": c["key"]} for c in cells if c is not me]}
    order = sorted(cells, key=lambda c: -c["value"])
    cot = [_named_cot(v, ch, t, n, e), "By " + cn(col) + ": " + " > ".join(f"{c['entity']} ({c['raw']})" for c in order)
           + ".", f"{me['entity']} is at position {order.index(me) + 1}."]
    return _finish("passage_rank", q, spec, cot, [c["key"] for c in cells], v, rng, hops=2)


@family("passage_entity")
def passage_entity(v: View, rng):
    """The official MMKG-RDS answer form: an entity, here the relation entry of the row a passage names."""
    opts = []
    for ch, t, n, e in _named(v):
        where = "the passages" if "Table" not in v.shown or t not in v.tables else v.label(t)
        if where == "the passages" and (v.charts or "Chunk" not in v.shown):
            continue
        for _, w, k, d in v.g.out_edges(e, keys=True, data=True):
            if d["type"] == "relation" and d.get("table") == t and (where != "the passages"
                                                                     or _stated_elsewhere(v, ch, k, relation=True)):
                opts.append((ch, t, n, e, w, k, d, where))
    if not opts:
        return None
    ch, t, n, e, w, k, d, where = rng.choice(opts)
    spec = {"op": "related", "args": [_named_spec(v, ch, t, n)], "table": t, "name": d["name"]}
    pool = [v.node(x)["name"] for _, x, _, dd in v.relations_of_table(t) if dd["name"] == d["name"]]
    q = f"Take {_row_phrase(v, ch, t, n, where)}. What is its {d['name']} entry according to {where}?"
    cot = [_named_cot(v, ch, t, n, e), f"{where[0].upper() + where[1:]} gives its {d['name']} entry: {v.node(w)['name']}."]
    return _finish("passage_entity", q, spec, cot, [k], v, rng, pool=pool, as_choice=rng.random() < 0.3, hops=2)


def _pairs(v: View, same_table: bool):
    """Two named rows with columns to ask (different rows; in different passages where the path has such a
    pair)."""
    picks = [p for p in _named(v) if _cols_of(v, p[1])]
    pairs = [(a, b) for a in picks for b in picks if a[3] != b[3] and (a[1] == b[1]) == same_table
             and (same_table or a[0] != b[0])]
    apart = [(a, b) for a, b in pairs if a[0] != b[0]]
    return apart or pairs


def _pair_cells(v: View, rng, same_table: bool):
    """Two named rows and the cell asked of each: ((chunk, table, n, entity), (column, where), cell) twice;
    one column for both when they share the table."""
    pairs = _pairs(v, same_table)
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    ca = rng.choice(_cols_of(v, a[1]))
    cb = ca if same_table else rng.choice(_cols_of(v, b[1]))
    x, y = _cell_of(v, a[1], ca[0], a[3]), _cell_of(v, b[1], cb[0], b[3])
    return ((a, ca, x), (b, cb, y)) if x and y else None


@family("passage_pair")
def passage_pair(v: View, rng):
    """Two rows named by passages (the n-th of Passage i, the m-th of Passage j), compared on one column."""
    got = _pair_cells(v, rng, same_table=True)
    if not got:
        return None
    ((c1, t, n1, e1), (col, where), x), ((c2, _, n2, e2), _, y) = got
    if x["value"] == y["value"]:
        return None
    args = [{"op": "attr", "args": [_named_spec(v, c, t, n)], "table": t, "column": col} for c, n in ((c1, n1), (c2, n2))]
    rows = f"{_row_phrase(v, c1, t, n1, where)}, and {_row_phrase(v, c2, t, n2, where)}"
    cot = [_named_cot(v, c1, t, n1, e1), _named_cot(v, c2, t, n2, e2),
           f"{where[0].upper() + where[1:]}: {x['entity']} {x['raw']}, {y['entity']} {y['raw']}."]
    if rng.random() < 0.5:
        q = f"Take {rows}. Which of the two has the larger {cn(col)} according to {where}?"
        return _finish("passage_pair", q, {"op": "argmax", "args": args}, cot, [x["key"], y["key"]], v, rng,
                       pool=[x["entity"], y["entity"]], as_choice=False)
    d = exact_places(x["value"], y["value"])
    q = f"Take {rows}. What is the {cn(col)} of the first minus that of the second, according to {where}{_u(v.unit(t, col))}?"
    cot.append(f"{fmt_num(x['value'])} - {fmt_num(y['value'])} = {fmt_num(x['value'] - y['value'], d)}.")
    return _finish("passage_pair", q, {"op": "sub", "args": args, "round": d}, cot, [x["key"], y["key"]], v, rng)


@family("passage_pair_tables")
def passage_pair_tables(v: View, rng):
    """Rows two passages name in two different tables (or charts): one value from each."""
    got = _pair_cells(v, rng, same_table=False)
    if not got:
        return None
    ((c1, t1, n1, e1), (k1, w1), x), ((c2, t2, n2, e2), (k2, w2), y) = got
    args = [{"op": "attr", "args": [_named_spec(v, c, t, n)], "table": t, "column": k} for c, t, n, k in
            ((c1, t1, n1, k1), (c2, t2, n2, k2))]
    q = (f"Take {_row_phrase(v, c1, t1, n1, w1)}, and {_row_phrase(v, c2, t2, n2, w2)}. Give the {cn(k1)} of the first "
         f"({w1}) and the {cn(k2)} of the second ({w2}), as 'first; second'.")
    cot = [_named_cot(v, c1, t1, n1, e1), _named_cot(v, c2, t2, n2, e2),
           f"{w1[0].upper() + w1[1:]}: {x['entity']} {x['raw']}; {w2}: {y['entity']} {y['raw']}."]
    return _finish("passage_pair_tables", q, {"op": "concat", "args": args}, cot, [x["key"], y["key"]], v, rng)


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
    names = sorted(v.node(e)["name"] for e in es)
    # a closed list: the named ones and others of the same kind from the same documents that the passages
    # plainly never name (not even their first word: "GPT-4 Turbo (gpt-4-turbo-…)" beside "GPT-4 Turbo");
    # what else the passages name ("English" when no table lists it) does not count
    docs = {v.node(ch)["doc"] for ch in v.chunks}
    absent = sorted(e for e in v.kg.nodes_of("Entity") if v.node(e)["entity_type"] == et
                    and e not in es and docs & set(v.node(e).get("docs") or [])
                    and not any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)
                                for w in _first_words([v.node(e)["name"]]) | {v.node(e)["name"].casefold()}))
    listed = sorted(es) + rng.sample(absent, min(len(absent), max(2, len(names) // 2)))
    rng.shuffle(listed)
    q = f"How many of these {cn(et)} entries are named in the passages: {', '.join(v.node(e)['name'] for e in listed)}?"
    spec = {"op": "count_named", "entities": listed, "chunks": list(v.chunks)}
    cot = [f"Of those, the passages name {', '.join(names)}.", f"That is {len(es)}."]
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
    return sorted([(u, w, k, d) for u, w, k, d in relation_edges(v.kg) if d["name"] == rel_name
                   and d.get("table") == table], key=lambda e: (e[3].get("row", 0), e[2]))


@family("entity_relation", languages=("en", "zh"))
def entity_relation(v: View, rng):
    got = _entity_rel(v)
    if not got:
        return None
    a, b, k, d = got
    facts = entity_facts(v, d["name"], d.get("table"))
    pool = [v.node(w)["name"] for _, w, _, _ in facts] + [v.node(n)["name"] for n in v.kg.nodes_of("Entity")
                                                          if v.node(n)["entity_type"] == v.node(b)["entity_type"]]
    q = f"What is the {d['name']} entry for {v.node(a)['name']}?"
    if _zh(v):
        q = f"{v.node(a)['name']}的{d['name']}是什么？"
    cot = [f"The facts list ({v.node(a)['name']}, {d['name']}, {v.node(b)['name']})."]
    return _finish("entity_relation", q, {"op": "relation", "args": [{"rel": k}]}, cot, [k], v, rng, pool=pool,
                   as_choice=rng.random() < 0.5, extra_nodes=[d["table"]] if d.get("table") else [], hops=1)


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
                   extra_nodes=[d["table"]] if d.get("table") else [], hops=1)


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


def _kind(v: View, n: str) -> str:
    """What an entity is called in a question: its type, singular ("models" -> "model")."""
    words = cn(v.node(n).get("entity_type") or "entity").split(" ")
    words[-1] = singular(words[-1])
    return " ".join(words)


def _unique_attrs(v: View, e: str) -> list[tuple[str, dict]]:
    """(table, cell edge data) of numeric attributes only this row has in its table column."""
    out = []
    for _, t, d in v.g.out_edges(e, data=True):
        if d["type"] == "has_attribute" and isinstance(d["value"], (int, float)) and sum(
                1 for _, _, x in v.g.in_edges(t, data=True) if x["type"] == "has_attribute" and x["name"] == d["name"]
                and x["value"] == d["value"]) == 1:
            out.append((t, d))
    return out


@family("entity_chain", languages=("en", "zh"))
def entity_chain(v: View, rng):
    """A multi-hop question along the path's relations (MMKG-RDS Entity, up to `max_steps` hops): the question
    names only where the chain starts, or describes even that entity by an attribute only it has (entity
    fuzzification); bridge entities are never named. A final hop may read an attribute of the end entity."""
    ents = v.nodes
    if len(ents) < 2 or any(v.node(n)["type"] != "Entity" for n in ents):
        return None
    steps = []
    for a, b in zip(ents, ents[1:]):
        out = next((d for _, w, d in v.g.out_edges(a, data=True) if w == b and d["type"] == "relation"), None)
        inn = next((d for u, _, d in v.g.in_edges(a, data=True) if u == b and d["type"] == "relation"), None)
        if not out and not inn:
            return None
        d = out or inn
        steps.append({"relation": d["name"], "dir": "out" if out else "in"} | ({"table": d["table"]} if d.get("table") else {}))
    room = v.max_steps - len(steps)
    if room < 0:
        return None
    zh = _zh(v)
    start, phrase = {"entity": ents[0]}, v.node(ents[0])["name"]
    fuzzy = _unique_attrs(v, ents[0]) if room and rng.random() < 0.8 else []
    if fuzzy:  # entity fuzzification (MMKG-RDS information_blur): described by an attribute only it has
        t, d = rng.choice(fuzzy)
        start = {"table": t, "column": d["name"], "value": d["value"]}
        val = f"{d['raw']}{_us(d['unit']) if d['unit'] and d['unit'] not in d['raw'] else ''}"
        phrase = (f"{cn(d['name'])}为{val}的{_kind(v, ents[0])}" if zh
                  else f"the {_kind(v, ents[0])} whose {cn(d['name'])} is {val}")
        room -= 1
    for i, st in enumerate(steps):
        if st["dir"] == "out":
            phrase = f"{phrase}的{st['relation']}" if zh else f"the {st['relation']} entry of {phrase}"
        else:
            came = [u for u, _, d in v.g.in_edges(ents[i], data=True) if d["type"] == "relation"
                    and d["name"] == st["relation"] and u in ents[:i]]
            phrase = (f"{st['relation']}为{phrase}的{'另一个' if came else ''}{_kind(v, ents[i + 1])}" if zh else
                      f"the {'other ' if came else ''}{_kind(v, ents[i + 1])} whose {st['relation']} entry is {phrase}")
    spec = {"op": "walk", "start": start, "steps": steps}
    attrs = [(t, d) for _, t, d in v.g.out_edges(ents[-1], data=True) if d["type"] == "has_attribute"
             and isinstance(d["value"], (int, float))] if room and rng.random() < 0.8 else []
    if attrs:
        t, d = rng.choice(attrs)
        spec["attr"] = {"table": t, "column": d["name"]}
        q = f"{phrase}的{cn(d['name'])}是多少{_uz(d['unit'])}？" if zh else f"What is the {cn(d['name'])} of {phrase}{_u(d['unit'])}?"
    else:
        q = f"{phrase}是什么？" if zh else f"What is {phrase}?"
    named = [v.node(n)["name"] for n in ents[int(not fuzzy):]]
    if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", q) for n in named):
        return None  # a bridge (or the answer) named in the question
    hops = len(steps) + bool(fuzzy) + ("attr" in spec)
    cot = ([f"The {_kind(v, ents[0])} whose {start['column']} is {fmt_num(start['value'])} is {v.node(ents[0])['name']}."]
           if fuzzy else []) + [
        f"{v.node(a)['name']} -> {st['relation']} -> {v.node(b)['name']}" if st["dir"] == "out"
        else f"{v.node(b)['name']} has {st['relation']} {v.node(a)['name']}" for st, a, b in zip(steps, ents, ents[1:])]
    if attrs:
        cot.append(f"{v.node(ents[-1])['name']} has {cn(d['name'])} {d['raw']}.")
    pool = [v.node(n)["name"] for n in v.kg.nodes_of("Entity") if v.node(n)["entity_type"] == v.node(ents[-1])["entity_type"]]
    from .compute import walk

    try:
        facts = [k for _, k in walk(v.kg, spec)[1]]
    except ComputeError:
        return None
    edges = [edge_index(v.kg)[k] for k in facts]
    tables = sorted({d.get("table") or w for _, w, d in edges if d.get("table") or d["type"] == "has_attribute"})
    if len({d["provenance"]["doc"] for _, _, d in edges}) != 1:
        return None  # a chain stays within one document (the record's source)
    return _finish("entity_chain", q, spec, cot, facts, v, rng, pool=None if attrs else pool, extra_nodes=tables,
                   as_choice=not attrs and rng.random() < 0.3, hops=hops)


def _walk_draft(fam: str, v: View, rng, q: str, spec: dict, cot: list[str], hops: int) -> Draft | None:
    from .compute import walk

    try:
        facts = [k for _, k in walk(v.kg, spec)[1]]
    except ComputeError:
        return None
    return _finish(fam, q, spec, cot, facts, v, rng, hops=hops)


@family("table_chain")
def table_chain(v: View, rng):
    """Two hops inside a table: the row whose value in one column is unique, then its other column or its
    relation entry ("In Table 1, what is the recall of the model whose F1 is 55.6?")."""
    opts = [(t, e, d) for t in v.tables for e in {c["entity_id"] for c in v.cells(t)} for tt, d in _unique_attrs(v, e)
            if tt == t]
    if not opts:
        return None
    t, e, d = rng.choice(sorted(opts, key=lambda o: (o[0], o[1], o[2]["name"])))
    who = f"the {v.key_type(t)} whose {cn(d['name'])} is {d['raw']}"
    rels = [r for r in v.relations_of_table(t) if r[0] == e]
    others = [c for c in v.cells(t) if c["entity_id"] == e and c["column"] != d["name"]
              and isinstance(c["value"], (int, float))]
    start = {"table": t, "column": d["name"], "value": d["value"]}
    if rels and (not others or rng.random() < 0.5):
        _, w, _, rd = rng.choice(rels)
        spec = {"op": "walk", "start": start, "steps": [{"relation": rd["name"], "dir": "out", "table": t}]}
        q = f"In {v.label(t)}, what is the {rd['name']} entry of {who}?"
        cot = [f"In {v.label(t)}, {v.node(e)['name']} has {cn(d['name'])} {d['raw']}.",
               f"Its {rd['name']} entry is {v.node(w)['name']}."]
    elif others:
        c = rng.choice(others)
        spec = {"op": "walk", "start": start, "steps": [], "attr": {"table": t, "column": c["column"]}}
        q = f"In {v.label(t)}, what is the {cn(c['column'])} of {who}{_u(v.unit(t, c['column']))}?"
        cot = [f"In {v.label(t)}, {v.node(e)['name']} has {cn(d['name'])} {d['raw']}.",
               f"Its {cn(c['column'])} is {c['raw']}."]
    else:
        return None
    return _walk_draft("table_chain", v, rng, q, spec, cot, hops=2)


@family("passage_chain")
def passage_chain(v: View, rng):
    """Two hops inside the passages: the entity whose value a passage states (and no other row of its table
    has), then its relation entry the passage gives ("... the model whose f1 is 55.6 % ... trained on ...")."""
    from .necessity import cell_sources, relation_sources

    opts = []
    for ch in v.chunks:
        ev = {ch: v.shown_passage(ch)[0]}
        for _, e, _ in v.mentions(ch):
            for t, d in _unique_attrs(v, e):
                k = next(k for _, tt, k, dd in v.g.out_edges(e, keys=True, data=True) if tt == t and dd is d)
                if not cell_sources(v.kg, k, ev):
                    continue
                opts += [(ch, e, t, d, w, rk, rd) for _, w, rk, rd in v.g.out_edges(e, keys=True, data=True)
                         if rd["type"] == "relation" and all(relation_sources(v.kg, rk, ev))]
    if not opts:
        return None
    ch, e, t, d, w, rk, rd = rng.choice(opts)
    spec = {"op": "walk", "start": {"table": t, "column": d["name"], "value": d["value"]},
            "steps": [{"relation": rd["name"], "dir": "out"} | ({"table": rd["table"]} if rd.get("table") else {})]}
    n = v.passage_no(ch)
    q = f"According to Passage {n}, what is the {rd['name']} entry of the {_kind(v, e)} whose {cn(d['name'])} is {d['raw']}?"
    cot = [f"Passage {n}: {v.node(e)['name']} has {cn(d['name'])} {d['raw']}.",
           f"Passage {n}: the {rd['name']} entry for {v.node(e)['name']} is {v.node(w)['name']}."]
    return _walk_draft("passage_chain", v, rng, q, spec, cot, hops=2)


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


def _multi_count(fam, v, rng, pairs, bars: bool = False):
    """Rows (or bars) above a threshold in each of two tables (charts), added. Rows are named by their kind
    ("the category rows"): a summary row ("Total 66,787") is not one of them."""
    args, facts, cot, parts = [], [], [], []
    for t, col, where in pairs:
        cells = v.num_cells(t, col)
        thr = _threshold([c["value"] for c in cells], rng)
        if thr is None:
            return None
        args.append({"op": "count_gt", "args": [{"cell": c["key"]} for c in cells], "threshold": thr})
        facts += [c["key"] for c in cells]
        n = sum(c["value"] > thr for c in cells)
        noun = "bars" if bars else f"{v.key_type(t)} rows"
        parts.append(f"{noun} with {cn(col)} above {fmt_num(thr)}{_us(v.unit(t, col))} {where}")
        cot.append(f"{where[0].upper() + where[1:]}: {n} {noun} have {cn(col)} above {fmt_num(thr)}.")
    q = f"Count the {parts[0]}, plus the {parts[1]}. What is the total?"
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
    d = exact_places(a["value"], b["value"])
    spec = {"op": "add", "args": [{"cell": a["key"]}, {"cell": b["key"]}], "round": d}
    cot = [f"{v.label(t1)}: {a['entity']} {cn(c1)} = {a['raw']}.", f"{v.label(t2)}: {b['entity']} {cn(c2)} = {b['raw']}.",
           f"{fmt_num(a['value'])} + {fmt_num(b['value'])} = {fmt_num(a['value'] + b['value'], d)}."]
    return _finish("multi_table_sum", q, spec, cot, [a["key"], b["key"]], v, rng)


@family("multi_table_join")
def multi_table_join(v: View, rng):
    """Two tables joined on a shared entity: a row's relation entry in one table is a row of the other
    ("the train size (Table 2) of the dataset TabFormer is trained on (Table 1)"); the bridge is not named."""
    opts = []
    for t1 in v.tables:
        for u, w, k, d in v.relations_of_table(t1):
            for t2 in v.tables:
                if t2 != t1:
                    opts += [(t1, t2, u, w, k, d, c) for col in v.numeric_columns(t2) for c in v.num_cells(t2, col)
                             if c["entity"] == v.node(w)["name"]]  # the same name (a row key may be typed apart)
    if not opts:
        return None
    t1, t2, u, w, k, d, c = rng.choice(opts)
    q = (f"In {v.label(t1)}, take the {d['name']} entry of {v.node(u)['name']}. What is its {cn(c['column'])} "
         f"according to {v.label(t2)}{_u(v.unit(t2, c['column']))}?")
    spec = {"op": "attr", "args": [{"op": "relation", "args": [{"rel": k}]}], "table": t2, "column": c["column"]}
    cot = [f"{v.label(t1)}: the {d['name']} entry of {v.node(u)['name']} is {v.node(w)['name']}.",
           f"{v.label(t2)}: {v.node(w)['name']} has {cn(c['column'])} {c['raw']}."]
    if re.search(rf"(?<!\w){re.escape(v.node(w)['name'])}(?!\w)", q):
        return None
    return _finish("multi_table_join", q, spec, cot, [k, c["key"]], v, rng, hops=2)


def _extreme(v: View, rng, t: str, col: str) -> tuple[str, list[dict], dict, str] | None:
    """(op, the column's cells, the argmax / argmin spec, the row it names) for a random one of largest /
    smallest; None on a tie."""
    op = rng.choice(["argmax", "argmin"])
    cells = v.num_cells(t, col)
    inner = {"op": op, "args": [{"cell": c["key"]} for c in cells]}
    try:
        return op, cells, inner, evaluate(v.kg, inner)
    except ComputeError:
        return None


@family("join_lookup")
def join_lookup(v: View, rng):
    if len(v.tables) != 2:
        return None
    t1, t2 = v.tables if rng.random() < 0.5 else v.tables[::-1]
    c1s, c2s = v.numeric_columns(t1), v.numeric_columns(t2)
    if not c1s or not c2s:
        return None
    c1, c2 = rng.choice(c1s), rng.choice(c2s)
    got = _extreme(v, rng, t1, c1)
    if not got:
        return None
    op, cells, inner, who = got
    target = next((c for c in v.num_cells(t2, c2) if c["entity"] == who), None)
    if not target:
        return None
    word = "largest" if op == "argmax" else "smallest"
    q = (f"Find the {v.key_type(t1)} with the {word} {cn(c1)} in {v.label(t1)}. What is its {cn(c2)} in "
         f"{v.label(t2)}{_u(v.unit(t2, c2))}?")
    spec = {"op": "attr", "args": [inner], "table": t2, "column": c2}
    cot = [f"In {v.label(t1)} the {word} {cn(c1)} belongs to {who}.", f"{v.label(t2)} lists {who} with {cn(c2)} {target['raw']}."]
    return _finish("join_lookup", q, spec, cot, [c["key"] for c in cells] + [target["key"]], v, rng, hops=2)


# =============================================================== charts (the plotted table is never shown)
def _pick_chart(v: View, rng):
    cs = [(i, *c) for i in v.charts if (c := v.chart(i))]
    cs = [c for c in cs if len(v.num_cells(c[1], c[2])) >= 2 and v.complete(c[1], c[2])]
    return rng.choice(cs) if cs else None


@family("chart_argmax", pick=_pick_chart, languages=("en", "zh"))
def chart_argmax(v: View, rng, i, t, col):
    return _arg("chart_argmax", "argmax", v, rng, t, col, f"in {v.label(i)}", image=True)


@family("chart_argmin", pick=_pick_chart, languages=("en", "zh"))
def chart_argmin(v: View, rng, i, t, col):
    return _arg("chart_argmin", "argmin", v, rng, t, col, f"in {v.label(i)}", image=True)


@family("chart_value", pick=_pick_chart, languages=("en", "zh"))
def chart_value(v: View, rng, i, t, col):
    cells = v.num_cells(t, col)
    c = rng.choice(cells)
    q = f"Read {v.label(i)}: what is the {cn(col)} of {c['entity']}{_u(v.unit(t, col))}?"
    if _zh(v):
        q = f"读取{v.label(i)}：{c['entity']}的{cn(col)}是多少{_uz(v.unit(t, col))}？"
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
    vals = [c["value"] for c in cells]
    d = exact_places(*vals)
    spec = {"op": "sub", "args": [{"op": "max", "args": refs}, {"op": "min", "args": refs}], "round": d}
    pool = [fmt_num(a - b, d) for a in vals for b in vals if a > b]
    q = f"In {v.label(i)}, what is the difference between the tallest and the shortest bar{_u(v.unit(t, col))}?"
    cot = [f"Tallest bar: {fmt_num(max(vals))}; shortest: {fmt_num(min(vals))}.",
           f"{fmt_num(max(vals))} - {fmt_num(min(vals))} = {fmt_num(max(vals) - min(vals), d)}."]
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
    return _multi_count("multi_chart_count", v, rng, pairs, bars=True)


@family("multi_chart_join")
def multi_chart_join(v: View, rng):
    """Two hops across two charts (MMKG-RDS multi_chart_multihop): the tallest (shortest) bar of one chart,
    then that row's bar in the other chart; the row is never named."""
    cs = [(i, *c) for i in v.charts if (c := v.chart(i)) and v.complete(*c)]
    opts = [(a, b) for a in cs for b in cs if a[1] != b[1]
            and {c["entity"] for c in v.num_cells(a[1], a[2])} & {c["entity"] for c in v.num_cells(b[1], b[2])}]
    if not opts:
        return None
    (i1, t1, c1), (i2, t2, c2) = rng.choice(opts)
    got = _extreme(v, rng, t1, c1)
    if not got:
        return None
    op, cells, inner, who = got
    target = [c for c in v.num_cells(t2, c2) if c["entity"] == who]
    if len(target) != 1:
        return None
    word = "tallest" if op == "argmax" else "shortest"
    q = (f"Find the {v.key_type(t1)} with the {word} bar in {v.label(i1)}. What is its {cn(c2)} in "
         f"{v.label(i2)}{_u(v.unit(t2, c2))}?")
    spec = {"op": "attr", "args": [inner], "table": t2, "column": c2}
    cot = [f"The {word} bar in {v.label(i1)} is {who}.", f"In {v.label(i2)} the bar of {who} reaches {target[0]['raw']}."]
    return _finish("multi_chart_join", q, spec, cot, [c["key"] for c in cells] + [target[0]["key"]], v, rng,
                   pool=[fmt_num(c["value"]) for c in v.num_cells(t2, c2)], as_choice=rng.random() < 0.5,
                   extra_nodes=[t1, t2], hops=2)


@family("chart_join", pick=_pick_chart)
def chart_join(v: View, rng, i, t, col):
    if t not in v.tables:
        return None
    others = [c for c in v.numeric_columns(t) if c != col]
    if not others:
        return None
    c2 = rng.choice(others)
    got = _extreme(v, rng, t, col)
    if not got:
        return None
    op, cells, inner, who = got
    target = next(c for c in v.num_cells(t, c2) if c["entity"] == who)
    word = "tallest" if op == "argmax" else "shortest"
    q = (f"Find the {v.key_type(t)} with the {word} bar in {v.label(i)}. What is its {cn(c2)} according to "
         f"{v.label(t)}{_u(v.unit(t, c2))}?")
    spec = {"op": "attr", "args": [inner], "table": t, "column": c2}
    cot = [f"The {word} bar in {v.label(i)} is {who}.", f"{v.label(t)} lists {who} with {cn(c2)} {target['raw']}."]
    plotted = v.kg.plotted_table(i)[1]
    return _finish("chart_join", q, spec, cot, [c["key"] for c in cells] + [target["key"]], v, rng,
                   hide_columns={t: list(plotted)}, answer_in_text_ok=True, hops=2)


@family("chart_relation", pick=_pick_chart)
def chart_relation(v: View, rng, i, t, col):
    """Two hops from a chart (MMKG-RDS single_chart_multihop): the tallest (shortest) bar, then that row's
    relation entry in the plotted table (shown without the plotted column); the bar's row is never named."""
    if t not in v.tables:
        return None
    got = _extreme(v, rng, t, col)
    if not got:
        return None
    op, cells, inner, who = got
    rels = [(w, k, d) for u, w, k, d in v.relations_of_table(t) if v.node(u)["name"] == who]
    names = [d["name"] for _, _, d in rels]
    rels = [r for r in rels if names.count(r[2]["name"]) == 1]  # one entry of that relation: a unique answer
    if not rels:
        return None
    w, k, d = rng.choice(rels)
    word = "tallest" if op == "argmax" else "shortest"
    q = (f"Find the {v.key_type(t)} with the {word} bar in {v.label(i)}. What is its {d['name']} entry according "
         f"to {v.label(t)}?")
    spec = {"op": "related", "args": [inner], "name": d["name"], "table": t}
    cot = [f"The {word} bar in {v.label(i)} is {who}.", f"{v.label(t)}: the {d['name']} entry of {who} is {v.node(w)['name']}."]
    pool = [v.node(x)["name"] for _, x, _, dd in v.relations_of_table(t) if dd["name"] == d["name"]]
    plotted = v.kg.plotted_table(i)[1]
    return _finish("chart_relation", q, spec, cot, [c["key"] for c in cells] + [k], v, rng, pool=pool,
                   as_choice=rng.random() < 0.5, hide_columns={t: list(plotted)}, hops=2)


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


def _given(v: View, f: str, row: dict[str, dict], vars_: list[str], by_name: bool = False) -> str:
    """"density rho = 1.5 g/cm³, ..." (`by_name`: "density = 1.5 g/cm³", the symbol left to the passage that
    defines it)."""
    return ", ".join(f"{_q(v, f, x)}{'' if by_name else ' ' + x} = "
                     f"{row[x]['raw'] if not row[x]['unit'] or row[x]['unit'] in row[x]['raw'] else fmt_num(row[x]['value'])}"
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
def formula_eval(v: View, rng, solve_rhs: bool = False, fam: str = "formula_eval", by_name: bool = False):
    """`by_name`: the quantities named in words only, so the passage defining the symbols is needed."""
    got = _formula_setup(v, rng, solve_rhs)
    if not got:
        return None
    f, target, inputs, ent, row, _ = got
    sym = "" if by_name else f" {target}"
    q = (f"Using {v.label(f)}, compute the {_q(v, f, target)}{sym} when {_given(v, f, row, inputs, by_name)}. "
         "Round to 2 decimal places.")
    got = _eval_formula(v, f, target, row, inputs)
    if not got:
        return None
    spec, val = got
    if by_name:
        spec["by_name"] = True
    cot = [f"{v.label(f)}: ${v.node(f)['latex']}$.", f"Substitute {_given(v, f, row, inputs)} and solve for {target}.",
           f"{target} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
    b = v.formula_bindings(f)
    return _finish(fam, q, spec, cot, [row[x]["key"] for x in inputs], v, rng,
                   extra_nodes=sorted({b[x][0] for x in inputs}))


@family("formula_solve")
def formula_solve(v: View, rng):
    return formula_eval(v, rng, solve_rhs=True, fam="formula_solve")


@family("formula_eval_named")
def formula_eval_named(v: View, rng):
    return formula_eval(v, rng, solve_rhs=rng.random() < 0.5, fam="formula_eval_named", by_name=True)


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


def _table_formula(v: View) -> tuple[str, str, list[str]] | None:
    """(the path's first formula, its left-hand symbol, the other symbols) when the path also has a table."""
    if not v.formulas or not v.tables:
        return None
    f = v.formulas[0]
    lhs = _lhs(v, f)
    return (f, lhs, [x for x in v.node(f)["variables"] if x != lhs]) if lhs else None


@family("formula_table")
def formula_table(v: View, rng):
    got = _table_formula(v)
    if not got:
        return None
    f, lhs, inputs = got
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


@family("formula_table_argmax")
def formula_table_argmax(v: View, rng):
    """Two hops: the row with the largest (smallest) value of a column, then a formula on that row's values."""
    got = _table_formula(v)
    if not got:
        return None
    f, lhs, inputs = got
    bind = v.formula_bindings(f)
    if any(x not in bind for x in inputs):
        return None
    t = bind[inputs[0]][0]
    cols = [c for c in v.numeric_columns(t) if v.complete(t, c)]
    if not cols or any(bind[x][0] != t for x in inputs):
        return None
    col, op = rng.choice(cols), rng.choice(["argmax", "argmin"])
    pick = {"op": op, "args": [{"cell": c["key"]} for c in v.num_cells(t, col)]}
    spec = {"op": "formula", "formula": f, "target": lhs, "round": 2,
            "bind": {x: {"op": "attr", "args": [pick], "table": t, "column": bind[x][1]} for x in inputs}}
    try:
        who, val = evaluate(v.kg, pick), evaluate(v.kg, spec)
    except ComputeError:
        return None
    word = "largest" if op == "argmax" else "smallest"
    q = (f"Find the {v.key_type(t)} with the {word} {cn(col)} in {v.label(t)}. Using {v.label(f)} and its values in "
         f"{v.label(t)}, compute its {_q(v, f, lhs)} {lhs}. Round to 2 decimal places.")
    cot = [f"The {word} {cn(col)} in {v.label(t)} belongs to {who}.", f"{v.label(f)}: ${v.node(f)['latex']}$.",
           f"{lhs} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
    hide = {t: [bind[lhs][1]]} if lhs in bind else {}
    return _finish("formula_table_argmax", q, spec, cot, [c["key"] for c in v.num_cells(t, col)], v, rng,
                   hide_columns=hide, hops=2)


@family("formula_walk")
def formula_walk(v: View, rng):
    """A formula applied to a row reached by a relation hop (MMKG-RDS single_formula_multihop): the row whose
    relation entry is a named entity (the row itself never named), its values put into the formula."""
    got = _table_formula(v)
    if not got:
        return None
    f, lhs, inputs = got
    bind = v.formula_bindings(f)
    if not inputs or any(x not in bind for x in inputs) or len({bind[x][0] for x in inputs}) != 1:
        return None
    t = bind[inputs[0]][0]
    rows = _formula_rows(v, f, inputs)
    opts = [(u, w, d) for u, w, _, d in v.relations_of_table(t) if v.node(u)["name"] in rows]
    rng.shuffle(opts)
    for opt in opts:  # the first entry only one row has (that row is the bridge)
        u, w, d = opt
        steps = [{"relation": d["name"], "dir": "in", "table": t}]
        spec = {"op": "formula", "formula": f, "target": lhs, "round": 2,
                "bind": {x: {"op": "walk", "start": {"entity": w}, "steps": steps,
                             "attr": {"table": t, "column": bind[x][1]}} for x in inputs}}
        try:
            val = evaluate(v.kg, spec)  # the walk fails unless exactly one row has that entry
            break
        except ComputeError:
            continue
    else:
        return None
    who = f"the {v.key_type(t)} whose {d['name']} entry is {v.node(w)['name']}"
    q = (f"Using {v.label(f)} and the values in {v.label(t)}, compute the {_q(v, f, lhs)} {lhs} of {who}. "
         "Round to 2 decimal places.")
    if re.search(rf"(?<!\w){re.escape(v.node(u)['name'])}(?!\w)", q):
        return None  # the bridge row named in the question
    row = rows[v.node(u)["name"]]
    cot = [f"{v.label(t)}: the {v.key_type(t)} whose {d['name']} entry is {v.node(w)['name']} is {v.node(u)['name']}.",
           f"{v.label(t)} gives for {v.node(u)['name']}: {_given(v, f, row, inputs)}.",
           f"{v.label(f)}: ${v.node(f)['latex']}$.", f"{lhs} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
    from .compute import walk

    facts = list(dict.fromkeys(k for x in inputs for _, k in walk(v.kg, spec["bind"][x])[1]))
    hide = {t: [bind[lhs][1]]} if lhs in bind else {}
    return _finish("formula_walk", q, spec, cot, facts, v, rng, hide_columns=hide, hops=2)


@family("formula_chain_named")
def formula_chain_named(v: View, rng):
    """formula_chain with the quantities named in words only: the passages that define the symbols are needed."""
    return formula_chain(v, rng, by_name=True)


@family("formula_chain_strict")
def formula_chain_strict(v: View, rng):
    """formula_chain without its fallback: only a real chain through a shared quantity (multi-hop)."""
    return formula_chain(v, rng, fallback=False)


@family("formula_chain")
def formula_chain(v: View, rng, by_name: bool = False, fallback: bool = True):
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
        if by_name:
            inner["by_name"] = spec["by_name"] = True
        try:
            mid, val = evaluate(v.kg, inner), evaluate(v.kg, spec)
        except ComputeError:
            continue
        given = ", ".join([_given(v, f1, row, in1, by_name)] + [_given(v, f2, row, [x], by_name) for x in in2
                                                                if x not in in1])
        q = (f"A sample has {given}. Using {v.label(f1)} and then {v.label(f2)}, compute its "
             f"{_q(v, f2, t2)}{'' if by_name else ' ' + t2}. Round to 2 decimal places.")
        cot = [f"From {v.label(f1)}: {s} = {fmt_num(mid, 4)}.", f"Then {v.label(f2)}: {t2} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
        b = {**v.formula_bindings(f1), **v.formula_bindings(f2)}
        return _finish("formula_chain_named" if by_name else "formula_chain", q, spec, cot,
                       [row[x]["key"] for x in in1 + in2], v, rng, extra_nodes=sorted({b[x][0] for x in in1 + in2}),
                       hops=2)
    return formula_compare(v, rng) if fallback and not by_name else None


@family("formula_compare_named")
def formula_compare_named(v: View, rng):
    """formula_compare with the quantities named in words only: the passages that define the symbols are needed."""
    return formula_compare(v, rng, by_name=True)


@family("formula_compare")
def formula_compare(v: View, rng, by_name: bool = False):
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
        specs.append({"op": "formula", "formula": f, "target": lhs, "bind": {x: {"cell": row[x]["key"]} for x in inputs}}
                     | ({"by_name": True} if by_name else {}))
        facts += [row[x]["key"] for x in inputs]
        texts.append(f"{v.label(f)} with {_given(v, f, row, inputs, by_name)}")
        extra |= {v.formula_bindings(f)[x][0] for x in inputs}
        try:
            cot.append(f"{v.label(f)} gives {lhs} = {fmt_num(evaluate(v.kg, specs[-1]), 4)}.")
        except ComputeError:
            return None
    labels = [v.label(f) for f in fs[:2]]
    q = f"Evaluate {texts[0]}; and {texts[1]}. Which equation gives the larger number?"
    spec = {"op": "larger", "args": specs, "labels": labels}
    return _finish("formula_compare_named" if by_name else "formula_compare", q, spec, cot, facts, v, rng, pool=labels,
                   extra_nodes=sorted(extra))


@family("formula_passage")
def formula_passage(v: View, rng):
    """A passage states one input of a formula ("TabFormer has a f1 of 55.6 %"); the question gives the others
    by name, so the formula, that passage and the passage defining the symbols are all needed."""
    from .necessity import cell_sources

    opts = []
    for f in v.formulas:
        bind, variables = v.formula_bindings(f), list(v.node(f)["variables"])
        if v.node(f).get("parse_error") or len(variables) < 2:
            continue
        for ch in v.chunks:
            ev = {ch: v.shown_passage(ch)[0]}
            for x in [x for x in variables if x in bind]:
                # the target may be a quantity no column holds; every other input needs one
                targets = [y for y in variables if y != x and all(z in bind for z in variables if z not in (x, y))]
                opts += [(f, ch, x, c, y) for c in v.num_cells(*bind[x]) if cell_sources(v.kg, c["key"], ev)
                         for y in targets]
    if not opts:
        return None
    f, ch, s, c, target = rng.choice(opts)
    others = [x for x in v.node(f)["variables"] if x not in (s, target)]
    row = _formula_rows(v, f, others + [s]).get(c["entity"])
    if not row:
        return None
    spec = {"op": "formula", "formula": f, "target": target, "bind": {x: {"cell": row[x]["key"]} for x in others + [s]},
            "round": 2, "by_name": True}
    try:
        val = evaluate(v.kg, spec)
    except ComputeError:
        return None
    kind = v.key_type(v.formula_bindings(f)[s][0])
    given = f" and its {_given(v, f, row, others, by_name=True)}" if others else ""
    q = (f"Passage {v.passage_no(ch)} gives the {_q(v, f, s)} of one {kind}. Using {v.label(f)}, compute that {kind}'s "
         f"{_q(v, f, target)} from that {_q(v, f, s)}{given}. Round to 2 decimal places.")
    cot = [f"Passage {v.passage_no(ch)}: the {_q(v, f, s)} of {c['entity']} is {c['raw']}.",
           f"{v.label(f)}: ${v.node(f)['latex']}$, where the passages define {', '.join(f'{x} as the {_q(v, f, x)}' for x in [s, target] + others)}.",
           f"{target} = {fmt_num(val, 4)} ≈ {fmt_num(val, 2)}."]
    return _finish("formula_passage", q, spec, cot, [row[x]["key"] for x in others + [s]], v, rng)


@family("formula_passage_symbol")
def formula_passage_symbol(v: View, rng):
    """Which symbol of a formula stands for the quantity a passage states: that passage, the formula and the
    passage defining the symbols are needed."""
    from .necessity import cell_sources

    opts = []
    for f in v.formulas:
        for x, (t, col) in v.formula_bindings(f).items():
            for ch in v.chunks:
                ev = {ch: v.shown_passage(ch)[0]}
                opts += [(f, x, ch, c) for c in v.num_cells(t, col) if cell_sources(v.kg, c["key"], ev)]
    if not opts:
        return None
    f, x, ch, c = rng.choice(opts)
    kind = v.key_type(v.formula_bindings(f)[x][0])
    q = f"Passage {v.passage_no(ch)} states one quantity of a {kind}. Which symbol stands for that quantity in {v.label(f)}?"
    spec = {"op": "stated_symbol", "formula": f, "chunk": ch, "stated_cell": c["key"]}
    cot = [f"Passage {v.passage_no(ch)} states the {_q(v, f, x)} of {c['entity']} ({c['raw']}).",
           f"In {v.label(f)}, {x} is the {_q(v, f, x)}."]
    return _finish("formula_passage_symbol", q, spec, cot, [c["key"]], v, rng, pool=list(v.node(f)["variables"]),
                   as_choice=rng.random() < 0.5)


@family("chart_formula_argmax", pick=_pick_chart)
def chart_formula_argmax(v: View, rng, i, t, col):
    """Two hops: the tallest (shortest) bar of the chart, then the formula with that bar's value."""
    return _chart_formula(v, rng, i, t, col, by_bar=True)


@family("chart_formula", pick=_pick_chart)
def chart_formula(v: View, rng, i, t, col):
    return _chart_formula(v, rng, i, t, col)


def _chart_formula(v: View, rng, i, t, col, by_bar: bool = False):
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
    if by_bar:
        op = rng.choice(["argmax", "argmin"])
        cells = v.num_cells(t, col)
        ent = (max if op == "argmax" else min)(cells, key=lambda c: c["value"])["entity"]
        if ent not in rows or [c["value"] for c in cells].count(rows[ent][s]["value"]) > 1:
            return None
    row = rows[ent]
    spec = {"op": "formula", "formula": f, "target": target, "bind": {x: {"cell": row[x]["key"]} for x in others + [s]},
            "round": 2}
    if by_bar:  # the bar is found, not named: its value is read from the tallest (shortest) bar
        spec["bind"][s] = {"op": "attr", "args": [{"op": op, "args": [{"cell": c["key"]} for c in cells]}], "table": t,
                           "column": col}
    pool = []
    for c in v.num_cells(t, col):  # distractors: the same computation with another bar's value
        try:
            pool.append(fmt_num(evaluate(v.kg, {**spec, "bind": {**spec["bind"], s: {"cell": c["key"]}}}), 2))
        except ComputeError:
            pass
    given = f" and {_given(v, f, row, others)}" if others else ""
    who = f"of the {v.key_type(t)} with the {'tallest' if op == 'argmax' else 'shortest'} bar" if by_bar else f"of {ent}"
    q = (f"{v.label(i)} shows the {cn(col)} of each {v.key_type(t)}. Using {v.label(f)} with the {_q(v, f, s)} {s} "
         f"{who} read from the figure{given}, compute the {_q(v, f, target)} {target}. Round to 2 decimal places.")
    cot = [f"From {v.label(i)}, {ent} has {cn(col)} {fmt_num(row[s]['value'])}.",
           f"{v.label(f)}: ${v.node(f)['latex']}$; solve for {target}."]
    return _finish("chart_formula_argmax" if by_bar else "chart_formula", q, spec, cot,
                   [row[x]["key"] for x in others + [s]], v, rng, pool=pool, extra_nodes=[t], hops=2 if by_bar else None)
