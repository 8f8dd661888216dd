"""Answers computed on a hand-built graph (values worked out by hand), families, rendering, the llm generator."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mmreason.core.generation.base import Completion, GenerationBackend
from mmreason.synth.generate import FAMILIES, ComputeError, View, evaluate, fmt_num, render
from mmreason.synth.generate.families import make_choice
from mmreason.synth.kg.graph import KG, prov


def _kg() -> tuple[KG, dict]:
    k = KG()
    p = prov("doc:1", 1)
    k.add_node("doc:1", "Document", p, domain="chemistry", path="c.md")
    k.add_node("table:1", "Table", p, doc="doc:1", label="Table 1", caption="Table 1: Samples",
               header=["Compound", "Density (g/cm³)", "Mass (g)", "Volume (cm³)", "Molar mass (g/mol)"],
               columns=["Compound", "Density", "Mass", "Volume", "Molar mass"], units=[None, "g/cm³", "g", "cm³", "g/mol"],
               rows=[["A", "1.5", "15", "10", "30"], ["B", "0.5", "4", "8", "20"], ["C", "2", "40", "20", "80"]],
               kinds=["key", "number", "number", "number", "number"], key_column=0)
    k.add_node("formula:1", "Formula", p, doc="doc:1", label="Eq. (1)", latex="\\rho = \\frac{m}{V}",
               variables=["V", "m", "rho"], quantities={"rho": "density", "m": "mass", "V": "volume"}, parse_error=None)
    k.add_node("formula:2", "Formula", p, doc="doc:1", label="Eq. (2)", latex="n = \\frac{m}{M}",
               variables=["M", "m", "n"], quantities={"n": "amount", "m": "mass", "M": "molar mass"}, parse_error=None)
    keys = {}
    for r, row in enumerate([["A", 1.5, 15, 10, 30], ["B", 0.5, 4, 8, 20], ["C", 2, 40, 20, 80]]):
        e = k.add_entity(row[0], "Compound", p)
        k.add_edge(e, "table:1", "row_of", p, row=r)
        for c, name in enumerate(["Density", "Mass", "Volume", "Molar mass"], start=1):
            keys[(row[0], name)] = k.add_edge(e, "table:1", "has_attribute", p, name=name, value=float(row[c]),
                                              unit=None, raw=str(row[c]), row=r, col=c, table="table:1")
    for f, pairs in (("formula:1", {"rho": "Density", "m": "Mass", "V": "Volume"}),
                     ("formula:2", {"m": "Mass", "M": "Molar mass"})):
        for var, col in pairs.items():
            k.add_edge(f, "table:1", "uses_quantity", prov("doc:1", 2), variable=var, column=col, quantity=col,
                       col=["Density", "Mass", "Volume", "Molar mass"].index(col) + 1)
    return k, keys


def test_compute_ops_by_hand():
    kg, K = _kg()
    c = lambda e, n: {"cell": K[(e, n)]}  # noqa: E731
    assert evaluate(kg, {"op": "value", "args": [c("A", "Mass")]}) == 15
    assert evaluate(kg, {"op": "sub", "args": [c("C", "Mass"), c("B", "Mass")]}) == 36
    assert evaluate(kg, {"op": "div", "args": [c("A", "Mass"), c("A", "Volume")]}) == 1.5
    assert evaluate(kg, {"op": "mean", "args": [c(e, "Volume") for e in "ABC"]}) == pytest.approx(38 / 3)
    assert evaluate(kg, {"op": "argmax", "args": [c(e, "Density") for e in "ABC"]}) == "C"
    assert evaluate(kg, {"op": "argmin", "args": [c(e, "Density") for e in "ABC"]}) == "B"
    assert evaluate(kg, {"op": "count_gt", "args": [c(e, "Mass") for e in "ABC"], "threshold": 10}) == 2
    assert evaluate(kg, {"op": "rank_desc", "args": [c("A", "Mass"), c("B", "Mass"), c("C", "Mass")]}) == 2
    # Eq. (1) solved for V with rho = 2, m = 40: V = 20
    assert evaluate(kg, {"op": "formula", "formula": "formula:1", "target": "V",
                         "bind": {"rho": c("C", "Density"), "m": c("C", "Mass")}}) == pytest.approx(20)
    # chain: m = rho V = 1.5 * 10 = 15 (Eq. 1), n = m / M = 15 / 30 = 0.5 (Eq. 2)
    inner = {"op": "formula", "formula": "formula:1", "target": "m", "bind": {"rho": c("A", "Density"), "V": c("A", "Volume")}}
    assert evaluate(kg, {"op": "formula", "formula": "formula:2", "target": "n",
                         "bind": {"m": inner, "M": c("A", "Molar mass")}}) == pytest.approx(0.5)
    assert evaluate(kg, {"op": "attr", "args": [{"op": "argmax", "args": [c(e, "Mass") for e in "ABC"]}],
                         "table": "table:1", "column": "Volume"}) == 20
    with pytest.raises(ComputeError):
        evaluate(kg, {"op": "value", "args": [{"cell": "e:missing"}]})
    with pytest.raises(ComputeError, match="tie"):
        evaluate(kg, {"op": "argmax", "args": [c("A", "Mass"), c("A", "Mass")]})
    assert evaluate(kg, {"op": "add", "args": [c("A", "Mass"), {"num": 2.5}]}) == 17.5
    assert evaluate(kg, {"op": "max", "args": [c(e, "Mass") for e in "ABC"]}) - evaluate(
        kg, {"op": "min", "args": [c(e, "Mass") for e in "ABC"]}) == 40 - 4  # Mass: A 15, B 4, C 40
    with pytest.raises(ComputeError, match="division by zero"):
        evaluate(kg, {"op": "div", "args": [c("A", "Mass"), {"num": 0}]})
    with pytest.raises(ComputeError, match="no values"):
        evaluate(kg, {"op": "mean", "args": []})


def test_fmt_num_and_render():
    assert [fmt_num(x) for x in (4.0, 4.5, 120.0, -0.0)] == ["4", "4.5", "120", "0"]
    assert fmt_num(120.0, 0) == "120" and fmt_num(2 / 3, 2) == "0.67" and fmt_num(0.705, 4) == "0.705"
    assert render(1.23456, {"round": 2}) == "1.23" and render("C", {}) == "C"


def test_make_choice_is_seeded_and_contains_the_answer():
    opts, letter = make_choice("C", ["A", "B", "C", "D", "E"], random.Random(0))
    assert len(opts) == 4 and opts[ord(letter) - 65] == "C" and len(set(opts)) == 4
    assert make_choice("C", ["A", "B", "C", "D", "E"], random.Random(0)) == (opts, letter)
    assert make_choice("C", ["C"], random.Random(0)) is None


@pytest.mark.parametrize("fam", ["table_lookup", "table_diff", "table_ratio", "table_sum", "table_argmax",
                                 "table_count_gt"])
def test_table_families_answer_what_the_graph_says(fam):
    kg, _ = _kg()
    view = View(kg, ["table:1"], {"Table"})
    for seed in range(5):
        d = FAMILIES[fam](view, random.Random(seed))
        if d is None:
            continue
        assert d.value == render(evaluate(kg, d.compute), d.compute)
        assert d.question.endswith("?") or "Round" in d.question
        assert d.cot


def test_formula_families():
    kg, _ = _kg()
    view = View(kg, ["formula:1", "doc:1", "formula:2"], {"Formula"})
    d = FAMILIES["formula_chain"](view, random.Random(0))
    assert d is not None and d.compute["op"] == "formula" and d.compute["bind"]["m"]["op"] == "formula"
    # the row is named by its values only; whatever row was drawn, n = rho * V / M
    row = {"A": 0.5, "B": 0.2, "C": 0.5}
    assert float(d.answer) in set(row.values())
    s = FAMILIES["formula_symbol"](View(kg, ["formula:1"], {"Formula"}), random.Random(1))
    assert s.answer_type == "choice" and s.value in ("rho", "m", "V")


class _Fake(GenerationBackend):
    name = "fake"

    def __init__(self, replies):
        self.replies, self.seen = replies, 0

    def generate(self, chats, params):
        out = []
        for _ in chats:
            out.append([Completion(self.replies[self.seen % len(self.replies)])])
            self.seen += 1
        return out


def _record(kg, fam="table_lookup"):
    from mmreason.synth.generate.template import make_record
    from mmreason.synth.sampling import Path as SPath
    from mmreason.synth.sampling import SamplerSpec
    from mmreason.synth.tasks import TaskType

    task = TaskType("STX", {"Table": 1}, SamplerSpec(), [fam])
    view = View(kg, ["table:1"], {"Table"})
    d = FAMILIES[fam](view, random.Random(0))
    return make_record(kg, SPath(["table:1"]), task, d, Path("."), False, view)


def test_llm_generator_accepts_checked_output_and_falls_back_otherwise():
    from mmreason.synth.generate.llm import rephrase

    kg, _ = _kg()
    rec = _record(kg)
    ans = rec["answer"]
    good = f"Question: Look up the requested value for that compound in the table, please.\nReasoning: read it. \\boxed{{{ans}}}"
    leaky = f"Question: Is it {ans}? It is {ans} for that compound in the table.\nReasoning: \\boxed{{{ans}}}"
    wrong = "Question: What is the value for that compound in the table?\nReasoning: it is \\boxed{123456}"
    out, st = rephrase(kg, [rec, rec, rec, rec], _Fake([good, leaky, wrong, "noise"]), batch_size=4)
    assert st["accepted"] == 1 and st["fallback"] == 3
    assert set(st["reasons"]) == {"question states the answer", "unparsable reply",
                                  "gold answer does not grade correct against the reasoning"}
    p0 = json.loads(out[0]["provenance"])
    assert p0["generator"] == "llm" and p0["model"] == "fake" and "Look up the requested value" in out[0]["problem"]
    assert json.loads(out[1]["provenance"])["generator"] == "template" and out[1]["problem"] == rec["problem"]


def test_llm_generator_with_the_tiny_model_counts_fallbacks(tmp_path):
    import torch

    from mmreason.core.generation import make_backend
    from mmreason.synth.cache import CachedBackend, GenerationCache
    from mmreason.synth.generate.llm import rephrase

    torch.set_num_threads(1)
    kg, _ = _kg()
    recs = [_record(kg, f) for f in ("table_lookup", "table_diff")]
    be = CachedBackend(make_backend({"backend": "hf", "batch_size": 4}, {"name": "tiny"}), GenerationCache(tmp_path))
    out, st = rephrase(kg, recs, be, max_new_tokens=8)
    assert st["asked"] == 2 and st["accepted"] + st["fallback"] == 2 and be.calls == 2
    out2, st2 = rephrase(kg, recs, be, max_new_tokens=8)
    assert be.calls == 2 and be.hits == 2 and out2 == out  # the second pass is served from the cache
