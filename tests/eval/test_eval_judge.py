"""The LLM judge's two protocols (eval.judge.protocol): `verdict` with each benchmark's official judge prompt,
and `extract` (the judge extracts the answer as lmms-eval / VLMEvalKit's GPT step does; the benchmark's
rule scores it). Fake judge backends answer from the prompt text."""

import re

import pytest
import releases as R
from evalfix import FakeBackend

from mmreason.core.io import read_jsonl
from mmreason.eval.benchmarks import get_benchmark
from mmreason.eval.judge import LLMJudge, parse_extraction, parse_verdict
from mmreason.eval.runner import rescore, run_eval


@pytest.mark.parametrize("reply,expected", [("Judgement: 1", True), ("judgement: 0", False), ("Yes", True),
                                            ("No.", False), ("1", True), ("I am not sure", None), ("", None)])
def test_parse_verdict_table(reply, expected):
    assert parse_verdict(reply) is expected


@pytest.mark.parametrize("reply,expected", [("B", "B"), ("Extracted answer: 14", "14"), ("\n  Your output: AC\n", "AC"),
                                            ("", None)])
def test_parse_extraction_table(reply, expected):
    assert parse_extraction(reply) == expected


def _eval_cfg(tmp_path, name, path, **judge):
    return {"eval": {"benchmarks": [name], "data": {name: str(path)}, "batch_size": 4, "run_name": "r",
                     "out_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "cache"), "judge": judge}}


def test_extract_protocol_reproduces_gpt_extraction(tmp_path):
    """MathVista: responses the rules cannot read are sent to the judge with the extraction prompt (the
    released query + the response); its extraction is scored by calculate_score's normalisation."""
    root = R.mathvista_hf(tmp_path / "data")
    vague = {"By what distance": "It compresses a little more than one metre, about one point two.",
             "Which object comes next": "The fifth figure continues the pattern.",
             "How much money": "She needs seven dollars in total.",
             "largest city": "It is the capital of Japan."}

    def model(prompt):
        return next(v for k, v in vague.items() if k in prompt)

    extractions = {"one point two": "1.2", "fifth figure": "E", "seven dollars": "7", "capital of Japan": "D"}

    def judge_model(prompt):
        assert prompt.rstrip().endswith("Extracted answer:") and "Model response:" in prompt
        return next(v for k, v in extractions.items() if k in prompt)

    judge = FakeBackend(judge_model, label="judge")
    cfg = _eval_cfg(tmp_path, "mathvista", root, protocol="extract", mode="fallback")
    res = run_eval(cfg, FakeBackend(model), judge_backend=judge)["benchmarks"]["mathvista"]
    assert judge.chats == 4 and res["n_judged"] == 4 and res["overall"] == 1.0
    saved = read_jsonl(tmp_path / "out" / "judge" / "mathvista.jsonl")
    assert {e["protocol"] for e in saved} == {"extract"} and "Hint: Please answer" in saved[0]["prompt"]
    assert rescore(cfg)["benchmarks"]["mathvista"]["overall"] == 1.0  # verdicts reused, no judge needed


def test_extract_protocol_multiple_choice_and_no_choice(tmp_path):
    """Choice benchmarks score the extracted letter or value by their rule; "Z" (no option) is wrong."""
    bench = get_benchmark("mmstar")
    rec = bench.load(R.mmstar_hf(tmp_path)).records[1]  # gold B
    assert bench.judge_extracted(rec, "B") and not bench.judge_extracted(rec, "Z")
    geo = get_benchmark("geometry3k")
    g = geo.load(R.geometry3k_intergps(tmp_path / "g")).records[1]  # gold D = 140
    assert geo.judge_extracted(g, "140") and not geo.judge_extracted(g, "120")


def test_logicvista_extract_letters(tmp_path):
    bench = get_benchmark("logicvista")
    recs = bench.load(R.logicvista_github(tmp_path)).records
    two = recs[1]  # gold B, D
    assert "reply Z" in bench.extraction_prompt(two, "B and D") and bench.extraction_prompt(two, "x").endswith("Your output:")
    assert bench.judge_extracted(two, "BD") and bench.judge_extracted(two, "D, B")
    assert not bench.judge_extracted(two, "B") and not bench.judge_extracted(two, "Z")


def test_hallusionbench_official_judgement(tmp_path):
    bench = get_benchmark("hallusionbench")
    recs = {(r["meta"]["category"], r["meta"]["figure_id"], r["meta"]["question_id"]): r
            for r in bench.load(R.hallusionbench_github(tmp_path)).records}
    vd, vs0 = recs[("VD", "0", "0")], recs[("VS", "0", "0")]
    prompt = LLMJudge(FakeBackend(str)).prompt(bench, vd, "yes")
    assert "Reference answer: details" in prompt and prompt.endswith("Output:")
    assert bench.parse_judgement(vd, "correct") is True and bench.parse_judgement(vd, "Incorrect.") is False
    assert bench.parse_judgement(vd, "unclear") is False and bench.parse_judgement(vs0, "unclear") is True


def test_mmk12_verdict_uses_the_k12_judge(tmp_path):
    root = R.mmk12_hf(tmp_path / "data")
    seen = []

    def judge_model(prompt):
        seen.append(prompt)
        gold = re.search(r"Correct Answer:\n(\w)", prompt).group(1)
        return "Yes" if f"option {gold}" in prompt else "No"

    cfg = _eval_cfg(tmp_path, "mmk12", root, protocol="verdict", mode="all")
    res = run_eval(cfg, FakeBackend(lambda p: "I pick option B"), judge_backend=FakeBackend(judge_model, label="j"))
    b = res["benchmarks"]["mmk12"]
    assert len(seen) == 4 and "Reply only \"Yes\"" in seen[0]
    assert b["overall"] == 0.25 and b["n_judged"] == 4  # only m1's gold is B


def test_judge_config_is_checked():
    with pytest.raises(ValueError, match="protocol"):
        LLMJudge(FakeBackend(str), protocol="vote")
