"""conf/eval.yaml composition and the `python -m mmreason.eval` entry (re-scoring, no model built)."""

import os
import subprocess
import sys
from pathlib import Path

from evalfix import FakeBackend
from hydra import compose, initialize_config_dir
from test_eval_runner import _cfg, _synth_split, respond

import mmreason.core.config  # noqa: F401  (registers the schemas conf/model and conf/generation use)
from mmreason.eval.runner import eval_config, run_eval

CONF = Path(__file__).resolve().parents[2] / "conf"


def test_eval_yaml_composes(monkeypatch):
    monkeypatch.setenv("MMREASON_DATA", "/datasets")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("eval", overrides=["eval.benchmarks=[mathvista,wemath]", "eval.limit=5"])
    assert cfg.model.name == "tiny" and cfg.generation.backend == "hf"
    assert cfg.eval.data.mathvista == "/datasets/mathvista" and cfg.eval.data.synth == "/datasets/synth"
    assert cfg.eval.out_dir == "outputs/eval/tiny"
    ec = eval_config(cfg)
    assert ec["benchmarks"] == ["mathvista", "wemath"] and ec["limit"] == 5
    assert ec["temperature"] == 0.0 and ec["judge"] is None and ec["rescore"] is False


def test_python_m_eval_rescore_makes_no_model(tmp_path):
    data = _synth_split(tmp_path / "data")
    cfg = _cfg(tmp_path, data)
    run_eval(cfg, FakeBackend(respond))
    ec = cfg["eval"]
    cmd = [sys.executable, "-m", "mmreason.eval", "eval.rescore=true", "eval.benchmarks=[synth]",
           f"eval.data.synth={data}", f"eval.out_dir={ec['out_dir']}", f"eval.cache_dir={ec['cache_dir']}",
           "eval.batch_size=3", "eval.max_new_tokens=32", f"hydra.run.dir={tmp_path / 'hydra'}",
           "hydra.output_subdir=null"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "| synth | 60.0 | 10 | 0 | 0 | 0 |" in out.stdout
