from __future__ import annotations

import json

from synthfix import CORPUS

from mmreason.synth.corpus import DOMAINS, generate, make_document


def test_shipped_corpus_is_what_the_generator_writes(tmp_path):
    generate(tmp_path, n_per_domain=3, seed=0, render=False)
    for d in DOMAINS:
        for i in range(3):
            stem = f"{d}/{d}_{i:03d}"
            assert (tmp_path / f"{stem}.md").read_text() == (CORPUS / f"{stem}.md").read_text(), stem
            assert (tmp_path / f"{stem}.truth.json").read_text() == (CORPUS / f"{stem}.truth.json").read_text()
    size = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert size < 5_000_000


def test_truth_is_consistent_with_the_tables():
    for p in CORPUS.rglob("*.truth.json"):
        t = json.loads(p.read_text())
        n_cells = sum(len(tb["rows"]) * len(tb["columns"]) for tb in t["tables"])
        assert len(t["facts"]) == n_cells, p
        for fig in t["figures"]:
            assert (p.parent / fig["path"]).is_file()
            if fig["kind"] == "diagram":
                assert fig["table"] is None and fig["parts"]
            else:
                tb = next(x for x in t["tables"] if x["label"] == fig["table"])
                assert set(fig["columns"]) <= set(tb["columns"]) and fig["rows"] == tb["rows"]
        if t["domain"] in ("chemistry", "papers", "reports"):
            assert t["formulas"]
        assert {"Table 1", "Table 2", "Figure 1"} <= set(t["references"])


def test_seed_changes_content_and_derived_columns_hold(tmp_path):
    a, ta = make_document("papers", 0, 0, tmp_path / "a", render=False)
    b, _ = make_document("papers", 0, 1, tmp_path / "b", render=False)
    assert a != b
    vals: dict[tuple, float] = {}
    for f in ta["facts"]:
        if "value" in f:
            vals[(f["entity"], f["relation"])] = f["value"]
    for (ent, rel), f1 in vals.items():
        if rel == "f1":  # F1 = 2PR/(P+R), rounded to 0.1
            p, r = vals[(ent, "precision")], vals[(ent, "recall")]
            assert abs(f1 - 2 * p * r / (p + r)) <= 0.05 + 1e-9


def test_cli_writes_documents_images_and_truth(tmp_path, capsys):
    from PIL import Image

    from mmreason.synth.corpus import main

    main(["--out", str(tmp_path), "--n-per-domain", "1", "--seed", "3", "--domains", "reports"])
    assert "wrote 1 documents" in capsys.readouterr().out
    truth = json.loads((tmp_path / "reports" / "reports_000.truth.json").read_text())
    for fig in truth["figures"]:
        with Image.open(tmp_path / "reports" / fig["path"]) as im:
            assert im.size == (320, 240)
