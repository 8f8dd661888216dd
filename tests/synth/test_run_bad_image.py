"""Bad input to the synth run. A figure whose file is missing or corrupt is reported by the kg stage and
never asked about: the rest of the document still gives image questions, and the export (which reads every
record's images) completes and writes splits that load even when empty. A stage without its folders says
which keys to set."""

from __future__ import annotations

import json
import shutil

from synthfix import CORPUS


def test_missing_and_corrupt_figures_are_left_out(tmp_path):
    import datasets

    from mmreason.core.io import read_jsonl
    from mmreason.synth.run import run_synth

    src = CORPUS / "chemistry"
    corpus = tmp_path / "in" / "chemistry"
    (corpus / "images").mkdir(parents=True)
    for doc in ("chemistry_000", "chemistry_001"):
        shutil.copy(src / f"{doc}.md", corpus)
        for img in (src / "images").glob(f"{doc}_*.png"):
            shutil.copy(img, corpus / "images")
    (corpus / "images" / "chemistry_000_fig1.png").unlink()  # missing
    (corpus / "images" / "chemistry_001_fig2.png").write_bytes(b"not a png")  # corrupt
    out = tmp_path / "out"
    hf = run_synth({"synth": {"input_dir": str(tmp_path / "in"), "out_dir": str(out), "progress": False,
                              "kg": {"graphml": False}, "score": {"difficulty": {"solver": None}}}})

    errors = [json.loads(x) for x in (out / "kg" / "errors.jsonl").read_text().splitlines()]
    assert any("chemistry_000_fig1.png" in e["reason"] and "missing" in e["reason"] for e in errors)
    assert any(e["file"] == "chemistry/chemistry_001.md" and "fig2" in e["reason"] for e in errors)
    used = {p.rsplit("/", 1)[-1] for r in read_jsonl(out / "score" / "records.jsonl") for p in r["images"]}
    assert "chemistry_000_fig1.png" not in used and "chemistry_001_fig2.png" not in used
    assert {"chemistry_000_fig2.png", "chemistry_001_fig1.png"} <= used  # the good figures are still asked about
    dd = datasets.load_from_disk(str(hf))  # two documents: validation and test are empty, yet they load
    assert set(dd) == {"train", "validation", "test"} and len(dd["train"]) > 0 and len(dd["test"]) == 0


def test_a_stage_without_its_folders_names_the_keys(tmp_path):
    import pytest

    from mmreason.synth.run import run_qa

    with pytest.raises(ValueError, match="synth.input_dir and synth.out_dir must be set"):
        run_qa({"synth": {"out_dir": str(tmp_path)}})
