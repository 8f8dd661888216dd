"""The whole pipeline (synth -> SFT -> VGPO -> eval) on a small generated corpus, then a rerun that resumes."""

import json
import os
import subprocess
import sys

import datasets

from mmreason.synth.corpus import generate


def stage(name, *overrides):
    """A pipeline stage's override list on the command line (each item quoted for Hydra)."""
    return f"overrides.{name}=[" + ",".join(f"'{o}'" for o in overrides) + "]"


def run(out, inp):
    cmd = [
        sys.executable, "-m", "mmreason.pipeline", f"out_dir={out}",
        stage("synth", f"synth.input_dir={inp}", "synth.score.difficulty.solver=null"),
        stage("sft", "algorithm=sft", "trainer.steps=3", "trainer.eval_size=8", "trainer.max_prompt_length=2048",
              "algorithm.batch_size=4"),
        stage("rl", "algorithm=vgpo", "trainer.steps=1", "trainer.prompts_per_step=2", "trainer.rollouts_per_prompt=2",
              "trainer.mini_batch_size=4", "trainer.micro_batch_size=4", "trainer.max_new_tokens=8",
              "trainer.eval_size=0", "trainer.max_prompt_length=2048", "trainer.max_refills=0"),
        stage("eval", "eval.max_new_tokens=8", "eval.limit=6"),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=600)


def test_pipeline_end_to_end_and_resume(tmp_path):
    inp = tmp_path / "corpus"
    generate(inp, n_per_domain=1, seed=3)
    out = tmp_path / "run"
    r = run(out, inp)
    assert r.returncode == 0, r.stderr[-3000:]
    state = json.loads((out / "pipeline.json").read_text())
    assert list(state) == ["synth", "sft", "rl", "eval"]
    dd = datasets.load_from_disk(state["synth"]["dataset"])
    assert set(dd) == {"train", "validation", "test"} and len(dd["train"]) > 0
    assert state["rl"]["model"].startswith(str(out / "rl" / "checkpoints"))
    acc = state["eval"]["synth_accuracy"]
    assert set(acc) == {"base", "sft", "rl"} and all(0.0 <= v <= 1.0 for v in acc.values())
    assert "| synth | overall |" in (out / "eval" / "compare.md").read_text()

    again = run(out, inp)  # everything done: every stage is skipped, nothing recomputed
    assert again.returncode == 0, again.stderr[-3000:]
    assert (again.stdout + again.stderr).count("already done") == 4
    assert json.loads((out / "pipeline.json").read_text()) == state


def test_eval_stage_asks_every_model_with_the_training_prompt(tmp_path, monkeypatch):
    """Base, SFT and RL are evaluated on the prompt (data.prompt_template, data.system) the RL stage trained with."""
    from hydra import compose, initialize_config_dir

    import mmreason.core.generation as generation
    import mmreason.eval.runner as runner
    from mmreason.core.config import conf_dir
    from mmreason.pipeline.__main__ import run_eval_stage

    seen = []

    class Backend:
        def close(self):
            pass

    def fake_run_eval(c, backend):
        seen.append((c.eval.run_name, dict(c.eval.benchmark_args.synth), c.eval.system_prompt))
        return {"benchmarks": {"synth": {"overall": 0.5, "breakdowns": {}}}}

    monkeypatch.setattr(generation, "make_backend", lambda *a, **k: Backend())
    monkeypatch.setattr(runner, "run_eval", fake_run_eval)
    state = {"synth": {"dataset": str(tmp_path / "ds")}, "sft": {"model": "/ckpt/sft"}, "rl": {"model": "/ckpt/rl"}}
    (tmp_path / "eval").mkdir()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose("pipeline", [stage("rl", "algorithm=vgpo", "data.system=Think first.", "reward.lenient=true",
                                         "data.prompt_template=\"{problem} Answer:\"")])
        acc = run_eval_stage(cfg, tmp_path, state)["synth_accuracy"]
    assert acc == {"base": 0.5, "sft": 0.5, "rl": 0.5}
    expect = {"template": "{problem} Answer:", "lenient": True}  # graded as the RL reward was
    assert seen == [(label, expect, "Think first.") for label in ("base", "sft", "rl")]
