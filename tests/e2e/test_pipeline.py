"""The whole pipeline (synth -> SFT -> VGPO -> eval) on a small generated corpus, then a rerun that resumes."""

import json
import os
import subprocess
import sys

import datasets
import pytest

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
    """Base, SFT and RL are asked with the prompt (data.prompt_template, data.system) the RL stage trained with, and
    graded with its reward.lenient."""
    from hydra import compose, initialize_config_dir

    import mmreason.core.generation as generation
    import mmreason.eval.runner as runner
    from mmreason.core.config import conf_dir
    from mmreason.pipeline.__main__ import eval_configs, run_eval_stage

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
        acc = run_eval_stage(eval_configs(cfg, tmp_path, state), tmp_path)["synth_accuracy"]
    assert acc == {"base": 0.5, "sft": 0.5, "rl": 0.5}
    expect = {"template": "{problem} Answer:", "lenient": True}  # graded as the RL reward was
    assert seen == [(label, expect, "Think first.") for label in ("base", "sft", "rl")]


def test_a_rerun_reruns_the_changed_stage_and_every_stage_after_it(tmp_path, monkeypatch):
    """Records in pipeline.json hold the hash of each stage's composed config and of its inputs' records:
    editing overrides.rl reruns rl (from scratch: its old checkpoints are cleared, so resume=auto cannot reuse
    the old model) and eval; synth and sft are skipped. An interrupted stage resumes with its files kept."""
    from hydra import compose, initialize_config_dir

    import mmreason.pipeline.__main__ as pipe
    from mmreason.core.config import conf_dir

    ran, leftovers, fail = [], {}, set()

    def fake(stage):
        def run(configs, out):
            ran.append(stage)
            d = out / stage
            leftovers[stage] = (d / "old").exists()  # a file an earlier run of this stage left
            d.mkdir(parents=True, exist_ok=True)
            (d / "old").write_text("x")
            if stage in fail:
                raise KeyboardInterrupt
            if stage == "synth":
                return {"dataset": str(out / "ds")}
            if stage == "eval":
                return {"synth_accuracy": {label: 0.5 for label in configs}}
            return {"model": str(out / stage / "model"), "steps": configs[stage].trainer.steps}
        return run

    for name in ("synth", "sft", "rl", "eval"):
        monkeypatch.setitem(pipe.RUNNERS, name, fake(name))

    def go(*overrides):
        ran.clear()
        leftovers.clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return pipe.run_pipeline(compose("pipeline", [f"out_dir={tmp_path}", *overrides]))

    first = go()
    assert ran == ["synth", "sft", "rl", "eval"] and all(first[s]["done"] for s in ran)
    assert go() == first and ran == []  # nothing changed: nothing runs

    rl = ["algorithm=vgpo", 'data.prompt_template="{problem}"', "trainer.prompts_per_step=4", "trainer.rollouts_per_prompt=4",
          "trainer.mini_batch_size=16", "trainer.micro_batch_size=8", "trainer.max_new_tokens=24", "trainer.eval_size=32",
          "trainer.max_prompt_length=2048", "trainer.lr=1.0e-4", "reward.format=0.2"]
    assert go(stage("rl", *rl, "trainer.steps=4")) == first and ran == []  # conf/pipeline.yaml's rl, spelled out
    changed = go(stage("rl", *rl, "trainer.steps=7"))
    assert ran == ["rl", "eval"]
    assert leftovers == {"rl": False, "eval": False}  # rerun from scratch, not resumed from the old run
    assert changed["rl"]["steps"] == 7 and changed["rl"]["config_hash"] != first["rl"]["config_hash"]
    assert changed["eval"]["inputs_hash"] != first["eval"]["inputs_hash"]  # eval reran because rl changed ...
    assert changed["eval"]["config_hash"] == first["eval"]["config_hash"]  # ... not its own config
    assert changed["sft"] == first["sft"] and changed["synth"] == first["synth"]

    fail.add("sft")  # a new sft config, interrupted mid-stage ...
    with pytest.raises(KeyboardInterrupt):
        go(stage("sft", "algorithm=sft", "trainer.steps=5"), stage("rl", *rl, "trainer.steps=7"))
    assert json.loads((tmp_path / "pipeline.json").read_text())["sft"]["done"] is False
    fail.clear()  # ... then rerun with the same config: resumed (its files kept), and rl, eval follow
    resumed = go(stage("sft", "algorithm=sft", "trainer.steps=5"), stage("rl", *rl, "trainer.steps=7"))
    assert ran == ["sft", "rl", "eval"] and leftovers == {"sft": True, "rl": False, "eval": False}
    assert resumed["sft"]["steps"] == 5 and resumed["rl"]["inputs_hash"] != changed["rl"]["inputs_hash"]


def test_bad_stage_overrides_fail_before_any_stage_runs(tmp_path, monkeypatch):
    from hydra import compose, initialize_config_dir

    import mmreason.pipeline.__main__ as pipe
    from mmreason.core.config import conf_dir

    monkeypatch.setitem(pipe.RUNNERS, "synth", lambda *a: pytest.fail("synth ran"))
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose("pipeline", [f"out_dir={tmp_path}", stage("eval", "eval.max_new_tokens=many")])
        with pytest.raises(ValueError, match=r"overrides.eval: .*eval.max_new_tokens"):
            pipe.run_pipeline(cfg)
        cfg = compose("pipeline", [f"out_dir={tmp_path}", stage("rl", "algorithm.token_weights=vgp")])
        with pytest.raises(ValueError, match=r"overrides.rl: algorithm.token_weights='vgp': unknown token weighting; choose one of \['none', 'vgpo'\]"):
            pipe.run_pipeline(cfg)
