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
