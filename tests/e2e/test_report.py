"""The report of the session's pipeline run (conftest.py): its headline table recomputed from the run folder, the
page rendered in headless Chromium, and the wandb group every stage logged to."""

import json
import subprocess
import sys
from collections import Counter

import datasets
from headless import inspect_page
from wandb_files import run_info

from mmreason.eval.metrics import wilson_interval

STAGES = ("synth", "sft", "rl", "eval", "diagnostics")


def _recompute(out):
    """The headline rows from the raw files: the test split and each model's per-sample correctness."""
    state = json.loads((out / "pipeline.json").read_text())
    test = datasets.load_from_disk(state["synth"]["dataset"])["test"].remove_columns("images").to_list()
    samples = {m: {json.loads(line)["id"]: json.loads(line) for line in
                   (out / "eval" / m / "samples" / "synth.jsonl").read_text().splitlines()} for m in ("base", "sft", "rl")}
    asked = [r for r in test if all(r["id"] in s for s in samples.values())]
    groups = {"all": asked}
    for r in asked:
        groups.setdefault(r["answer_type"], []).append(r)
    rows = {}
    for g, recs in groups.items():
        golds = Counter(r["answer"] for r in recs)
        top = max(golds.values())
        chance = sum(1 / len(r["choices"]) if r["answer_type"] == "choice" else 0.0 for r in recs) / len(recs)
        row = {"n": len(recs), "chance": chance, "constant_acc": top / len(recs),
               "constant": min(a for a, c in golds.items() if c == top)}
        for m, s in samples.items():
            k = sum(bool(s[r["id"]]["correct"]) for r in recs)
            row[m] = (k, len(recs), *wilson_interval(k, len(recs)))
        rows[g] = row
    return rows


def test_headline_table_is_recomputed_from_the_run_folder(pipeline_run):
    out = pipeline_run.out
    expect = _recompute(out)
    head = json.loads((out / "report.json").read_text())["headline"]
    assert head["labels"] == ["base", "sft", "rl"]
    got = {r["group"]: r for r in head["rows"]}
    assert set(got) == set(expect) and expect["all"]["n"] == 24  # eval.limit=24, every model answered all of them
    for g, e in expect.items():
        r = got[g]
        assert (r["n"], r["constant"]) == (e["n"], e["constant"])
        assert abs(r["chance"] - e["chance"]) < 1e-12 and abs(r["constant_acc"] - e["constant_acc"]) < 1e-12
        for m in ("base", "sft", "rl"):
            k, n, lo, hi = e[m]
            assert (r[m]["k"], r[m]["n"]) == (k, n) and abs(r[m]["low"] - lo) < 1e-12 and abs(r[m]["high"] - hi) < 1e-12
    # the Markdown table says the same, to one decimal
    md = (out / "report.md").read_text()
    k, n, lo, hi = expect["all"]["rl"]
    line = next(x for x in md.splitlines() if x.startswith(f"| all | {n} |"))
    assert f"{100 * k / n:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]" in line
    # a pure function of the run folder: regenerating gives the same files
    before = {p: (out / p).read_bytes() for p in ("report.md", "report.json", "report.html")}
    r = subprocess.run([sys.executable, "-m", "mmreason.pipeline.report", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {p: (out / p).read_bytes() for p in before} == before


def test_report_renders_in_headless_chromium(pipeline_run, tmp_path):
    page = inspect_page(pipeline_run.out / "report.html", screenshot=tmp_path / "report.png")
    assert page["errors"] == []
    assert [u for u in page["requests"] if not u.startswith(("file:", "data:"))] == []  # self-contained
    # accuracy, KG, dataset, SFT and RL plots, 3 diagnostics plots per model, and the sample questions' images
    assert len(page["images"]) >= 5 + 3 * 3 + 1
    broken = [im["src"] for im in page["images"] if not (im["complete"] and im["width"] > 0)]
    assert broken == []
    assert page["title"].startswith("mmreason pipeline report") and page["height"] > 3000
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_stage_logs_to_the_runs_wandb_group(pipeline_run):
    group = "pipeline-" + json.loads((pipeline_run.out / "run.json").read_text())["id"]
    runs = [run_info(f) for f in sorted(pipeline_run.wandb_dir.glob("wandb/offline-run-*/run-*.wandb"))]
    assert runs and {r["group"] for r in runs} == {group}
    by_job = {r["job_type"]: r for r in runs}
    assert set(by_job) == {*STAGES, "report"}
    assert "sft/loss" in by_job["sft"]["history_keys"] and "vgpo/psi_p50" in by_job["rl"]["history_keys"]
    assert {"synth_accuracy/base", "synth_accuracy/sft", "synth_accuracy/rl"} <= by_job["eval"]["history_keys"]
    report_keys = {k.split("/")[1] for k in by_job["report"]["history_keys"] if k.startswith("report/")}
    assert {"accuracy", "kg", "dataset", "sft", "rl", "html"} <= report_keys  # the report's plots and the page
