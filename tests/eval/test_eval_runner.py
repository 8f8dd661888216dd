"""The runner: cached generation, resume after a kill, re-scoring without model calls, judge, reports."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from evalfix import FakeBackend, NoCallBackend, png_bytes, write_parquet

from mmreason.core.io import read_jsonl
from mmreason.eval.report import compare_markdown, load_results
from mmreason.eval.report import main as report_main
from mmreason.eval.runner import rescore, run_eval

N = 10


def _synth_split(path: Path, bad: bool = False) -> Path:
    rows = []
    for i in range(N):
        rows.append({"id": f"s{i}", "images": [{"bytes": png_bytes(), "path": None}], "problem": f"<image>Q{i}?",
                     "answer": str(i), "answer_type": "number", "choices": [], "task_type": "ABC"[i % 3],
                     "domain": "toy", "provenance": json.dumps({"doc_ids": []}), "quality": ""})
    if bad:
        rows.append(dict(rows[0], id="bad", images=[{"bytes": b"broken", "path": None}]))
    return write_parquet(path / "split.parquet", rows)


def respond(prompt: str) -> str:
    """Right for i % 3 != 0, wrong otherwise."""
    i = int(re.search(r"Q(\d+)\?", prompt).group(1))
    return f"so \\boxed{{{i if i % 3 else i + 100}}}"


def _cfg(tmp: Path, data: Path, out: str = "run", **kw) -> dict:
    ec = {"benchmarks": ["synth"], "data": {"synth": str(data)}, "batch_size": 3, "max_new_tokens": 32,
          "run_name": out, "out_dir": str(tmp / out), "cache_dir": str(tmp / "cache")}
    ec.update(kw)
    return {"eval": ec}


def _scores(res: dict) -> tuple:
    b = res["benchmarks"]["synth"]
    return b["overall"], b["breakdowns"], b["n"], b["n_skipped"]


def test_resume_after_interrupt_generates_only_missing(tmp_path):
    data = _synth_split(tmp_path / "data")
    ref = run_eval(_cfg(tmp_path / "ref", data), FakeBackend(respond))
    assert _scores(ref) == (pytest.approx(6 / 10), {"task_type": pytest.approx({"A": 0.0, "B": 1.0, "C": 1.0}),
                                                    "domain": {"toy": 0.6}, "answer_type": {"number": 0.6}}, N, 0)

    cfg = _cfg(tmp_path, data)
    with pytest.raises(KeyboardInterrupt):
        run_eval(cfg, FakeBackend(respond, fail_after_calls=2))  # killed after 2 batches of 3
    cache = tmp_path / "cache" / "synth.jsonl"
    assert len(read_jsonl(cache)) == 6
    with open(cache, "a") as f:
        f.write('{"model": "fake:fake-model", "id": "s6", "resp')  # a line torn by the kill
    again = FakeBackend(respond)
    res = run_eval(cfg, again)
    assert again.chats == N - 6 and again.calls == 2  # only the missing 4, in batches of 3
    assert _scores(res) == _scores(ref)
    assert res["benchmarks"]["synth"]["n_generated"] == 4
    assert len(read_jsonl(cache)) == N

    # re-scoring a finished run: no backend at all, or a backend that must not be called
    assert _scores(rescore(cfg)) == _scores(ref)
    res2 = run_eval(cfg, NoCallBackend())
    assert _scores(res2) == _scores(ref) and res2["benchmarks"]["synth"]["n_generated"] == 0


def test_cache_is_keyed_by_model_and_generation_config(tmp_path):
    data = _synth_split(tmp_path / "data")
    run_eval(_cfg(tmp_path, data), FakeBackend(respond))
    other_model = FakeBackend(respond, label="ckpt-b")
    run_eval(_cfg(tmp_path, data, out="b"), other_model)
    assert other_model.chats == N
    longer = FakeBackend(respond)
    run_eval(_cfg(tmp_path, data, out="c", max_new_tokens=64), longer)
    assert longer.chats == N
    changed_prompt = FakeBackend(respond)
    run_eval(_cfg(tmp_path, data, out="d", prompt_suffix="Be brief."), changed_prompt)
    assert changed_prompt.chats == N
    same = FakeBackend(respond)
    run_eval(_cfg(tmp_path, data, out="e"), same)
    assert same.chats == 0


KILL_SCRIPT = """
import sys, time, json
sys.path.insert(0, {tests!r})
from evalfix import FakeBackend
from mmreason.eval.runner import run_eval
import test_eval_runner as t

def slow(prompt):
    time.sleep(0.15)
    return t.respond(prompt)

run_eval(json.loads({cfg!r}), FakeBackend(slow))
"""


def test_sigkill_mid_benchmark_then_resume(tmp_path):
    data = _synth_split(tmp_path / "data")
    cfg = _cfg(tmp_path, data, batch_size=1)
    cache = tmp_path / "cache" / "synth.jsonl"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), cfg=json.dumps(cfg))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        deadline = time.time() + 60
        while time.time() < deadline and (not cache.exists() or len(read_jsonl(cache)) < 3):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    done = len(read_jsonl(cache))
    assert 3 <= done < N
    again = FakeBackend(respond)
    res = run_eval(cfg, again)
    assert again.chats == N - done
    assert res["benchmarks"]["synth"]["overall"] == pytest.approx(0.6)


def test_results_files_bad_rows_and_compare(tmp_path, capsys):
    data = _synth_split(tmp_path / "data", bad=True)
    res_a = run_eval(_cfg(tmp_path, data, out="A", max_skipped_fraction=0.2), FakeBackend(respond, label="ckpt-a"))
    b = res_a["benchmarks"]["synth"]
    assert b["n"] == N and b["n_skipped"] == 1 and b["skipped"][0]["row_id"] == "bad"
    assert "unreadable" in b["skipped"][0]["reason"]
    run_dir = tmp_path / "A"
    assert load_results(run_dir)["model"] == "fake:ckpt-a"
    md = (run_dir / "results.md").read_text()
    assert "| synth | 60.0 | 10 | 1 | 0 | 0 |" in md and "`bad`" in md
    samples = read_jsonl(run_dir / "samples" / "synth.jsonl")
    assert len(samples) == N and samples[0]["correct"] is False and samples[1]["extracted"] == "1"

    def all_right(prompt):
        i = re.search(r"Q(\d+)\?", prompt).group(1)
        return f"\\boxed{{{i}}}"

    res_b = run_eval(_cfg(tmp_path, data, out="B", max_skipped_fraction=0.2), FakeBackend(all_right, label="ckpt-b"))
    table = compare_markdown([("A", res_a), ("B", res_b)])
    assert "| synth | overall | overall | 60.0 | 100.0 | +40.0 |" in table
    assert "| synth | task_type | A | 0.0 | 100.0 | +100.0 |" in table
    report_main(["compare", str(tmp_path / "A"), str(tmp_path / "B")])
    assert "+40.0" in capsys.readouterr().out


def test_a_mostly_skipped_benchmark_stops_the_run(tmp_path):
    """1 bad row of 11 (9 %) is over the default 5 %: the run stops before any generation, naming the row."""
    from mmreason.eval.benchmarks import DataLoadError

    data = _synth_split(tmp_path / "data", bad=True)
    backend = FakeBackend(respond)
    with pytest.raises(DataLoadError, match=r"synth: .*1 of 11 rows \(9\.1%\) were skipped.*\n  row bad: image 0 is unreadable"):
        run_eval(_cfg(tmp_path, data), backend)
    assert backend.chats == 0 and not (tmp_path / "run" / "results.json").exists()


def test_llm_judge_for_free_form_answers(tmp_path):
    data = _synth_split(tmp_path / "data")
    cfg = _cfg(tmp_path, data, judge={"mode": "fallback", "max_new_tokens": 8})
    judge = FakeBackend(lambda prompt: "Judgement: 1", label="judge")
    res = run_eval(cfg, FakeBackend(respond), judge_backend=judge)
    b = res["benchmarks"]["synth"]
    assert judge.chats == 4  # only the 4 samples the rule marks wrong are sent to the judge
    assert b["n_judged"] == 4 and b["overall"] == 1.0
    saved = read_jsonl(tmp_path / "run" / "judge" / "synth.jsonl")
    assert len(saved) == 4 and saved[0]["reply"] == "Judgement: 1" and "[Standard Answer]: 0" in saved[0]["prompt"]
    # re-scoring reuses the saved verdicts without any backend
    assert rescore(cfg)["benchmarks"]["synth"]["overall"] == 1.0
    assert judge.chats == 4


def test_rescore_without_any_prediction_names_the_problem(tmp_path):
    data = _synth_split(tmp_path / "data")
    with pytest.raises(ValueError, match="cannot tell which model"):
        rescore(_cfg(tmp_path, data))


def test_missing_data_path_is_a_clear_error(tmp_path):
    from mmreason.eval.benchmarks import MissingDataError

    cfg = _cfg(tmp_path, tmp_path / "nowhere")
    with pytest.raises(MissingDataError, match=r"no data at .*nowhere.*eval\.data\.synth"):
        run_eval(cfg, FakeBackend(respond))


def test_runner_with_the_real_hf_backend(tmp_path, tiny_policy):
    """The tiny offline VLM through core.generation's hf backend: chats with images go through end to end."""
    import torch

    from mmreason.core.generation import make_backend

    torch.set_num_threads(1)
    model, processor = tiny_policy
    backend = make_backend({"backend": "hf", "batch_size": 2}, None, model=model, processor=processor)
    data = _synth_split(tmp_path / "data")
    res = run_eval(_cfg(tmp_path, data, limit=2, max_new_tokens=4), backend)
    b = res["benchmarks"]["synth"]
    assert b["n"] == 2 and b["n_generated"] == 2 and b["n_missing"] == 0
    entries = read_jsonl(tmp_path / "cache" / "synth.jsonl")
    assert [e["id"] for e in entries] == ["s0", "s1"] and all(e["n_tokens"] <= 4 for e in entries)
    assert res["model"] == backend.describe()
