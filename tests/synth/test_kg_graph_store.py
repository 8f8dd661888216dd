from __future__ import annotations

import networkx as nx
import pytest

from mmreason.synth.kg.graph import KG, entity_id, norm_name, prov
from mmreason.synth.kg.store import export_graphml, load_graph, save_graph
from mmreason.synth.kg.values import parse_number, same_unit, split_header


def _small() -> KG:
    kg = KG()
    p = prov("doc:1", 0, (3, 9))
    kg.add_node("doc:1", "Document", p, path="a.md", title="A")
    kg.add_node("table:1", "Table", p, doc="doc:1", label="Table 1", rows=[["Ethanol", "78.4"]], values=[[None, 78.4]])
    a = kg.add_entity("Ethanol", "Compound", p)
    b = kg.add_entity("Sodium", "Element", p)
    kg.add_edge(a, "table:1", "has_attribute", p, name="Boiling point", value=78.4, unit="°C", raw="78.4", row=0, col=1,
                table="table:1")
    kg.add_edge(a, "table:1", "has_attribute", p, name="Density", value=0.789, unit="g/cm³", raw="0.789", row=0, col=2,
                table="table:1")
    kg.add_edge(a, b, "relation", p, name="reacts with")
    kg.add_edge(a, b, "relation", prov("doc:1", 4, (50, 60)), name="dissolves", extractor="llm")
    return kg


def test_multi_edges_survive_and_ids_are_stable():
    kg = _small()
    a = entity_id("Ethanol", "Compound")
    assert kg.g.number_of_edges(a, "table:1") == 2
    assert kg.g.number_of_edges(a, entity_id("Sodium", "Element")) == 2
    assert {d["name"] for *_, d in kg.edges_of("relation")} == {"reacts with", "dissolves"}
    assert _small().g.edges(keys=True) == kg.g.edges(keys=True)  # same content -> same ids and keys
    assert kg.table_cells("table:1")[1] == {"entity": "Ethanol", "entity_id": a, "column": "Density", "value": 0.789,
                                            "unit": "g/cm³", "raw": "0.789", "row": 0, "col": 2}


def test_same_name_different_types_stay_apart():
    kg = KG()
    x = kg.add_entity("Mercury", "Element", prov("d", 0))
    y = kg.add_entity("Mercury", "Planet", prov("d", 1))
    z = kg.add_entity("  the MERCURY ", "Element", prov("d", 2))  # same normalised name, same type
    assert x != y and x == z
    assert len(kg.nodes_of("Entity")) == 2
    assert len(kg.g.nodes[x]["provenance"]) == 2


def test_unknown_types_and_dangling_edges_raise():
    kg = KG()
    with pytest.raises(ValueError, match="unknown node type"):
        kg.add_node("x", "Thing")
    with pytest.raises(KeyError, match="not in the graph"):
        kg.add_edge("a", "b", "relation", prov("d"))


def test_round_trip_is_lossless_and_graphml_exports(tmp_path):
    kg = _small()
    save_graph(kg, tmp_path / "g.json")
    back = load_graph(tmp_path / "g.json")
    assert dict(back.g.nodes(data=True)) == dict(kg.g.nodes(data=True))
    assert sorted(back.g.edges(keys=True, data=True), key=lambda e: e[2]) == \
        sorted(kg.g.edges(keys=True, data=True), key=lambda e: e[2])
    assert isinstance(back.g, nx.MultiDiGraph)
    export_graphml(kg, tmp_path / "g.graphml")
    h = nx.read_graphml(tmp_path / "g.graphml")
    assert h.number_of_edges() == kg.g.number_of_edges() == 4
    assert h.nodes["table:1"]["rows"] == '[["Ethanol", "78.4"]]'


def test_values_and_names():
    assert split_header("Boiling point (°C)") == ("Boiling point", "°C")
    assert split_header("Revenue [USD million]") == ("Revenue", "USD million")
    assert split_header("P/E ratio") == ("P/E ratio", None)
    assert parse_number("1,234.5") == (1234.5, None)
    assert parse_number("$35.03") == (35.03, "USD")
    assert parse_number("0.789 g/cm³") == (0.789, "g/cm³")
    assert parse_number("12%") == (12.0, "%")
    assert parse_number("−3.5") == (-3.5, None)
    assert parse_number("Industrials") == (None, None)
    assert parse_number("Smith v. Jones") == (None, None)
    assert parse_number("1815 and 1816") == (None, None)
    assert same_unit("percent", "%") and same_unit(None, "") and not same_unit("g", "kg")
    assert norm_name("The  Battle of Hastings.") == "battle of hastings"
    assert norm_name("P/E ratio") == "p/e ratio"


def test_load_rejects_other_files(tmp_path):
    (tmp_path / "x.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a mmreason-kg file"):
        load_graph(tmp_path / "x.json")
