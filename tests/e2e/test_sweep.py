"""`make sweep` at reduced size: a Hydra multirun of the pipeline's RL + eval stages over algorithm x seed, every job
reusing the session pipeline run's synth output and SFT checkpoint, and the comparison table it writes."""

import json
import statistics
import subprocess
import sys

from conftest import stage

RL = ["trainer.steps=1", "trainer.prompts_per_step=2", "trainer.rollouts_per_prompt=2", "trainer.mini_batch_size=4",
      "trainer.micro_batch_size=4", "trainer.max_new_tokens=8", "trainer.eval_size=0", "trainer.max_prompt_length=2048",
      "trainer.max_refills=0", "trainer.dynamic_sampling=false"]


def test_sweep_reuses_one_synth_output_and_writes_its_table(pipeline_run, tmp_path):
    base, sweep = pipeline_run.out, tmp_path / "sweep"
    cmd = [sys.executable, "-m", "mmreason.pipeline.sweep", f"base_dir={base}", f"sweep_dir={sweep}", "stages=[rl,eval]",
           stage("rl", *RL), stage("eval", "eval.max_new_tokens=8", "eval.limit=8"),
           "algorithm=grpo,vgpo", "trainer.seed=0,1"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=pipeline_run.env, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]

    base_state = json.loads((base / "pipeline.json").read_text())
    jobs = sorted(p for p in sweep.iterdir() if (p / "sweep_job.json").exists())
    assert [j.name for j in jobs] == [f"algorithm-{a}__trainer.seed-{s}" for a in ("grpo", "vgpo") for s in (0, 1)]
    values = {}
    for j in jobs:
        state = json.loads((j / "pipeline.json").read_text())
        assert state["synth"] == base_state["synth"] and state["sft"] == base_state["sft"]  # reused, not rerun
        assert list(state) == ["synth", "sft", "rl", "eval"] and state["rl"]["done"]
        rl_cfg = (j / "configs" / "rl.yaml").read_text()
        job = json.loads((j / "sweep_job.json").read_text())
        assert f"name: {job['setting'].split('=')[1]}" in rl_cfg and f"seed: {job['seed']}" in rl_cfg
        assert f"path: {base_state['sft']['model']}" in rl_cfg  # RL starts from the shared SFT checkpoint
        rows = json.loads((j / "report.json").read_text())["headline"]["rows"]
        values.setdefault(job["setting"], []).append(next(x for x in rows if x["group"] == "all")["rl"]["acc"])

    t = json.loads((sweep / "sweep.json").read_text())
    assert [row["setting"] for row in t["rows"]] == ["algorithm=grpo", "algorithm=vgpo"]
    for row in t["rows"]:
        cell = row["rl acc (all)"]
        assert row["seeds"] == [0, 1] and sorted(cell["values"]) == sorted(values[row["setting"]])
        assert abs(cell["mean"] - statistics.fmean(values[row["setting"]])) < 1e-12
        assert abs(cell["std"] - statistics.stdev(values[row["setting"]])) < 1e-12
    md = (sweep / "sweep.md").read_text()
    assert "| algorithm=grpo | 0,1 |" in md and "| algorithm=vgpo | 0,1 |" in md and " ± " in md
    assert (sweep / "sweep.png").read_bytes()[:4] == b"\x89PNG"
