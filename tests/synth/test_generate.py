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


# Every question family on one small fixed document, each with the answer worked out by hand from the
# document below (not by the generator's code). Table 1: Alpha 1.5 g/cm³, 15 g, 10 cm³, 30 g/mol, Alcohol;
# Beta 0.5, 4, 8, 20, Ketone; Gamma 2, 40, 20, 80, Alcohol. Table 2: Alpha 78 °C, 12 USD; Beta 56, 30;
# Gamma 118, 9. Figure 1 plots Table 1's mass, Figure 2 Table 2's boiling point; Eq. (1) rho = m / V,
# Eq. (2) n = m / M. A family that yields nothing here fails.
FIXED_DOC = """# Solvents

Alpha has a density of 1.5 g/cm³ and Beta is the lightest compound (Table 1).

| Compound | Density (g/cm³) | Mass (g) | Volume (cm³) | Molar mass (g/mol) | Class |
|---|---|---|---|---|---|
| Alpha | 1.5 | 15 | 10 | 30 | Alcohol |
| Beta | 0.5 | 4 | 8 | 20 | Ketone |
| Gamma | 2 | 40 | 20 | 80 | Alcohol |

Table 1: Samples.

| Compound | Boiling point (°C) | Price (USD) |
|---|---|---|
| Alpha | 78 | 12 |
| Beta | 56 | 30 |
| Gamma | 118 | 9 |

Table 2: Properties (Figure 1, Figure 2, Eq. (1), Eq. (2)).

![Figure 1: Mass (g) of the compounds in Table 1](f1.png)

![Figure 2: Boiling point by compound](f2.png)

Gamma boils last; the class of Alpha is Alcohol (Figure 2).

$$
\\rho = \\frac{m}{V} \\tag{1}
$$

where $\\rho$ is the density, $m$ is the mass, $V$ is the volume.

$$
n = \\frac{m}{M} \\tag{2}
$$

where $n$ is the amount, $m$ is the mass, $M$ is the molar mass.
"""

# family -> (view, question (seed 0), answer worked out by hand from FIXED_DOC)
EXPECTED = {
    "table_lookup": ("table", "According to Table 1, what is the molar mass of Alpha (in g/mol)?", "30"),
    "table_diff": ("table", "Using Table 1, what is the molar mass of Alpha minus the molar mass of Beta (in g/mol)?", "10"),
    "table_ratio": ("table", "Using Table 1, divide the molar mass of Alpha by that of Beta. Round the result to 2 "
                    "decimal places.", "1.5"),  # 30 / 20
    "table_sum": ("table", "What is the total molar mass over all compound rows of Table 1 (in g/mol)? Round to 2 "
                  "decimal places.", "130"),  # 30 + 20 + 80
    "table_argmax": ("table", "Which compound has the largest molar mass in Table 1?", "Gamma"),
    "table_argmin": ("table", "Which compound has the smallest molar mass in Table 1?", "Beta"),
    "table_count_gt": ("table", "How many compound rows of Table 1 have a molar mass greater than 25 g/mol?", "2"),
    "table_compare": ("table", "According to Table 1, which has the larger molar mass: Alpha or Beta?", "Alpha"),
    "table_rank": ("table", "Rank the compound rows of Table 1 by molar mass, largest first. At which position is "
                   "Alpha?", "2"),  # Gamma 80 > Alpha 30 > Beta 20
    "table_category_count": ("table", "How many compound rows of Table 1 have class Alcohol?", "2"),
    "table_relation": ("table", "According to Table 1, what is the class entry for Beta?", "Ketone"),
    "passage_lookup": ("passage", "Take the second compound row of Table 1 that Passage 1 names. What is its volume "
                       "according to Table 1 (in cm³)?", "8"),  # Passage 1 names Alpha, then Beta
    "passage_rank": ("passage", "Rank the compound entries of Table 1 by molar mass, largest first. At which position is "
                     "the second compound row of Table 1 that Passage 1 names?", "3"),  # Gamma 80 > Alpha 30 > Beta 20
    "passage_entity": ("passage", "Take the second compound row of Table 1 that Passage 1 names. What is its class "
                       "entry according to Table 1?", "Ketone"),
    "passage_pair": ("passage", "Take the second compound row of Table 1 that Passage 1 names, and the first compound "
                     "row of Table 1 that Passage 1 names. Which of the two has the larger molar mass according to "
                     "Table 1?", "Alpha"),  # Beta 20 < Alpha 30
    "passage_pair_tables": ("mtmc", "Take the first compound row of Table 1 that Passage 2 names, and the first compound "
                            "row of Table 2 that Passage 1 names. Give the molar mass of the first (Table 1) and the "
                            "boiling point of the second (Table 2), as 'first; second'.", "80; 78"),  # Gamma; Alpha
    "passage_fact": ("passages", "According to the passages, what is the density of Alpha (in g/cm³)?", "1.5"),
    "passage_count": ("passages", "How many of these compound entries are named in the passages: Alpha, Beta, Gamma?",
                      "3"),
    "passage_relation": ("passages", "According to the passages, what is the class entry for Alpha?", "Alcohol"),
    "entity_relation": ("entity", "What is the class entry for Alpha?", "Alcohol"),
    "entity_count": ("entity", "How many of the listed facts have Alcohol as their class entry?", "2"),
    "entity_chain": ("chain", "What is the molar mass of the other compound whose class entry is the class entry of "
                     "Alpha (in g/mol)?", "80"),  # Alpha -> Alcohol <- Gamma; Gamma's molar mass
    "multi_table_join": ("mjoin", "In Table 1, take the trained on entry of Wren. What is its size according to Table 2 "
                         "(in GB)?", "60"),  # JOIN_DOC: Wren -> Books -> 60 GB
    "table_chain": ("table", "In Table 1, what is the mass of the compound whose molar mass is 80 (in g)?", "40"),  # Gamma
    "formula_table_argmax": ("ftable", "Find the compound with the smallest molar mass in Table 1. Using Eq. (1) and its "
                             "values in Table 1, compute its density rho. Round to 2 decimal places.", "0.5"),  # Beta 4/8
    "passage_chain": ("pchain", "According to Passage 1, what is the trained on entry of the model whose parameters is "
                      "340?", "Books"),  # JOIN_DOC's passage: Wren, 340 M, trained on Books
    "entity_shared": ("entity3", "Which other compound has the same class entry as Alpha?", "Gamma"),
    "multi_table_argmax": ("mt", "Give the compound with the smallest price in Table 2 and the compound with the "
                           "smallest density in Table 1, as 'first; second'.", "Gamma; Beta"),
    "multi_table_count": ("mt", "Count the compound rows with price above 20 USD in Table 2, plus the compound rows "
                          "with density above 1.8 g/cm³ in Table 1. What is the total?", "2"),  # Beta; Gamma
    "multi_table_sum": ("mt", "Add the price of Beta in Table 2 to the density of Gamma in Table 1 (ignore units). "
                        "What is the sum?", "32"),  # 30 + 2
    "join_lookup": ("join", "Find the compound with the smallest price in Table 2. What is its density in Table 1 "
                    "(in g/cm³)?", "2"),  # Gamma
    "chart_argmax": ("chart", "Which compound has the largest boiling point in Figure 2?", "Gamma"),
    "chart_argmin": ("chart", "Which compound has the smallest boiling point in Figure 2?", "Beta"),
    "chart_value": ("chart", "Read Figure 2: what is the boiling point of Beta (in °C)?", "56"),
    "chart_compare": ("chart", "In Figure 2, which has the larger boiling point: Beta or Alpha?", "Alpha"),
    "chart_count_gt": ("chart", "How many bars in Figure 2 show a boiling point above 100 °C?", "1"),
    "chart_diff": ("chart", "In Figure 2, what is the difference between the tallest and the shortest bar (in °C)?",
                   "62"),  # 118 - 56
    "multi_chart_argmax": ("charts", "Give the compound with the largest mass in Figure 1 and the compound with the "
                           "largest boiling point in Figure 2, as 'first; second'.", "Gamma; Gamma"),
    "multi_chart_argmin": ("charts", "Give the compound with the smallest mass in Figure 1 and the compound with the "
                           "smallest boiling point in Figure 2, as 'first; second'.", "Beta; Beta"),
    "multi_chart_count": ("charts", "Count the bars with mass above 30 g in Figure 1, plus the bars with boiling point "
                          "above 70 °C in Figure 2. What is the total?", "3"),  # Gamma; Alpha, Gamma
    "chart_join": ("chartjoin", "Find the compound with the tallest bar in Figure 2. What is its price according to "
                   "Table 2 (in USD)?", "9"),
    "formula_eval": ("formula", "Using Eq. (1), compute the density rho when volume V = 8 cm³, mass m = 4 g. Round to 2 "
                     "decimal places.", "0.5"),
    "formula_solve": ("formula", "Using Eq. (1), compute the mass m when volume V = 10 cm³, density rho = 1.5 g/cm³. "
                      "Round to 2 decimal places.", "15"),
    "formula_eval_named": ("formula", "Using Eq. (1), compute the density when volume = 10 cm³, mass = 15 g. Round to 2 "
                           "decimal places.", "1.5"),  # 15 / 10
    "formula_passage": ("sfmc", "Passage 1 gives the density of one compound. Using Eq. (1), compute that compound's "
                        "mass from that density and its volume = 10 cm³. Round to 2 decimal places.", "15"),  # 1.5 * 10
    "formula_passage_symbol": ("sfmc", "Passage 1 states one quantity of a compound. Which symbol stands for that "
                               "quantity in Eq. (1)?", "rho"),  # Passage 1: "Alpha has a density of 1.5"
    "formula_chain_named": ("formulas", "A sample has volume = 8 cm³, density = 0.5 g/cm³, molar mass = 20 g/mol. Using "
                            "Eq. (1) and then Eq. (2), compute its amount. Round to 2 decimal places.", "0.2"),  # 4/20
    "formula_compare_named": ("formulas", "Evaluate Eq. (1) with volume = 8 cm³, mass = 4 g; and Eq. (2) with molar mass "
                              "= 20 g/mol, mass = 4 g. Which equation gives the larger number?", "Eq. (1)"),
    "formula_symbol": ("formula", "In Eq. (1), which symbol stands for the mass?", "m"),
    "formula_chain": ("formulas", "A sample has volume V = 8 cm³, density rho = 0.5 g/cm³, molar mass M = 20 g/mol. "
                      "Using Eq. (1) and then Eq. (2), compute its amount n. Round to 2 decimal places.", "0.2"),  # 4/20
    "formula_chain_strict": ("formulas", "A sample has volume V = 8 cm³, density rho = 0.5 g/cm³, molar mass M = 20 "
                             "g/mol. Using Eq. (1) and then Eq. (2), compute its amount n. Round to 2 decimal places.",
                             "0.2"),  # m = 0.5 * 8 = 4; n = 4 / 20
    "formula_compare": ("formulas", "Evaluate Eq. (1) with volume V = 8 cm³, mass m = 4 g; and Eq. (2) with molar mass "
                        "M = 20 g/mol, mass m = 4 g. Which equation gives the larger number?", "Eq. (1)"),  # 0.5 > 0.2
    "formula_table": ("ftable", "Using Eq. (1) and the values in Table 1, compute the density rho of Beta. Round to 2 "
                      "decimal places.", "0.5"),
    "chart_formula_argmax": ("chartformula", "Figure 1 shows the mass of each compound. Using Eq. (1) with the mass m "
                             "of the compound with the tallest bar read from the figure and volume V = 20 cm³, compute "
                             "the density rho. Round to 2 decimal places.", "2"),  # Gamma: 40 g / 20 cm³
    "chart_relation": ("chartrel", "Find the compound with the shortest bar in Figure 1. What is its class entry "
                       "according to Table 1?", "Ketone"),  # mass: Beta 4 < Alpha 15 < Gamma 40; Beta's class
    "formula_walk": ("ftable", "Using Eq. (1) and the values in Table 1, compute the density rho of the compound whose "
                     "class entry is Ketone. Round to 2 decimal places.", "0.5"),  # Beta (the only Ketone): 4 g / 8 cm³
    "multi_chart_join": ("charts", "Find the compound with the shortest bar in Figure 2. What is its mass in Figure 1 "
                         "(in g)?", "4"),  # boiling point: Beta 56 is lowest; Beta's mass 4 g
    "chart_formula": ("chartformula", "Figure 1 shows the mass of each compound. Using Eq. (1) with the mass m of Beta "
                      "read from the figure and volume V = 8 cm³, compute the density rho. Round to 2 decimal places.",
                      "0.5"),
}


# Two tables joined on a shared entity: Table 1's "Trained on" entries are Table 2's rows.
JOIN_DOC = """# Models

| Model | Parameters (M) | Trained on |
|---|---|---|
| Orca | 120 | Pile |
| Wren | 340 | Books |
| Kite | 90 | Pile |

Table 1: Models.

| Dataset | Size (GB) | Released by |
|---|---|---|
| Pile | 800 | EleutherAI |
| Books | 60 | Gutenberg |

Table 2: Datasets.

Wren has 340 M parameters; the trained on entry for Wren is Books.
"""


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    from synthfix import png

    from mmreason.synth.ingest import read_document
    from mmreason.synth.kg.extractors import extract_structural
    from mmreason.synth.kg.graph import entity_id

    root = tmp_path_factory.mktemp("fixed")
    png(root / "f1.png")
    png(root / "f2.png")
    (root / "doc.md").write_text(FIXED_DOC, encoding="utf-8")
    kg = KG()
    extract_structural(read_document(root / "doc.md", root), kg, [])
    g = kg.g
    lab = {d["label"]: n for n, d in g.nodes(data=True) if d.get("label")}
    ch = sorted((n for n, d in g.nodes(data=True) if d["type"] == "Chunk"), key=lambda n: g.nodes[n]["block"])
    doc = kg.nodes_of("Document")[0]
    t1, t2, f1, f2, i1, i2 = (lab[x] for x in ("Table 1", "Table 2", "Eq. (1)", "Eq. (2)", "Figure 1", "Figure 2"))
    a, c, alc = entity_id("Alpha", "Compound"), entity_id("Gamma", "Compound"), entity_id("Alcohol", "Class")
    views = {"table": ([t1], {"Table"}), "passage": ([ch[0], a, t1], {"Chunk", "Table"}),
             "passages": ([ch[0], a, ch[1]], {"Chunk"}), "entity": ([a, alc], {"Entity"}),
             "entity3": ([a, alc, c], {"Entity"}), "mt": ([t1, doc, t2], {"Table"}), "join": ([t1, a, t2], {"Table"}),
             "chart": ([ch[1], i2, t2], {"Image", "Chunk"}), "charts": ([i1, doc, i2], {"Image"}),
             "chartjoin": ([i2, t2], {"Image", "Table"}), "chartrel": ([i1, t1], {"Image", "Table"}), "formula": ([f1, ch[2]], {"Formula", "Chunk"}),
             "formulas": ([f1, doc, f2], {"Formula"}), "ftable": ([f1, t1], {"Formula", "Table"}),
             "chartformula": ([i1, t1, f1], {"Image", "Formula"}),
             "mtmc": ([ch[0], t1, t2, ch[1]], {"Chunk", "Table"}), "sfmc": ([ch[0], a, t1, f1, ch[2]], {"Formula", "Chunk"})}
    out = {k: View(kg, nodes, shown) for k, (nodes, shown) in views.items()}
    out["chain"] = View(kg, [a, alc, c], {"Entity"}, max_steps=4)
    (root / "m.md").write_text(JOIN_DOC, encoding="utf-8")
    kg2 = KG()
    extract_structural(read_document(root / "m.md", root), kg2, [])
    lab2 = {d["label"]: n for n, d in kg2.g.nodes(data=True) if d.get("label")}
    out["mjoin"] = View(kg2, [lab2["Table 1"], kg2.nodes_of("Document")[0], lab2["Table 2"]], {"Table"})
    out["pchain"] = View(kg2, kg2.nodes_of("Chunk"), {"Chunk"})
    return kg, out


def test_every_family_has_a_hand_checked_case():
    assert set(EXPECTED) == set(FAMILIES)  # a new family needs its own worked answer here


@pytest.mark.parametrize("fam", sorted(EXPECTED))
def test_family_gives_the_hand_computed_answer(fixed, fam):
    kg, views = fixed
    view, question, answer = EXPECTED[fam]
    d = FAMILIES[fam](views[view], random.Random(0))
    assert d is not None, f"{fam} yields no question on its path"
    assert d.question == question
    assert d.value == answer
    assert d.answer_type != "choice" or d.choices[ord(d.answer) - 65] == answer
    assert d.cot and (d.facts or fam in ("formula_symbol", "formula_passage_symbol"))  # the symbol is read off the formula node


# The three multi-hop presets added last (SF-, SI-, MI-multihop): the nodes each question needs, worked out by
# hand — the walk's relation and the row's values come only from Table 1 (its plotted Mass column hidden for
# chart_relation), the bar order only from the figure, the equation only from Eq. (1).
@pytest.mark.parametrize("fam,view,needs", [("chart_relation", "chartrel", ("Figure 1", "Table 1")),
                                            ("formula_walk", "ftable", ("Eq. (1)", "Table 1")),
                                            ("multi_chart_join", "charts", ("Figure 1", "Figure 2"))])
def test_multihop_families_need_each_node_they_read(fixed, fam, view, needs):
    from mmreason.synth.generate.necessity import check, derivable

    kg, views = fixed
    lab = {d["label"]: n for n, d in kg.g.nodes(data=True) if d.get("label")}
    v = views[view]
    ev = dict.fromkeys(v.tables + v.charts + v.formulas) if view != "charts" else dict.fromkeys(v.charts)
    for seed in range(4):
        d = FAMILIES[fam](v, random.Random(seed))
        assert d is not None and d.hops == 2
        need, why = check(kg, {}, d.compute, ev, d.question, d.hide_columns)
        assert why is None and set(need) == {lab[x] for x in needs}, (fam, d.question, need)
        assert derivable(kg, d.compute, ev, d.value, d.question, d.hide_columns)
        for n in need:
            rest = {k: x for k, x in ev.items() if k != n}
            assert not derivable(kg, d.compute, rest, d.value, d.question, d.hide_columns), (fam, n)


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


def test_small_results_are_rounded_to_two_significant_digits():
    # the realdocs audit: "total $USD / 1K Input Tokens" over 0.00015 and 0.0025 was "Round to 2 decimal
    # places" with gold 0
    from mmreason.synth.generate.families import places

    assert [places(x) for x in (0, 123.4, 0.1, -0.5, 0.0999, 0.00265, -0.00265, 1e-12)] == [2, 2, 2, 2, 3, 4, 4, 8]
    assert fmt_num(0.00015 + 0.0025, places(0.00015 + 0.0025)) == "0.0027"


def test_sums_and_differences_stay_exact():
    # the realdocs audit: 65.78 (NDCG) + 0.00015 (USD per 1K tokens) was answered "65.7802" with no rounding asked
    from mmreason.synth.generate.families import exact_places

    assert exact_places(65.78, 0.00015) == 5 and exact_places(3.5, 2) == 4
    assert fmt_num(65.78 + 0.00015, exact_places(65.78, 0.00015)) == "65.78015"
    assert fmt_num(0.00015 - 0.0025, exact_places(0.00015, 0.0025)) == "-0.00235"
