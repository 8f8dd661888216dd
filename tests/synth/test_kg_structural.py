from __future__ import annotations

import pytest
from synthfix import png

from mmreason.synth.ingest import read_document
from mmreason.synth.kg.evaluate import evaluate, fact_scores, load_truth
from mmreason.synth.kg.extractors import extract_structural
from mmreason.synth.kg.formulas import parse_formula, where_quantities
from mmreason.synth.kg.graph import KG, entity_id

DOC = """# Valuation

Table 1: Valuation.

| Company | Share price (USD) | EPS (USD) | P/E ratio | Sector |
|---|---|---|---|---|
| Acme Corp | $120.00 | 4.00 | 30.0 | Technology |
| Globex | $1,050.50 | 10.00 | 105.1 | Energy |

Acme Corp trades at 30 times earnings (Table 1, Figure 1, Eq. (1)).

![Figure 1: P/E ratio by company](f.png)

$$
\\mathrm{PE} = \\frac{p}{e} \\tag{1}
$$

where $\\mathrm{PE}$ is the P/E ratio, $p$ is the share price, $e$ is the EPS.

$$ \\frac{1}{ \\tag{2} $$

Table 3 does not exist.
"""


@pytest.fixture
def small(tmp_path):
    png(tmp_path / "f.png")
    (tmp_path / "v.md").write_text(DOC, encoding="utf-8")
    doc = read_document(tmp_path / "v.md", tmp_path)
    kg, issues = KG(), []
    extract_structural(doc, kg, issues)
    return kg, issues, doc


def test_table_rows_cells_units_and_relations(small):
    kg, issues, _ = small
    acme, globex = entity_id("Acme Corp", "Company"), entity_id("Globex", "Company")
    table = kg.nodes_of("Table")[0]
    cells = {(c["entity"], c["column"]): (c["value"], c["unit"]) for c in kg.table_cells(table)}
    assert cells == {("Acme Corp", "Share price"): (120.0, "USD"), ("Acme Corp", "EPS"): (4.0, "USD"),
                     ("Acme Corp", "P/E ratio"): (30.0, None), ("Globex", "Share price"): (1050.5, "USD"),
                     ("Globex", "EPS"): (10.0, "USD"), ("Globex", "P/E ratio"): (105.1, None)}
    rel = kg.entity_relations(globex)
    assert [(r["head"], r["relation"], r["tail"]) for r in rel] == [("Globex", "sector", "Energy")]
    assert rel[0]["provenance"]["doc"].startswith("doc:")
    assert kg.g.nodes[entity_id("Energy", "Sector")]["entity_type"] == "Sector"
    assert kg.g.nodes[table]["values"] == [[None, 120.0, 4.0, 30.0, None], [None, 1050.5, 10.0, 105.1, None]]
    assert kg.g.nodes[kg.nodes_of("Document")[0]]["sections"] == ["Valuation"]
    chunk = next(n for n in kg.nodes_of("Chunk") if "30 times" in kg.g.nodes[n]["text"])
    assert kg.g.nodes[chunk]["section"] == "Valuation"
    # the chunk mentions Acme Corp
    assert any(v == acme for _, v, _, _ in kg.edges_of("mentions"))


def test_references_figures_and_formulas(small):
    kg, issues, doc = small
    table, image = kg.by_label(kg.nodes_of("Document")[0], "Table 1"), kg.nodes_of("Image")[0]
    labels = sorted(d["label"] for *_, d in kg.edges_of("refers_to"))
    assert labels == ["Eq. (1)", "Figure 1", "Table 1"]
    assert kg.plotted_table(image) == (table, ["P/E ratio"], ["Acme Corp", "Globex"])
    f1 = [n for n in kg.nodes_of("Formula") if kg.g.nodes[n]["label"] == "Eq. (1)"][0]
    node = kg.g.nodes[f1]
    assert node["sympy"] == "Eq(PE, p/e)" and node["variables"] == ["PE", "e", "p"]
    assert kg.formula_columns(f1) == {"PE": (table, "P/E ratio"), "p": (table, "Share price"), "e": (table, "EPS")}
    import sympy

    pe, p, e = sympy.symbols("PE p e")
    assert kg.formula_expr(f1) == sympy.Eq(pe, p / e)
    reasons = [i["reason"] for i in issues]
    assert any("Eq. (2)" in r and "sympy cannot parse" in r for r in reasons)
    assert any("'Table 3' does not resolve" in r for r in reasons)
    f2 = [n for n in kg.nodes_of("Formula") if kg.g.nodes[n]["label"] == "Eq. (2)"][0]
    assert kg.g.nodes[f2]["sympy"] is None and kg.g.nodes[f2]["parse_error"]


def test_formula_helpers():
    assert str(parse_formula(r"F_1 = \frac{2 P R}{P + R}")) == "Eq(F_{1}, 2*P*R/(P + R))"
    assert where_quantities(r"where $\rho$ is the density, $m$ the mass and $V$ is the volume.") == \
        {"rho": "density", "m": "mass", "V": "volume"}


def test_fact_scores_hand_computed():
    gold = [{"entity": "A", "entity_type": "T", "relation": "x", "value": 1.0, "unit": "kg"},
            {"entity": "A", "entity_type": "T", "relation": "y", "object": "B"},
            {"entity": "C", "entity_type": "T", "relation": "x", "value": 2.0, "unit": "kg"}]
    pred = [{"entity": "a", "entity_type": "T", "relation": "X", "value": 1.0, "unit": "kg"},  # match
            {"entity": "A", "entity_type": "T", "relation": "y", "object": "b."},  # match
            {"entity": "C", "entity_type": "T", "relation": "x", "value": 2.0, "unit": "g"},  # wrong unit
            {"entity": "D", "entity_type": "T", "relation": "x", "value": 3.0, "unit": "kg"}]  # spurious
    assert fact_scores(pred, gold) == (2, 4, 3)


def test_shipped_corpus_meets_the_bar(corpus_kg):
    kg, truth = corpus_kg
    ev = evaluate(kg, truth)
    assert ev["documents"] == 15
    f = ev["facts"]
    assert f["precision"] >= 0.95 and f["recall"] >= 0.95, ev["problems"][:5]
    assert ev["figures_linked"]["ok"] == ev["figures_linked"]["total"] == 30
    assert ev["references_resolved"]["ok"] == ev["references_resolved"]["total"] > 0
    assert ev["formulas_linked"]["ok"] == ev["formulas_linked"]["total"] == 18


def test_evaluation_notices_a_broken_graph(corpus_kg):
    kg, truth = corpus_kg
    broken = KG(kg.g.copy())
    drop = [(u, v, k) for u, v, k, d in broken.g.edges(keys=True, data=True) if d["type"] == "has_attribute"][::2]
    broken.g.remove_edges_from(drop)
    plots = [(u, v, k) for u, v, k, d in broken.g.edges(keys=True, data=True) if d["type"] == "plots"][:3]
    broken.g.remove_edges_from(plots)
    ev = evaluate(broken, truth)
    assert ev["facts"]["recall"] < 0.8 and ev["facts"]["precision"] == 1.0
    assert ev["figures_linked"]["ok"] == 27


@pytest.fixture(scope="module")
def corpus_kg():
    from synthfix import CORPUS

    from mmreason.synth.ingest import discover

    kg, issues = KG(), []
    for p in discover(CORPUS):
        doc = read_document(p, CORPUS)
        issues += [i.to_dict() for i in doc.issues]
        extract_structural(doc, kg, issues, domain=p.parent.name)
    assert issues == []
    return kg, load_truth(CORPUS)
