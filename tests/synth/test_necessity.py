"""Necessity (issue 14): a question is kept only when it needs every node kind its task type lists, checked on
the graph — removing any one needed node from the evidence makes the gold answer not derivable. Hand-built
cases with the needed nodes worked out by hand, then every record on real documents (../shared/realdocs)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from synthfix import assert_needed

from mmreason.synth.generate import FAMILIES, View
from mmreason.synth.generate.necessity import check, clauses, derivable, needed
from mmreason.synth.kg.graph import KG, entity_id

DOC = """# Solvents

We compare Alpha, Beta and Gamma in Table 1.

| Compound | Molar mass (g/mol) | Density (g/cm³) | Class |
|---|---|---|---|
| Alpha | 30 | 1.5 | Alcohol |
| Beta | 20 | 0.5 | Ketone |
| Gamma | 80 | 2 | Alcohol |

Table 1: Samples.

Beta has a molar mass of 20 g/mol. The class entry for Gamma is Alcohol.
"""


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    from mmreason.synth.ingest import read_document
    from mmreason.synth.kg.extractors import extract_structural

    root = tmp_path_factory.mktemp("nec")
    (root / "doc.md").write_text(DOC, encoding="utf-8")
    kg = KG()
    extract_structural(read_document(root / "doc.md", root), kg, [])
    g = kg.g
    lists, states = sorted((n for n, d in g.nodes(data=True) if d["type"] == "Chunk"), key=lambda n: g.nodes[n]["block"])
    t = kg.nodes_of("Table")[0]
    cell = {(g.nodes[u]["name"], d["name"]): k for u, _, k, d in g.in_edges(t, keys=True, data=True)
            if d["type"] == "has_attribute"}
    return kg, lists, states, t, cell


def _gone(ev, n):
    return {k: v for k, v in ev.items() if k != n}


def test_a_value_the_passage_states_needs_no_table_and_is_rejected(doc):
    kg, lists, states, t, cell = doc
    spec = {"op": "value", "args": [{"cell": cell["Beta", "Molar mass"]}]}
    ev = dict.fromkeys([states, t])
    # Beta's molar mass is in Table 1 and in the second passage: either one gives it, neither is needed
    assert clauses(kg, spec, ev) == [frozenset({states, t})]
    assert needed(clauses(kg, spec, ev)) == set()
    assert check(kg, {"Table": 1, "Chunk": 1}, spec, ev)[1] == "needs 0 Table node(s), the task requires 1"
    # Alpha's is only in the table: the table is needed, the passage is not
    spec = {"op": "value", "args": [{"cell": cell["Alpha", "Molar mass"]}]}
    assert check(kg, {"Table": 1}, spec, ev) == ([t], None)
    assert check(kg, {"Table": 1, "Chunk": 1}, spec, ev)[1] == "needs 0 Chunk node(s), the task requires 1"


def test_the_row_a_passage_names_needs_the_passage_and_the_table(doc):
    kg, lists, states, t, cell = doc
    # "the second compound the first passage names" = Beta (Alpha, Beta, Gamma in reading order); its density
    # 0.5 is only in the table
    spec = {"op": "attr", "args": [{"op": "named", "chunk": lists, "table": t, "n": 1}], "table": t, "column": "Density"}
    ev = dict.fromkeys([lists, t])
    assert check(kg, {"Table": 1, "Chunk": 1}, spec, ev) == (sorted([lists, t]), None)
    assert derivable(kg, spec, ev, "0.5")
    assert not derivable(kg, spec, _gone(ev, lists), "0.5") and not derivable(kg, spec, _gone(ev, t), "0.5")


def test_passages_only_the_row_from_one_the_value_from_the_other(doc):
    kg, lists, states, t, cell = doc
    # table hidden: "the second compound Passage 1 names" (Beta) needs passage 1, its molar mass (20) passage 2
    spec = {"op": "attr", "args": [{"op": "named", "chunk": lists, "table": t, "n": 1}], "table": t,
            "column": "Molar mass"}
    ev = dict.fromkeys([lists, states])
    assert check(kg, {"Chunk": 2}, spec, ev) == (sorted([lists, states]), None)
    # Alpha's molar mass is stated by no passage: not derivable without the table
    spec["args"][0]["n"] = 0
    assert check(kg, {"Chunk": 2}, spec, ev)[1] == "not derivable from the evidence"


def test_a_fact_of_the_facts_list_needs_both_entities(doc):
    kg, lists, states, t, cell = doc
    gamma, alcohol = entity_id("Gamma", "Compound"), entity_id("Alcohol", "Class")
    rel = next(k for _, w, k, d in kg.g.out_edges(gamma, keys=True, data=True) if d["type"] == "relation")
    spec = {"op": "relation", "args": [{"rel": rel}]}
    ev = dict.fromkeys([gamma, alcohol, entity_id("Beta", "Compound")])
    assert check(kg, {"Entity": 2}, spec, ev) == (sorted([gamma, alcohol]), None)
    # the passage "The class entry for Gamma is Alcohol." states it too: then no entity is needed
    assert needed(clauses(kg, spec, {**ev, states: None})) == set()


def test_family_questions_need_what_their_type_lists(doc):
    kg, lists, states, t, cell = doc
    alpha = entity_id("Alpha", "Compound")
    for fam, nodes, shown, required in (("passage_lookup", [lists, alpha, t], {"Chunk", "Table"}, {"Chunk": 1, "Table": 1}),
                                        ("passage_rank", [lists, alpha, t], {"Chunk", "Table"}, {"Chunk": 1, "Table": 1}),
                                        ("passage_pair", [lists, alpha, t], {"Chunk", "Table"}, {"Chunk": 1, "Table": 1})):
        v = View(kg, nodes, shown)
        for seed in range(6):
            d = FAMILIES[fam](v, random.Random(seed))
            assert d is not None, fam
            ev = {lists: None, t: None}
            need, why = check(kg, required, d.compute, ev, d.question, d.hide_columns)
            assert why is None and set(need) == {lists, t}, (fam, d.question)
            for n in need:
                assert not derivable(kg, d.compute, _gone(ev, n), d.value, d.question), (fam, n)


REAL = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "docs"


def test_every_question_on_real_documents_needs_its_required_kinds(tmp_path):
    from mmreason.core.io import read_jsonl
    from mmreason.synth.kg import build_kg
    from mmreason.synth.kg.store import load_graph
    from mmreason.synth.run import run_qa, run_sample

    inp = tmp_path / "in"
    inp.mkdir()
    # a bounded subset (a paper with tables and passages naming their rows, a web page, a spreadsheet)
    for rel in ("pdf/acl2025-long-1.pdf", "html/wiki_duck.html", "office/xlsx_02_sample_sales_data.xlsm"):
        shutil.copy(REAL / rel, inp)  # (into the test's temporary folder; the reader does not follow links out)
    cfg = {"synth": {"input_dir": str(inp), "out_dir": str(tmp_path / "out"), "progress": False,
                     "kg": {"graphml": False}, "score": {"difficulty": {"solver": None}}}}
    build_kg(cfg, progress=False)
    run_sample(cfg)
    run_qa(cfg)
    recs = list(read_jsonl(tmp_path / "out" / "qa" / "records.jsonl"))
    assert {"STSC", "ST", "Entity", "MT"} <= {r["task_type"] for r in recs}
    assert_needed(load_graph(tmp_path / "out" / "kg" / "graph.json"), recs)
