"""The llm extractor end to end against the real OpenAI-compatible server (`python -m mmreason.core.serve`)
on loopback with the tiny model: its replies are noise, which must be recorded, not crash the run;
a second run is answered from the cache with the server gone."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmreason.core.io import read_jsonl
from mmreason.synth.kg import build_kg

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"


@pytest.fixture()
def server():
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmreason.core.serve", "--model", "tiny", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert m, f"server did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield proc, m.group(1)
    finally:
        proc.kill()
        proc.wait()


def cfg_for(inp: Path, out: Path, url: str, resume: bool = True) -> dict:
    return {
        "synth": {
            "input_dir": str(inp),
            "out_dir": str(out),
            "kg": {"extractors": ["structural", "llm"], "resume": resume, "graphml": False,
                   "llm": {"max_retries": 1, "max_new_tokens": 16}},
        },
        "generation": {"backend": "openai", "base_url": url, "api_model": "tiny", "max_retries": 0, "timeout_s": 60},
        "model": {"name": "tiny"},
    }


def test_llm_extractor_against_real_server_then_cache(server, tmp_path):
    proc, url = server
    inp = tmp_path / "docs"
    (inp / "images").mkdir(parents=True)
    src = next((CORPUS / "chemistry" / "images").glob("*.png"))
    shutil.copy(src, inp / "images" / "fig1.png")
    (inp / "note.md").write_text(
        "# Solvents\n\nEthanol boils at 78.4 °C and is made by fermentation (Table 1).\n\n"
        "| Compound | Boiling point (°C) |\n|---|---|\n| Ethanol | 78.4 |\n| Methanol | 64.7 |\n\n"
        "Table 1: Boiling points.\n\n![Figure 1: Boiling points of the solvents.](images/fig1.png)\n"
    )
    out = tmp_path / "out"

    first = build_kg(cfg_for(inp, out, url), progress=False)
    assert first["calls"] > 0  # chunks + figures went to the server
    kinds = {e.get("stage", "") + ":" + e.get("reason", "")[:40] for e in read_jsonl(out / "kg" / "errors.jsonl")}
    assert any("json" in k.lower() for k in kinds), kinds  # noise recorded as malformed replies
    counts = first["counts"]
    assert counts["nodes"].get("Table", 0) >= 1 and counts["edges"].get("has_attribute", 0) > 0  # structural kept

    proc.kill()
    proc.wait()  # the server is gone: a rerun must not need it
    second = build_kg(cfg_for(inp, out, url, resume=False), progress=False)
    assert second["calls"] == 0 and second["cache_hits"] == first["calls"]
    assert second["counts"] == counts


def test_page_crops_travel_to_the_server_as_images(server, tmp_path, monkeypatch):
    """A synth run against an OpenAI-compatible server (here `mmreason.core.serve` with the tiny model; the
    README's example is `vllm serve Qwen2.5-VL-7B-Instruct`): the figure goes to the VLM extractor, and a
    table's page crop goes with its questions to the rephraser, the solver and the judges — as image parts
    of the request, the very crop (same pixels) the record names."""
    import base64
    import io
    import json

    from PIL import Image

    import mmreason.synth.kg.build as build
    from mmreason.core.generation.openai import OpenAIBackend
    from mmreason.synth.ingest.model import Block, Document
    from mmreason.synth.run import run_synth

    crop = Image.new("RGB", (64, 32), (255, 255, 255))
    for x in range(10, 50):
        crop.putpixel((x, 16), (0, 0, 0))  # a rule: these pixels are the table's
    buf = io.BytesIO()
    crop.save(buf, format="PNG")
    fig = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 200)).save(fig, format="PNG")
    rows = [["Model", "Accuracy (%)"], ["Alpha-7B", "71.2"], ["Beta-13B", "75.9"], ["Gamma-70B", "81.3"]]
    doc = Document("paper.pdf", [
        Block("text", "Accuracy of the three models (Table 1, Figure 1).", index=0, page=1),
        Block("table", "Table 1: Accuracy.", index=1, rows=rows, caption="Table 1: Accuracy.", label="Table 1", page=1,
              image_bytes=buf.getvalue(), image_status="embedded", image_size=(64, 32)),
        Block("image", "Figure 1: A diagram.", index=2, caption="Figure 1: A diagram.", label="Figure 1", page=1,
              image_bytes=fig.getvalue(), image_status="embedded", image_size=(40, 30))], sha="abc")
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "paper.pdf").write_bytes(b"%PDF-1.4 placeholder")
    monkeypatch.setattr(build, "read_document", lambda path, root, opts=None: doc)
    sent: list[dict] = []
    real = OpenAIBackend._request

    def spy(self, method, path, body=None):
        if body is not None:
            sent.append(body)
        return real(self, method, path, body)

    monkeypatch.setattr(OpenAIBackend, "_request", spy)
    _, url = server
    cfg = cfg_for(inp, tmp_path / "out", url)
    cfg["synth"].update(progress=False, tasks={"include": ["STI"], "max_records": 3},
                        generate={"generator": "llm", "llm": {"max_new_tokens": 8, "batch_size": 4}},
                        score={"difficulty": {"k": 1, "max_new_tokens": 4}, "judge": {"votes": 1, "max_new_tokens": 4}})
    run_synth(cfg)

    def images(body):
        out = []
        for m in body["messages"]:
            for p in m["content"] if isinstance(m["content"], list) else []:
                if p["type"] == "image_url":
                    raw = base64.b64decode(p["image_url"]["url"].split(",", 1)[1])
                    out.append(Image.open(io.BytesIO(raw)).convert("RGB"))
        return out

    def text(body):
        return " ".join(p.get("text", "") if isinstance(p, dict) else "" for m in body["messages"]
                        for p in (m["content"] if isinstance(m["content"], list) else [{"text": m["content"]}]))

    describe = [b for b in sent if "Describe this figure" in text(b)]
    assert describe and all(im.size == (40, 30) for b in describe for im in images(b))
    recs = [json.loads(x) for x in (tmp_path / "out" / "qa" / "records.jsonl").read_text().splitlines()]
    assert recs and all(r["task_type"] == "STI" and len(r["images"]) == 1 for r in recs)
    with_crop = [b for b in sent if any(im.size == (64, 32) and im.tobytes() == crop.tobytes() for im in images(b))]
    kinds = {"rephrase" if "Rewrite a reasoning question" in text(b) else "judge" if "Proposed answer" in text(b)
             else "solver" for b in with_crop}
    assert kinds == {"rephrase", "solver", "judge"}
