"""Re-derive every audited realdocs answer from a fresh graph (issue 15, "Done when": a sample of 60 questions of
the acceptance run on ../shared/realdocs/docs, drawn with `auditfacts.draw` (seed 15), checked by hand against
the documents: tests/synth/realdocs_audit.jsonl).

Each audited item stores what its answer reads in document terms (document, table label, row, column, value; or
relation / passage mention) and its compute spec over those facts. The test reads only the audited documents
again (the kg stage, no solver, no question templates), checks that every fact is extracted with the audited
value, binds the spec to the fresh graph and checks it gives the audited gold answer. Question wording is not
compared, so rephrased templates keep this test valid; a reader or extraction change that alters an audited
fact or answer fails it."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

from auditfacts import bind_spec, find

from mmreason.synth.generate import evaluate, render
from mmreason.synth.kg.build import build_kg

DOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "docs"
AUDIT = [json.loads(line) for line in (Path(__file__).parent / "realdocs_audit.jsonl").read_text().splitlines()]


@cache
def fresh_graph(tmp: Path):
    root = tmp / "in"
    for d in sorted({a["doc"] for a in AUDIT}):
        (root / d).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DOCS / d, root / d)  # a temporary copy: the reader refuses links leading outside its input
    cfg = {"synth": {"input_dir": str(root), "out_dir": str(tmp / "out"), "progress": False,
                     "kg": {"graphml": False}}}
    return build_kg(cfg, progress=False)["graph"]


def test_the_audit_meets_the_bar():
    assert len(AUDIT) == 60 and len({a["id"] for a in AUDIT}) == 60
    good = [a for a in AUDIT if a["verdict"] == "correct"]
    assert len(good) >= 54, [a["note"] for a in AUDIT if a["verdict"] != "correct"]  # >= 90 %
    assert all(a["facts"] or a["evidence"] for a in AUDIT)


def test_every_audited_answer_is_rederived_from_a_fresh_graph(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    kg, out = fresh_graph(tmp), tmp / "out"
    for a in AUDIT:
        keys = []
        for f in a["facts"]:  # each table cell / relation the answer reads: exactly one edge states it
            hits = find(kg, f)
            assert len(hits) == 1, (a["i"], a["question"], f, len(hits))
            keys.append(hits[0])
        for m in [e for e in a["evidence"] if e["type"] == "mentions"]:  # a passage may name an entity twice
            assert find(kg, m), (a["i"], a["question"], m)
        spec = bind_spec(kg, a["compute"], keys)
        assert render(evaluate(kg, spec), spec) == a["gold"], (a["i"], a["question"])
        if a["image_grounded"]:  # the tables it shows only as pixels carry their crop of the rendered PDF page
            for label, page in a["tables"]:
                t = bind_spec(kg, {"doc": a["doc"], "label": label}, [])
                d = kg.g.nodes[t]
                assert d["status"] == "embedded" and d["page"] == page and d["width"] > 100, (a["i"], label)
                assert (out / d["path"]).is_file()
