"""SIGKILL the CLI in the middle of the solver stage, rerun: the dataset equals an uninterrupted run's and no
cached model call is made again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS = ["synth.tasks.max_records=3", "synth.progress=false", "synth.kg.graphml=false",
            "synth.score.difficulty.k=1", "synth.score.difficulty.max_new_tokens=2",
            "synth.score.difficulty.batch_size=2"]


def _cfg(corpus: Path, out: Path) -> dict:
    return {"synth": {"input_dir": str(corpus), "out_dir": str(out), "progress": False, "kg": {"graphml": False},
                      "tasks": {"max_records": 3},
                      "score": {"difficulty": {"k": 1, "max_new_tokens": 2, "batch_size": 2}}},
            "model": {"name": "tiny"}, "generation": {"backend": "hf", "batch_size": 2}}


def _cache_entries(out: Path) -> int:
    return len(list((out / "cache" / "generation").glob("*/*.json")))


def test_sigkill_mid_run_then_resume(tmp_path):
    import datasets
    import torch

    from mmreason.synth.corpus import generate
    from mmreason.synth.run import run_synth

    torch.set_num_threads(1)
    corpus = tmp_path / "corpus"
    generate(corpus, n_per_domain=1, seed=0)

    ref = tmp_path / "ref"
    ref_hf = run_synth(_cfg(corpus, ref))
    ref_calls = json.loads((ref / "score" / "meta.json").read_text())["model_calls"]
    assert ref_calls > 10

    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "mmreason.synth", f"synth.input_dir={corpus}", f"synth.out_dir={out}",
           f"hydra.run.dir={tmp_path / 'hydra'}", *SETTINGS]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while _cache_entries(out) < 4 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "score" / "meta.json").exists(), "the run finished before it could be killed"
    cached = _cache_entries(out)
    assert 0 < cached < ref_calls

    hf = run_synth(_cfg(corpus, out))
    calls = json.loads((out / "score" / "meta.json").read_text())["model_calls"]
    assert cached + calls == ref_calls  # nothing that was cached is asked again
    assert (out / "score" / "records.jsonl").read_bytes() == (ref / "score" / "records.jsonl").read_bytes()
    a, b = datasets.load_from_disk(str(ref_hf)), datasets.load_from_disk(str(hf))
    for s in a:
        assert a[s].data.table.equals(b[s].data.table)
