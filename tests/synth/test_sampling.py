"""Samplers on a hand-built graph: pattern matches, constraints, seeding, no duplicate paths, registry."""

from __future__ import annotations

import pytest

from mmreason.synth.kg.graph import KG, prov
from mmreason.synth.sampling import SAMPLERS, Path, SamplerSpec, parse_pattern, register_sampler, sample_paths


@pytest.fixture()
def kg():
    k = KG()
    p = prov("d1", 0)
    k.add_node("doc:1", "Document", p)
    k.add_node("chunk:a", "Chunk", p, doc="d1", text="see Figure 1")
    k.add_node("chunk:b", "Chunk", p, doc="d1", text="see Figure 1 too")
    k.add_node("image:1", "Image", p, doc="d1")
    k.add_node("table:1", "Table", p, doc="d1")
    k.add_node("table:2", "Table", prov("d2", 0), doc="d2")
    k.add_edge("chunk:a", "image:1", "refers_to", p)
    k.add_edge("chunk:b", "image:1", "refers_to", prov("d1", 1))
    k.add_edge("image:1", "table:1", "plots", p, columns=["x"], rows=[])
    k.add_edge("image:1", "table:2", "plots", prov("d2", 0), columns=["x"], rows=[])  # crosses documents
    for n in ("chunk:a", "chunk:b", "image:1", "table:1"):
        k.add_edge(n, "doc:1", "belongs_to", p)
    return k


def test_parse_pattern():
    assert parse_pattern("Chunk-[refers_to]->Image<-[plots]-Table") == (
        ["Chunk", "Image", "Table"], [("refers_to", "out"), ("plots", "in")])
    with pytest.raises(ValueError, match="bad node type"):
        parse_pattern("Chunk-[refers_to]->")


def test_pattern_paths_respect_types_direction_and_document(kg):
    paths = sample_paths(kg, SamplerSpec(pattern="Chunk-[refers_to]->Image-[plots]->Table"), seed=0)
    assert sorted(p.nodes for p in paths) == [["chunk:a", "image:1", "table:1"], ["chunk:b", "image:1", "table:1"]]
    # table:2 belongs to another document: allowed only when same_document is off
    loose = sample_paths(kg, SamplerSpec(pattern="Chunk-[refers_to]->Image-[plots]->Table", same_document=False), 0)
    assert len(loose) == 4
    assert sample_paths(kg, SamplerSpec(pattern="Image-[refers_to]->Chunk"), 0) == []  # wrong direction


def test_constraints_counts_degree_modalities(kg):
    spec = SamplerSpec(pattern="Chunk-[refers_to]->Image<-[refers_to]-Chunk", node_counts={"Chunk": "2+", "Image": 1})
    paths = sample_paths(kg, spec, 0)
    assert len(paths) == 1  # a-image-b and b-image-a are the same path
    assert sample_paths(kg, SamplerSpec(pattern="Chunk-[refers_to]->Image<-[refers_to]-Chunk",
                                        node_counts={"Chunk": 3}), 0) == []
    assert sample_paths(kg, SamplerSpec(pattern="Chunk-[refers_to]->Image", modalities=["table"]), 0) == []
    assert sample_paths(kg, SamplerSpec(pattern="Chunk-[refers_to]->Image", max_degree=3), 0) == []  # image degree 5


def test_random_walk_and_bfs_are_seeded_and_distinct(kg):
    spec = SamplerSpec(name="random_walk", hops=2, start_types=["Chunk"], same_document=False)
    a, b = sample_paths(kg, spec, 1), sample_paths(kg, spec, 1)
    assert [p.nodes for p in a] == [p.nodes for p in b] and a
    keys = [p.key() for p in a]
    assert len(keys) == len(set(keys))
    for p in a:
        assert len(p.nodes) == 3 and len(p.edges) == 2
    bfs = sample_paths(kg, SamplerSpec(name="bfs", hops=2, start_types=["Chunk"], node_counts={"Table": 1}), 0)
    assert bfs and all(p.nodes[0].startswith("chunk:") and p.nodes[-1].startswith("table:") for p in bfs)


def test_registry_accepts_a_user_sampler(kg):
    @register_sampler("only_tables")
    def only_tables(kg, spec, rng):
        for n in kg.nodes_of("Table"):
            yield Path([n])

    try:
        assert [p.nodes for p in sample_paths(kg, SamplerSpec(name="only_tables", same_document=False), 0)] == [
            ["table:1"], ["table:2"]]
    finally:
        SAMPLERS.pop("only_tables")
    with pytest.raises(ValueError, match="unknown sampler"):
        sample_paths(kg, SamplerSpec(name="nope"), 0)
