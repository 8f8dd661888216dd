"""LogicVista, DynaMath, HallusionBench, MMStar, Geometry3K, MMK12, SuperCLEVR, synth: every accepted layout
(tests/eval/releases.py reproduces each release), hand-made predictions, hand-worked official metrics,
and the defects of issue 9 as regression tests."""

import json

import pytest
import releases as R
from evalfix import png_bytes

from mmreason.eval.benchmarks import get_benchmark


def _preds(loaded, responses):
    """Responses in the fixture's row order -> {record id: response}."""
    assert len(responses) == len(loaded.records)
    return {r["id"]: resp for r, resp in zip(loaded.records, responses)}


# --------------------------------------------------------------------------------------------- LogicVista
LV_PREDS = ["After comparing the rows, so I pick option C",  # {C}
            "The answers are B and D.",  # {B, D}
            "There are 3 squares, so the answer is 3",  # digit labels: the gold is a digit
            "The answer is a tricky one; the answer is B because 3 squares"]  # {B}, gold A


@pytest.mark.parametrize("layout", ["github", "vlmevalkit"])
def test_logicvista_layouts(tmp_path, layout):
    bench = get_benchmark("logicvista")
    loaded = bench.load(R.BUILDERS[("logicvista", layout)](tmp_path))
    assert loaded.layout == layout and len(loaded.records) == 4
    assert [r["answer"] for r in loaded.records] == ["C", "B, D", "3", "A"]
    res = bench.score(loaded.records, _preds(loaded, LV_PREDS))
    assert res["overall"] == 0.75
    assert [res["samples"][r["id"]]["extracted"] for r in loaded.records] == ["C", "B, D", "3", "B"]
    assert res["breakdowns"]["skill"] == {"deductive": 0.0, "inductive": 1.0, "numerical": 1.0, "spatial": 1.0}
    if layout == "github":  # dataset.json names the field broad_capability
        assert res["breakdowns"]["capability"] == {"3d shapes": 1.0, "diagram": 1.0, "ocr": 0.0}


def test_logicvista_empty_answer_is_skipped_with_its_reason(tmp_path):
    root = R.logicvista_github(tmp_path)
    data = json.loads((root / "data" / "dataset.json").read_text())
    data["v1_4"] = dict(data["v1_0"], answer="")  # the real dataset.json has one such row
    (root / "data" / "dataset.json").write_text(json.dumps(data))
    loaded = get_benchmark("logicvista", max_skipped_fraction=0.25).load(root)
    assert loaded.skipped == [{"row_id": "v1_4", "reason": "field 'answer' is missing or empty"}]


# ----------------------------------------------------------------------------------------------- DynaMath
def _js(a):
    return json.dumps({"solution": "...", "short answer": a}, ensure_ascii=False)  # models write π, not \\u03c0


DM_PREDS = {  # (seed, variant) -> response; truths: seed 1 float, seed 2 letter, seed 3 text
    ("1", 1): _js("2.094"),  # |2.094 - 2.0944| <= 0.001
    ("1", 2): _js("π"),  # transfer: π -> 3.14159…, truth 3.1416
    ("1", 3): _js("1.6"),  # truth 1.5708
    ("2", 1): _js("B"), ("2", 2): _js("(A) yes"), ("2", 3): _js("A"),  # truth B, A, B
    ("3", 1): _js("May"), ("3", 2): "Looking at the bars.\nIt is June", ("3", 3): _js("May"),
}


@pytest.mark.parametrize("layout", ["hf", "hf-mirror", "vlmevalkit"])
def test_dynamath_layouts_average_and_worst_case(tmp_path, layout):
    bench = get_benchmark("dynamath")
    loaded = bench.load(R.BUILDERS[("dynamath", layout)](tmp_path))
    assert loaded.layout == layout and len(loaded.records) == 9 and loaded.skipped == []
    assert sorted(r["id"] for r in loaded.records)[:3] == ["dynamath-1-v1", "dynamath-1-v2", "dynamath-1-v3"]
    p = bench.build_prompt(next(r for r in loaded.records if r["id"] == "dynamath-1-v1"))
    assert p.startswith("## Question\nWhat is the period of the function?Please answer in a floating-point number.\n"
                        "## Answer Instruction")
    preds = {r["id"]: DM_PREDS[(r["meta"]["qid"], r["meta"]["varid"])] for r in loaded.records}
    res = bench.score(loaded.records, preds)
    assert res["overall"] == res["metrics"]["average_case"] == pytest.approx(7 / 9)
    assert res["metrics"]["worst_case"] == pytest.approx(1 / 3)  # only seed 3 is right in every variant
    b = res["breakdowns"]
    assert b["subject"] == pytest.approx({"analytic geometry": 2 / 3, "statistics": 5 / 6})
    assert b["subject_worst"] == {"analytic geometry": 0.0, "statistics": 0.5}
    assert b["level_worst"] == {"elementary school": 0.5, "high school": 0.0}


def test_dynamath_official_snapshot_pointed_at_root_or_data(tmp_path):
    """Regression: the official shard names data/sample{k}-0000x-of-0000k.parquet load from the snapshot root
    and from data/ (the variant comes from the file name)."""
    root = R.dynamath_hf(tmp_path)
    for p in (root, root / "data"):
        loaded = get_benchmark("dynamath").load(p)
        assert len(loaded.records) == 9 and {r["meta"]["varid"] for r in loaded.records} == {1, 2, 3}


# ----------------------------------------------------------------------------------------- HallusionBench
HB_PREDS = ["Yes, they are the same size.", "No.", "Yes", "yes",
            "I cannot tell without the chart.",  # VS without a figure: "unclear" counts (assign_correctness)
            "No.", "Yes and no"]


@pytest.mark.parametrize("layout", ["github", "hf", "vlmevalkit"])
def test_hallusionbench_layouts_and_official_metrics(tmp_path, layout):
    bench = get_benchmark("hallusionbench")
    loaded = bench.load(R.BUILDERS[("hallusionbench", layout)](tmp_path))
    assert loaded.layout == layout and loaded.skipped == []
    by = {(r["meta"]["category"], r["meta"]["figure_id"], r["meta"]["question_id"]): r for r in loaded.records}
    keys = [(r["category"], r["figure_id"], r["question_id"]) for r in R.HB_ROWS]
    preds = {by[k]["id"]: p for k, p in zip(keys, HB_PREDS) if k in by}
    res = bench.score(loaded.records, preds)
    m = res["metrics"]
    if layout == "vlmevalkit":  # image questions only: the VS question without a figure is not in the TSV
        assert len(loaded.records) == 6
        assert m["aAcc"] == pytest.approx(3 / 6) and res["overall"] == m["aAcc"]
    else:
        assert len(loaded.records) == 7 and by[("VS", "0", "0")]["images"] == []
        assert m["aAcc"] == pytest.approx(4 / 7) and res["overall"] == m["aAcc"]
    assert m["fAcc"] == pytest.approx(1 / 4)  # figures VD/0 right; VD/1, VS/1, VS/2 not
    assert m["qAcc"] == pytest.approx(1 / 3)  # only VD question 1 is right on every figure
    # Regression: Easy / Hard are all-correct rates per (category, subcategory, set_id, question_id) over the
    # visual_input 0/1 and 2 questions (utils.py get_eval_pair_easy/_hard), not per-question accuracies
    # (per question Easy would be 3/4 here)
    assert m["easy"] == pytest.approx(2 / 3) and m["hard"] == pytest.approx(1 / 3)
    assert res["breakdowns"]["aAcc_by_category"]["VD"] == 0.75


# ------------------------------------------------------------------------------------------------- MMStar
MS_PREDS = ["A", "The answer is B", "(D) they are equal", "\\boxed{D}"]


@pytest.mark.parametrize("layout", ["hf", "vlmevalkit"])
def test_mmstar_layouts(tmp_path, layout):
    bench = get_benchmark("mmstar")
    loaded = bench.load(R.BUILDERS[("mmstar", layout)](tmp_path))
    assert loaded.layout == layout and len(loaded.records) == 4 and loaded.skipped == []
    assert loaded.records[3]["choices"] == ["1", "2", "3", "4"]
    # Regression: the MMStar/VLMEvalKit prompt: "Question: " prefix, "Options:" lines, the select instruction
    assert bench.build_prompt(loaded.records[0]) == (
        "Question: Which animal is in the image?\nOptions:\nA. cat\nB. dog\nC. cow\nD. pig\n"
        "Please select the correct answer from the options above. \n")
    res = bench.score(loaded.records, _preds(loaded, MS_PREDS))
    assert res["overall"] == 0.75
    assert res["breakdowns"]["category"] == pytest.approx({"coarse perception": 1.0, "math": 2 / 3})
    assert res["breakdowns"]["l2_category"] == {"geometry": 0.5, "image scene and topic": 1.0,
                                                "statistical reasoning": 1.0}


def test_mmstar_tsv_image_index_refs_and_snapshot_precedence(tmp_path):
    """Regression: VLMEvalKit TSV options live in the A–D columns and an image cell may be another row's
    index; the HF snapshot holds mmstar.parquet and MMStar.tsv, and the parquet is read."""
    tsv_path = R.mmstar_vlmevalkit(tmp_path)
    loaded = get_benchmark("mmstar").load(tsv_path)
    assert loaded.records[2]["images"][0]["bytes"] == loaded.records[1]["images"][0]["bytes"]
    import pandas as pd

    df = pd.read_csv(tsv_path, sep="\t", dtype=str)
    df.loc[3, "image"] = "7"  # a reference to a row that does not exist
    df.to_csv(tsv_path, sep="\t", index=False)
    bad = get_benchmark("mmstar", max_skipped_fraction=None).load(tsv_path)
    assert bad.skipped == [{"row_id": "3", "reason": "image refers to row '7', which has no image"}]
    both = R.mmstar_hf(tmp_path / "snap")
    R.mmstar_vlmevalkit(both)
    assert get_benchmark("mmstar").load(both).layout == "hf"


# --------------------------------------------------------------------------------------------- Geometry3K
G3_PREDS = ["\\boxed{B}", "m\\angle 1 = \\boxed{140}", "\\boxed{24}"]  # letter; option D's value; option B's value


@pytest.mark.parametrize("layout", ["intergps", "hf"])
def test_geometry3k_layouts(tmp_path, layout):
    bench = get_benchmark("geometry3k")
    loaded = bench.load(R.BUILDERS[("geometry3k", layout)](tmp_path))
    assert loaded.layout == layout and _ids(loaded) == ["geometry3k-2401", "geometry3k-2402", "geometry3k-2403"]
    # Regression: hiyouga's parquet gives choices + ground_truth: a multiple-choice record, like Inter-GPS
    assert [r["answer"] for r in loaded.records] == ["B", "D", "A"] and loaded.records[0]["choices"] == ["3", "4", "5", "6"]
    question = "Find x." if layout == "intergps" else "<image>Find x."
    assert bench.build_prompt(loaded.records[0]) == (
        f"Question: {question}\nChoices:\n(A) 3\n(B) 4\n(C) 5\n(D) 6\nHint: Please answer the question and provide "
        "the correct option letter, e.g., A, B, C, D, at the end.\nSolution:")
    res = bench.score(loaded.records, _preds(loaded, G3_PREDS))
    assert res["overall"] == pytest.approx(2 / 3)
    assert [res["samples"][r["id"]]["extracted"] for r in loaded.records] == ["B", "D", "B"]
    if layout == "intergps":
        assert res["breakdowns"]["problem_type_goal"] == {"Angle": 1.0, "Area": 0.0, "Length": 1.0}


def test_geometry3k_free_form_parquet_without_choices(tmp_path):
    """Older hiyouga copies have only images / problem / answer: free-form records graded by value."""
    R.hf_parquet(tmp_path / "data" / "test-00000-of-00001.parquet",
                 [{"images": [{"bytes": png_bytes(), "path": None}], "problem": "<image>Find x.", "answer": "3"},
                  {"images": [{"bytes": png_bytes(), "path": None}], "problem": "<image>Find y.", "answer": "2\\sqrt{3}"}],
                 {"images": R.SEQ(R.IMG()), "problem": R.S(), "answer": R.S()})
    bench = get_benchmark("geometry3k")
    loaded = bench.load(tmp_path)
    assert [r["answer_type"] for r in loaded.records] == ["number", "expression"]
    assert bench.score(loaded.records, _preds(loaded, ["\\boxed{3}", "\\boxed{2}"]))["overall"] == 0.5


def _ids(loaded):
    return [r["id"] for r in loaded.records]


# -------------------------------------------------------------------------------------------------- MMK12
def test_mmk12_release_and_scoring(tmp_path):
    bench = get_benchmark("mmk12")
    loaded = bench.load(R.mmk12_hf(tmp_path))
    assert loaded.layout == "hf" and _ids(loaded) == ["mmk12-m1", "mmk12-p1", "mmk12-c1", "mmk12-b1"]
    assert loaded.records[0]["choices"] == ["$$10.5$$", "$$12$$", "$$13.5$$", "$$15$$"]
    assert loaded.records[1]["choices"] == ["1 N", "2 N", "3 N", "4 N"]
    assert bench.build_prompt(loaded.records[1]) == (
        "Answer the following question: What is the net force on the block?\nA.1 N\nB.2 N\nC.3 N\nD.4 N\n"
        "Please reason step by step, and put your final answer within \\boxed{}.")
    preds = ["The length is \\boxed{12}",  # option B's value
             "The answer is C", "\\boxed{HCl}", "A"]
    res = bench.score(loaded.records, _preds(loaded, preds))
    assert res["overall"] == 0.75
    assert res["breakdowns"]["subject"] == {"biology": 1.0, "chemistry": 0.0, "math": 1.0, "physics": 1.0}
    train = get_benchmark("mmk12", split="train").load(tmp_path)
    assert train.records[0]["answer_type"] == "number"


# --------------------------------------------------------------------------------------------- SuperCLEVR
@pytest.mark.parametrize("layout", ["r1v", "superclevr"])
def test_superclevr_layouts(tmp_path, layout):
    bench = get_benchmark("superclevr")
    root = R.BUILDERS[("superclevr", layout)](tmp_path)
    loaded = bench.load(root)
    assert loaded.layout == layout and len(loaded.records) == 3
    assert bench.build_prompt(loaded.records[0]) == (
        "How many different items are there in the image? First output the thinking process in <think> </think> "
        "and final answer (number) in <answer> </answer> tags.")
    res = bench.score(loaded.records, _preds(loaded, ["<think>…</think><answer>4</answer>", "<answer> 8 </answer>",
                                                       "\\boxed{10}"]))
    assert res["overall"] == pytest.approx(2 / 3)


# -------------------------------------------------------------------------------------------------- synth
def test_synth_save_to_disk(tmp_path):
    import datasets

    from mmreason.core.schema import features

    def rec(i, answer, atype, choices=(), task="STSC"):
        return {"id": f"s{i}", "images": [{"bytes": png_bytes(), "path": None}], "problem": f"<image>Q{i}?",
                "answer": answer, "answer_type": atype, "choices": list(choices), "task_type": task, "domain": "geo",
                "provenance": json.dumps({"doc_ids": ["d"]}), "quality": ""}

    recs = [rec(0, "B", "choice", ["1", "2", "3"]), rec(1, "12", "number"), rec(2, "x^2", "expression", task="MIMC"),
            rec(3, "yes", "boolean", task="MIMC"), rec(4, "Z", "choice", ["1", "2"])]  # s4: answer not a letter
    datasets.Dataset.from_list(recs, features=features()).save_to_disk(str(tmp_path / "split"))
    bench = get_benchmark("synth", max_skipped_fraction=0.25)
    loaded = bench.load(tmp_path / "split")
    assert [r["id"] for r in loaded.records] == ["s0", "s1", "s2", "s3"] and loaded.layout == "save_to_disk"
    assert loaded.skipped[0]["row_id"] == "s4" and "'answer'" in loaded.skipped[0]["reason"]
    assert bench.build_prompt(loaded.records[0]).startswith("<image>Q0?\nPlease reason step by step")
    templated = get_benchmark("synth", template="{problem}\nPut the final answer in \\boxed{{}}.")
    assert templated.build_prompt(loaded.records[1]) == "<image>Q1?\nPut the final answer in \\boxed{}."
    with pytest.raises(ValueError, match="no {problem}"):
        get_benchmark("synth", template="Answer:")
    preds = {"s0": "\\boxed{B}", "s1": "\\boxed{12.0}", "s2": "\\boxed{x**3}", "s3": "\\boxed{no}"}
    res = bench.score(loaded.records, preds, skipped=loaded.skipped)
    assert res["overall"] == 0.5 and res["n_skipped"] == 1
    assert res["breakdowns"]["task_type"] == {"MIMC": 0.0, "STSC": 1.0}
    assert res["breakdowns"]["answer_type"] == {"boolean": 0.0, "choice": 1.0, "expression": 0.0, "number": 1.0}


def test_synth_dataset_dict_reads_the_test_split(tmp_path):
    import datasets

    from mmreason.core.schema import features

    def rec(i):
        return {"id": f"s{i}", "images": [{"bytes": png_bytes(), "path": None}], "problem": f"<image>Q{i}?",
                "answer": str(i), "answer_type": "number", "choices": [], "task_type": "SISC", "domain": "geo",
                "provenance": json.dumps({"doc_ids": ["d"]}), "quality": ""}

    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list([rec(0), rec(1)], features=features()),
                               "test": datasets.Dataset.from_list([rec(7)], features=features())})
    dd.save_to_disk(str(tmp_path / "hf"))
    assert [r["id"] for r in get_benchmark("synth").load(tmp_path / "hf").records] == ["s7"]  # default: test
    assert [r["id"] for r in get_benchmark("synth", split="train").load(tmp_path / "hf").records] == ["s0", "s1"]
    with pytest.raises(ValueError, match="no split 'dev'"):
        get_benchmark("synth", split="dev").load(tmp_path / "hf")
