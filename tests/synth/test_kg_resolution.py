from __future__ import annotations

from mmreason.synth.kg.graph import KG, entity_id, prov
from mmreason.synth.kg.resolution import all_pairs_baseline, fuzzy_pairs, resolve_entities


def test_fuzzy_pairs_match_the_all_pairs_baseline():
    names = ["Acme Corporation", "Acme Corporaton", "ACME corporation.", "Globex", "Globexx", "Methanol", "Ethanol",
             "Acme Corporation", "Initech"]
    types = ["company"] * 8 + ["person"]
    # ratio: acme corporation/corporaton 2*15/31 = 96.8; globex/globexx 2*6/13 = 92.3; methanol/ethanol 2*7/15 = 93.3
    want92 = {(0, 1), (0, 2), (0, 7), (1, 2), (1, 7), (2, 7), (3, 4), (5, 6)}
    assert set(all_pairs_baseline(names, types, 92)) == want92
    assert set(fuzzy_pairs(names, types, 92)) == want92
    assert set(fuzzy_pairs(names, types, 95)) == want92 - {(3, 4), (5, 6)}
    # the blocking's known blind spot: both ends changed
    assert fuzzy_pairs(["xacme corporation", "acme corporatio"], ["c", "c"], 90) == []


def test_resolution_merges_within_type_and_keeps_aliases_and_edges():
    kg = KG()
    p1, p2, p3 = prov("d1", 0), prov("d2", 1), prov("d2", 2)
    a = kg.add_entity("Acme Corporation", "Company", p1)
    kg.add_entity("Acme Corporation", "Company", p3)  # two mentions: survivor
    b = kg.add_entity("Acme Corporaton", "Company", p2)
    c = kg.add_entity("Acme Corporaton", "Person", p2)  # same name, other type: stays apart
    s = kg.add_entity("Technology", "Sector", p2)
    kg.add_edge(b, s, "relation", p2, name="sector")
    kg.add_edge(a, s, "relation", p1, name="sector")
    mapping = resolve_entities(kg, threshold=90)
    assert mapping == {b: a}
    assert b not in kg.g and c in kg.g
    node = kg.g.nodes[a]
    assert node["aliases"] == ["Acme Corporation", "Acme Corporaton"] and node["docs"] == ["d1", "d2"]
    assert len(node["provenance"]) == 3
    assert kg.g.number_of_edges(a, s) == 2  # both relations kept, rewired
    assert entity_id("Acme Corporaton", "Person") == c


def test_embedding_resolution_optional_extra():
    from mmreason.synth.kg.resolution import embedding_pairs, load_embedder

    model = load_embedder()
    names = ["International Business Machines", "IBM corporation", "banana bread", "International Business Machines Corp"]
    pairs = embedding_pairs(names, ["c"] * 4, threshold=0.9, model=model)
    assert (0, 3) in pairs and all(2 not in p for p in pairs)


def test_batched_normalisation_equals_name_by_name():
    # the joined-string fast paths of fuzzy_pairs (compare_names, _digits_of) give exactly the per-name results,
    # on names with tabs / newlines, articles between runs of punctuation, dots in numbers, digits, only articles
    from mmreason.synth.kg.resolution import _digits, _digits_of, compare_name, compare_names

    names = ["Llama-2-7B", "llama\t2 \n7b", "The  A-Team!", "a  --  the", "GPT-4o (2024-08-06)", "v3.5.1 model", "the",
             "Battle of the  Bulge", "x.y  z", "an apple", "R&D  Labs", "Command R+", "  padded  ", "a_b c"]
    norms = compare_names(names)  # all ASCII: the joined fast path
    assert norms == [compare_name(n) for n in names]
    assert norms[1] == "llama 2 7b" and norms[2] == "a-team" and norms[7] == "battle of bulge"
    assert _digits_of(norms) == [_digits(x) for x in norms] and _digits_of(norms)[4] == "4 2024 08 06"
    other = names + ["über 2", "x\x1ey 3"]  # non-ASCII, a name holding the separator: name by name
    assert compare_names(other) == [compare_name(n) for n in other]
    assert _digits_of(compare_names(other)) == [_digits(x) for x in compare_names(other)]
