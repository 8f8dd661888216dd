"""The pipeline's pure parts: the report's tables and findings on hand-made predictions, per-stage peak memory,
Hydra quoting of paths, the configuration reference read from the dataclasses, the sweep's override forwarding."""

from __future__ import annotations

import pytest

from mmreason.core.config import compose
from mmreason.pipeline.configdoc import field_comments, keys, reference_markdown
from mmreason.pipeline.report import RunData, accuracy_table, findings, headline, sample_questions
from mmreason.pipeline.resources import StageMeter
from mmreason.pipeline.sweep import forwarded, table


def _run(correct: dict[str, list[int]], answers: list[str], types: list[str]) -> RunData:
    recs = [{"id": f"q{i}", "answer": a, "answer_type": t, "choices": ["w", "x", "y", "z"] if t == "choice" else [],
             "task_type": "T", "domain": "d"} for i, (a, t) in enumerate(zip(answers, types))]
    samples = {m: {f"q{i}": {"correct": bool(c), "extracted": str(c)} for i, c in enumerate(flags)}
               for m, flags in correct.items()}
    return RunData(run_dir=__import__("pathlib").Path("/tmp/x"), state={}, records={"test": recs}, samples=samples)


def test_accuracy_table_chance_best_constant_and_wilson():
    recs = [{"id": str(i), "answer": "AB"[i % 2], "answer_type": "choice", "choices": ["x", "y"]} for i in range(8)]
    (row,) = accuracy_table(recs, {"m": {str(i): {"correct": i < 6} for i in range(8)}}, ["m"], by=None)
    assert (row["group"], row["n"], row["chance"], row["constant"], row["constant_acc"]) == ("all", 8, 0.5, "A", 0.5)
    # 6/8: Wilson centre (0.75 + 0.24010) / 1.48018 = 0.66890, half 1.96·sqrt(0.023438 + 0.015005) / 1.48018 = 0.25963
    assert (row["m"]["k"], row["m"]["n"]) == (6, 8)
    assert row["m"]["low"] == pytest.approx(0.40927, abs=1e-4) and row["m"]["high"] == pytest.approx(0.92853, abs=1e-4)


def test_findings_say_which_differences_are_within_noise():
    n = 40  # 40 choice questions, gold 'A' on 10 of them (best constant 25 %)
    answers = ["A"] * 10 + ["B"] * 10 + ["C"] * 10 + ["D"] * 10
    base = [0] * n
    sft = [1] * 30 + [0] * 10     # 75 %, Wilson low ≈ 59.8 % > 25 %: beats the best constant
    rl = [1] * 31 + [0] * 9       # one more right, none lost: within noise of SFT
    data = _run({"base": base, "sft": sft, "rl": rl}, answers, ["choice"] * n)
    head = headline(data)
    diffs = {(d["a"], d["b"], d["group"]): d for d in head["differences"]}
    assert diffs[("base", "sft", "all")]["within_noise"] is False and diffs[("base", "sft", "all")]["p_mcnemar"] < 1e-6
    assert diffs[("sft", "rl", "all")]["within_noise"] is True and diffs[("sft", "rl", "all")]["p_mcnemar"] == 1.0
    text = "\n".join(findings(data, head))
    assert "SFT on choice questions: 75.0 [" in text and "beats it: the interval excludes it" in text
    assert "RL − SFT on all questions: +2.5 points" in text and "within noise" in text
    assert "BASE on choice questions: 0.0 [" in text and "is below it" in text


def test_findings_name_a_model_that_answers_a_constant():
    answers = ["A"] * 10 + ["B"] * 30
    data = _run({"base": [0] * 40, "sft": [1] * 10 + [0] * 30}, answers, ["choice"] * 40)
    data.samples["base"] = {f"q{i}": {"correct": False, "extracted": None} for i in range(40)}  # nothing extracted
    data.samples["sft"] = {f"q{i}": {"correct": i < 10, "extracted": "A" if i < 37 else "B"} for i in range(40)}
    text = "\n".join(findings(data, headline(data)))
    assert "SFT gives the same answer ('A') to 37 of the 40 choice questions" in text  # 37 >= 90 % of 40
    assert "BASE gives the same answer" not in text  # no answer at all is not a constant answer
    data.samples["sft"]["q36"]["extracted"] = "C"  # 36 = 90 %: still named; 35 would not be
    assert "('A') to 36 of the 40" in "\n".join(findings(data, headline(data)))
    data.samples["sft"]["q35"]["extracted"] = "C"
    assert "gives the same answer" not in "\n".join(findings(data, headline(data)))


def test_sample_questions_rotate_domains_and_task_types():
    test = [{"id": f"{d}{i}", "domain": d, "task_type": f"T{i}"} for d in ("a", "b") for i in range(3)]
    picked = sample_questions(test, {"b2": [b"png"]}, k=4)
    # images first within a domain, domains in turn, each task type once (3 task types: 3 questions, not k)
    assert [r["id"] for r in picked] == ["a0", "b2", "a1"]


def _status_mb(key: str) -> float:
    line = next(x for x in open("/proc/self/status") if x.startswith(key + ":"))
    return int(line.split()[1]) / 1024


def _touched(mb: int) -> bytearray:
    buf = bytearray(mb * 2**20)
    buf[::4096] = b"\x01" * len(buf[::4096])  # write every page, so it is resident
    return buf


def test_stage_meter_measures_the_stage_not_the_process():
    with StageMeter() as m:
        pass
    assert m.result["seconds"] >= 0 and m.result["peak_rss_scope"] in ("stage", "process")
    if m.result["peak_rss_scope"] != "stage":
        pytest.skip("the per-stage high-water mark needs Linux's /proc/self/clear_refs (elsewhere: the process peak)")
    hog = _touched(300)  # the process peak is now >= its current size + 300 MiB ...
    process_peak = _status_mb("VmHWM")
    del hog
    start = _status_mb("VmRSS")
    with StageMeter() as m:
        small = _touched(40)
    del small
    # ... but the stage's own peak is reset when it starts: its start size plus the 40 MiB it touched
    assert start + 35 <= m.result["peak_rss_mb"] < process_peak - 200


def test_paths_with_hydra_grammar_characters_are_quoted():
    from mmreason.pipeline.__main__ import q

    for path in ["/tmp/algorithm=grpo,seed=0", "/tmp/it's here", "C:\\runs\\"]:
        assert compose("train", [f"trainer.out_dir={q(path)}"]).trainer.out_dir == path


def test_config_reference_is_read_from_the_dataclasses():
    from mmreason.train.config import TrainConfig, TrainerConfig

    comments = field_comments(TrainerConfig)
    assert comments["rollouts_per_prompt"] == "n: samples per prompt, one group"
    rows = {k: (t, d, m) for k, t, d, m in keys(TrainConfig)}
    assert rows["trainer.lr"] == ("float", 3e-4, "AdamW lr (tiny model: 1e-4..3e-4 RL, 1e-3 SFT)")
    assert rows["algorithm.vgpo.kappa"][1] == 0.2 and rows["algorithm.vgpo.kappa"][2].startswith("share κ")
    ref = reference_markdown()
    assert "### `sweep` (conf/sweep.yaml)" in ref and "`model=qwen2_5_vl_7b`" in ref
    assert "| `trainer.seed` | `int` | `0` | run seed" in ref


def test_sweep_forwards_algorithm_and_trainer_overrides_to_training():
    fwd = forwarded(["algorithm=grpo", "trainer.seed=2", "algorithm.token_weights=vgpo", "base_dir=/x", "stages=[rl]"])
    assert fwd == {"rl": ["algorithm=grpo", "trainer.seed=2", "algorithm.token_weights=vgpo"], "sft": ["trainer.seed=2"]}


def test_sweep_table_is_mean_and_sample_std_per_setting():
    jobs = {"algorithm=grpo": [(0, {"rl acc (all)": 0.2}), (1, {"rl acc (all)": 0.4}), (2, {"rl acc (all)": 0.6})],
            "algorithm=vgpo": [(0, {"rl acc (all)": 0.5})]}
    t = table(jobs)
    grpo, vgpo = t["rows"]
    assert abs(grpo["rl acc (all)"]["mean"] - 0.4) < 1e-12 and abs(grpo["rl acc (all)"]["std"] - 0.2) < 1e-12  # sqrt(0.08 / 2)
    assert vgpo["rl acc (all)"] == {"mean": 0.5, "std": None, "values": [0.5]}  # one seed: no spread
