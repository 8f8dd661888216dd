"""The whole pipeline (synth -> SFT -> VGPO -> eval -> diagnostics -> report) on a small generated corpus (the
session's run, conftest.py), then a rerun that skips every stage; stage records, hashes and resumption."""

import json

import datasets
import pytest
from conftest import run_cli, stage

STAGES = ["synth", "sft", "rl", "eval", "diagnostics"]


def test_pipeline_end_to_end_and_resume(pipeline_run):
    out = pipeline_run.out
    state = json.loads((out / "pipeline.json").read_text())
    assert list(state) == STAGES and all(state[s]["done"] for s in STAGES)
    dd = datasets.load_from_disk(state["synth"]["dataset"])
    assert set(dd) == {"train", "validation", "test"} and len(dd["train"]) > 0
    assert set(dd["test"]["domain"]) == {"reports", "law"}  # documents split within each domain
    assert state["rl"]["model"].startswith(str(out / "rl" / "checkpoints"))
    acc = state["eval"]["synth_accuracy"]
    assert set(acc) == {"base", "sft", "rl"} and all(0.0 <= v <= 1.0 for v in acc.values())
    assert "| synth | overall |" in (out / "eval" / "compare.md").read_text()
    assert set(state["diagnostics"]["late_early_ratio"]) == {"base", "sft", "rl"}
    for s in STAGES:  # time and peak memory of each stage, its composed config(s) on disk
        res = state[s]["resources"]
        assert res["seconds"] > 0 and res["peak_rss_mb"] > 100, (s, res)
        assert (out / "configs" / f"{s}.yaml").read_text().strip()
    env = json.loads((out / "environment.json").read_text())
    assert env["packages"]["torch"].startswith("2.13.0")
    for name in ("report.html", "report.md", "report.json"):
        assert (out / name).stat().st_size > 0

    again = run_cli(out, pipeline_run.inp, pipeline_run.env)  # everything done: every stage skipped
    assert again.returncode == 0, again.stderr[-3000:]
    assert (again.stdout + again.stderr).count("already done") == len(STAGES)
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
    the old model), eval and diagnostics; synth and sft are skipped. An interrupted stage resumes with its files kept.
    The report is written at the end of every run, from whatever the run folder holds."""
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
            if stage == "diagnostics":
                return {"late_early_ratio": {label: {} for label in configs}}
            return {"model": str(out / stage / "model"), "steps": configs[stage].trainer.steps}
        return run

    for name in STAGES:
        monkeypatch.setitem(pipe.RUNNERS, name, fake(name))

    def go(*overrides, report=False):
        ran.clear()
        leftovers.clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return pipe.run_pipeline(compose("pipeline", [f"out_dir={tmp_path}", f"report={report}", *overrides]))

    first = go(report=True)
    assert ran == STAGES and all(first[s]["done"] for s in ran)
    assert "Time and memory per stage" in (tmp_path / "report.md").read_text()
    assert go() == first and ran == []  # nothing changed: nothing runs

    rl = ["algorithm=vgpo", 'data.prompt_template="{problem}"', "trainer.prompts_per_step=4", "trainer.rollouts_per_prompt=4",
          "trainer.mini_batch_size=16", "trainer.micro_batch_size=8", "trainer.max_new_tokens=16", "trainer.max_refills=1",
          "trainer.eval_size=32", "trainer.eval_every=50", "trainer.max_prompt_length=2048", "trainer.lr=1.0e-4",
          "reward.format=0.2"]
    assert go(stage("rl", *rl, "trainer.steps=100")) == first and ran == []  # conf/pipeline.yaml's rl, spelled out
    changed = go(stage("rl", *rl, "trainer.steps=7"))
    assert ran == ["rl", "eval", "diagnostics"]
    assert leftovers == {"rl": False, "eval": False, "diagnostics": False}  # rerun from scratch, not resumed
    assert changed["rl"]["steps"] == 7 and changed["rl"]["config_hash"] != first["rl"]["config_hash"]
    assert changed["eval"]["inputs_hash"] != first["eval"]["inputs_hash"]  # eval reran because rl changed ...
    assert changed["eval"]["config_hash"] == first["eval"]["config_hash"]  # ... not its own config
    assert changed["sft"] == first["sft"] and changed["synth"] == first["synth"]

    fail.add("sft")  # a new sft config, interrupted mid-stage ...
    with pytest.raises(KeyboardInterrupt):
        go(stage("sft", "algorithm=sft", "trainer.steps=5"), stage("rl", *rl, "trainer.steps=7"))
    assert json.loads((tmp_path / "pipeline.json").read_text())["sft"]["done"] is False
    fail.clear()  # ... then rerun with the same config: resumed (its files kept), and rl, eval, diagnostics follow
    resumed = go(stage("sft", "algorithm=sft", "trainer.steps=5"), stage("rl", *rl, "trainer.steps=7"))
    assert ran == ["sft", "rl", "eval", "diagnostics"]
    assert leftovers == {"sft": True, "rl": False, "eval": False, "diagnostics": False}
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
