"""One reduced pipeline run per test session, shared by the end-to-end, report, Chromium, wandb and sweep tests.

The corpus is the project's own generator (6 documents: 3 research reports and 3 law texts, so the per-domain
document split puts one document of each domain in the test split); every stage runs at a few steps / questions,
with logger=wandb offline into a temporary WANDB_DIR.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmreason.synth.corpus import generate


def stage(name, *overrides):
    """A pipeline stage's override list on the command line (each item quoted for Hydra)."""
    return f"overrides.{name}=[" + ",".join(f"'{o}'" for o in overrides) + "]"


def run_cli(out: Path, inp: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "mmreason.pipeline", f"out_dir={out}", "logger=wandb",
        stage("synth", f"synth.input_dir={inp}", "synth.score.difficulty.solver=null"),
        stage("sft", "algorithm=sft", "trainer.steps=3", "trainer.eval_size=8", "trainer.max_prompt_length=2048",
              "algorithm.batch_size=4"),
        stage("rl", "algorithm=vgpo", "trainer.steps=2", "trainer.prompts_per_step=2", "trainer.rollouts_per_prompt=2",
              "trainer.mini_batch_size=4", "trainer.micro_batch_size=4", "trainer.max_new_tokens=8",
              "trainer.eval_size=0", "trainer.max_prompt_length=2048", "trainer.max_refills=0",
              "trainer.dynamic_sampling=false", "reward.format=0.2"),  # every step updates (and logs VGPO's weights)
        stage("eval", "eval.max_new_tokens=8", "eval.limit=24"),
        stage("diagnostics", "diagnostics.n=2", "diagnostics.max_new_tokens=8", "diagnostics.batch_size=2"),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    inp = root / "corpus"
    generate(inp, n_per_domain=3, seed=3, domains=("reports", "law"))
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(root / "wandb")}
    out = root / "run"
    result = run_cli(out, inp, env)
    assert result.returncode == 0, result.stderr[-4000:]
    return SimpleNamespace(root=root, out=out, inp=inp, env=env, wandb_dir=root / "wandb", result=result)
