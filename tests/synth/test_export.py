"""Document-level splits."""

from __future__ import annotations

from mmreason.synth.export import split_documents


def test_split_documents_is_seeded_disjoint_and_sized():
    docs = [f"doc:{i}" for i in range(15)]
    a = split_documents(docs, (0.8, 0.1, 0.1), seed=0)
    assert a == split_documents(list(reversed(docs)), (0.8, 0.1, 0.1), seed=0)
    counts = {s: sum(1 for v in a.values() if v == s) for s in ("train", "validation", "test")}
    # round(0.1 * 15) = 2 documents each for validation and test
    assert counts == {"train": 11, "validation": 2, "test": 2}
    assert split_documents(docs, seed=1) != a
    assert set(split_documents(["d1", "d2"]).values()) == {"train"}


def test_split_documents_within_each_domain():
    """strata (doc -> domain): each domain's documents are cut on their own, so with 3 documents per domain every
    domain has one document in each split (a global cut of 15 documents puts test in at most 2 domains)."""
    docs = [f"{dom}/{i}" for dom in ("chemistry", "history", "law", "papers", "reports") for i in range(3)]
    strata = {d: d.split("/")[0] for d in docs}
    a = split_documents(docs, (0.8, 0.1, 0.1), seed=0, strata=strata)
    for dom in ("chemistry", "history", "law", "papers", "reports"):
        assert sorted(s for d, s in a.items() if d.startswith(dom)) == ["test", "train", "validation"]
    assert a == split_documents(list(reversed(docs)), (0.8, 0.1, 0.1), seed=0, strata=strata)
    # a domain with fewer than 3 documents stays in train, the others are still cut
    small = split_documents(["x/0", "x/1", "y/0", "y/1", "y/2"], seed=0, strata={"x/0": "x", "x/1": "x", "y/0": "y",
                                                                                "y/1": "y", "y/2": "y"})
    assert small["x/0"] == small["x/1"] == "train" and sorted(small[f"y/{i}"] for i in range(3)) == ["test", "train", "validation"]
