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
