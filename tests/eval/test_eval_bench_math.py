"""MathVista, MathVerse, MathVision, We-Math: every accepted layout (tests/eval/releases.py reproduces each
release), hand-made predictions, hand-worked official metrics, and the loader/prompt/scoring defects of
issue 9 as regression tests."""

import pytest
import releases as R

from mmreason.eval.benchmarks import get_benchmark
from mmreason.eval.benchmarks.mathvista import build_query, normalize_extracted_answer


def _ids(loaded):
    return [r["id"] for r in loaded.records]


# ---------------------------------------------------------------------------------------------- MathVista
MV_PREDS = {
    "1": "The spring is compressed by d = 1.24 m, so the answer is \\boxed{1.24}",  # precision 1: 1.2 == 1.2
    "10": "The answer is E.",  # option E's text is "E"
    "3": "\\boxed{7.0}",  # integer: str(int(float("7.0"))) == "7"
    "4": "Answer: osaka",  # the option text osaka, not tokyo
}


MV_KEY = ["1", "10", "3", "4"]  # TSV rows are indexed 0..3 in this order


@pytest.mark.parametrize("layout", ["hf", "github", "vlmevalkit"])
def test_mathvista_layouts(tmp_path, layout):
    path = R.BUILDERS[("mathvista", layout)](tmp_path)
    bench = get_benchmark("mathvista")
    loaded = bench.load(path)
    assert loaded.layout == layout and loaded.skipped == []
    assert [r["answer"] for r in loaded.records] == ["1.2", "E", "7", "D"]
    by = {MV_KEY[i]: r for i, r in enumerate(loaded.records)}
    assert by["4"]["choices"] == ["hong kong", "osaka", "shanghai", "tokyo"] and by["4"]["answer_type"] == "choice"
    # the released query (hf column, GitHub query.json, TSV question) is the prompt
    assert bench.build_prompt(by["4"]) == R.MV_QUERIES["4"]
    res = bench.score(loaded.records, {r["id"]: MV_PREDS[MV_KEY[i]] for i, r in enumerate(loaded.records)})
    assert res["overall"] == pytest.approx(3 / 4)
    assert res["breakdowns"]["question_type"] == {"free_form": 1.0, "multi_choice": 0.5}
    assert res["breakdowns"]["skills"] == {"arithmetic reasoning": 1.0, "logical reasoning": 0.5,
                                           "numeric commonsense": 0.0, "scientific reasoning": 1.0}
    assert res["samples"][by["4"]["id"]]["extracted"] == "osaka"


def test_mathvista_build_query_is_build_query_py(tmp_path):
    """Regression: the fallback query is build_query.create_one_query's zero-shot "solution" query
    (question, choices, hint, "Solution:"), not the hint-first released query."""
    bench = get_benchmark("mathvista", prompt="build")
    loaded = bench.load(R.mathvista_hf(tmp_path))
    by = {r["meta"]["pid"]: r for r in loaded.records}
    assert bench.build_prompt(by["4"]) == (
        "Question: What is the largest city in the nation where this plane is headquartered?\nChoices:\n"
        "(A) hong kong\n(B) osaka\n(C) shanghai\n(D) tokyo\nHint: Please answer the question and provide the "
        "correct option letter, e.g., A, B, C, D, at the end.\nSolution:")
    assert bench.build_prompt(by["3"]) == (
        "Question: How much money does Ruth need to buy a baking dish and a casserole dish? (Unit: $)\nHint: Please "
        "answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.\n"
        "Solution:")
    assert build_query("Q?", "", [], 2, "free_form", "float").startswith("Question: Q?\nHint: Please answer the "
                                                                         "question requiring a floating-point number with two")


def test_mathvista_github_layout_at_the_repository_root(tmp_path):
    """Regression: pointed at the repository root, images resolve relative to data/testmini.json (data/images/),
    and the zipped images.zip in data/ is read too — nothing is skipped."""
    for sub, zipped in (("unzipped", False), ("zipped", True)):
        loaded = get_benchmark("mathvista").load(R.mathvista_github(tmp_path / sub, zipped=zipped))
        assert len(loaded.records) == 4 and loaded.skipped == []


def test_mathvista_normalize_official():
    ch = ["tokyo", "osaka", "hong kong"]
    assert normalize_extracted_answer("(B) osaka", ch, "multi_choice", "text", None) == "osaka"
    assert normalize_extracted_answer("tokio", ch, "multi_choice", "text", None) == "tokyo"  # Levenshtein-closest
    assert normalize_extracted_answer("2.456", [], "free_form", "float", 2) == "2.46"
    assert normalize_extracted_answer("abc", [], "free_form", "integer", None) is None


# ---------------------------------------------------------------------------------------------- MathVerse
MVS_PREDS = {
    "1": "\\boxed{14}", "2": "L is about \\boxed{14.32}", "3": "So L = \\boxed{14}", "4": "The answer is 13",
    "5": "\\boxed{14}",
    "6": "Since DE is parallel to BC, angle CED = 180° - 40°, so \\boxed{140°}",  # the value of option D
    "7": "The answer is a right triangle, so angle CED is obtuse.",  # "a" is no option letter
}
MVS_VERSION_ACC = {"text-dominant": 1.0, "text-lite": 0.0, "vision-intensive": 1.0, "vision-dominant": 0.0,
                   "vision-only": 0.5}


@pytest.mark.parametrize("layout", ["hf-parquet", "json", "vlmevalkit"])
def test_mathverse_layouts(tmp_path, layout):
    path = R.BUILDERS[("mathverse", layout)](tmp_path)
    bench = get_benchmark("mathverse")
    loaded = bench.load(path)
    assert loaded.layout == layout and len(loaded.records) == 7 and loaded.skipped == []
    assert {r["meta"]["version"] for r in loaded.records} == set(MVS_VERSION_ACC)  # no Text Only by default
    mc = loaded.records[5]
    assert mc["answer"] == "D" and mc["choices"] == ["40°", "60°", "120°", "140°"]
    assert bench.build_prompt(loaded.records[1]).startswith("Please first conduct reasoning")
    preds = {r["id"]: MVS_PREDS[str(i + 1)] for i, r in enumerate(loaded.records)}
    res = bench.score(loaded.records, preds)
    assert res["overall"] == pytest.approx(4 / 7)
    assert res["breakdowns"]["version"] == MVS_VERSION_ACC
    assert res["breakdowns"]["subject"] == pytest.approx({"Solid Geometry": 0.6, "Plane Geometry": 0.5})
    assert res["samples"][mc["id"]]["extracted"] == "D"


def test_mathverse_snapshot_prefers_parquet_and_leaves_out_text_only(tmp_path):
    """Regression: the HF snapshot holds testmini.json, testmini.parquet, testmini_text_only.{json,parquet}
    and images.zip: the parquet is read, and Text Only rows only when asked for."""
    root = R.mathverse_hf(tmp_path)
    loaded = get_benchmark("mathverse").load(root)
    assert loaded.layout == "hf-parquet" and loaded.files == [str(root / "testmini.parquet")]
    assert all(r["meta"]["version"] != "text-only" for r in loaded.records)
    every = get_benchmark("mathverse", versions="all").load(root)
    assert len(every.records) == 9
    assert _ids(every)[-2:] == ["mathverse-text-only-1", "mathverse-text-only-2"]
    assert every.records[-1]["images"] == []
    only = get_benchmark("mathverse", versions=["text-only"]).load(root)
    res = get_benchmark("mathverse").score(only.records, {"mathverse-text-only-1": "\\boxed{14}",
                                                           "mathverse-text-only-2": "D"})
    assert res["overall"] == 1.0 and res["breakdowns"]["version"] == {"text-only": 1.0}
    assert get_benchmark("mathverse", prompt="wo").build_prompt(only.records[0]).startswith("Please directly answer")
    with pytest.raises(ValueError, match="unknown versions"):
        get_benchmark("mathverse", versions=["text only please"])


def test_mathverse_json_with_zipped_images(tmp_path):
    """The snapshot's testmini.json resolves its image paths inside images.zip (no parquet present)."""
    root = R.mathverse_hf(tmp_path)
    (root / "testmini.parquet").unlink()
    loaded = get_benchmark("mathverse", image_cache=tmp_path / "cache").load(root)
    assert loaded.layout == "json" and len(loaded.records) == 7
    cached = loaded.records[0]["images"][0]["path"]
    assert cached.startswith(str(tmp_path / "cache")) and cached.endswith("images_version_1-4/image_1.png")


# --------------------------------------------------------------------------------------------- MathVision
MVI_PREDS = ["\\boxed{60}", "\\boxed{B}", "The path is 12 units long: \\boxed{12}", "\\boxed{0.5}"]


@pytest.mark.parametrize("layout", ["hf", "github", "vlmevalkit"])
def test_mathvision_layouts(tmp_path, layout):
    path = R.BUILDERS[("mathvision", layout)](tmp_path)
    bench = get_benchmark("mathvision")
    loaded = bench.load(path)
    assert loaded.layout == layout and len(loaded.records) == 4 and loaded.skipped == []
    r5 = loaded.records[2]
    # Regression: the question keeps its <image1> placeholder (Qwen-VL.py geninput sends it as is)
    assert bench.build_prompt(r5) == (
        'Please solve the problem step by step and put your answer in one "\\boxed{}". If it is a multiple choice '
        'question, only one letter is allowed in the "\\boxed{}".\n<image1>\nHow long is the path?\n'
        "(A) 8\n(B) 10\n(C) 12\n(D) 14\n(E) 16\n")
    assert "(A)" not in bench.build_prompt(loaded.records[1])  # options drawn in the image: not listed
    res = bench.score(loaded.records, {r["id"]: MVI_PREDS[i] for i, r in enumerate(loaded.records)})
    assert res["overall"] == pytest.approx(3 / 4)
    assert res["breakdowns"]["subject"] == {"arithmetic": 0.5, "metric geometry - area": 1.0,
                                            "metric geometry - length": 1.0}
    assert res["breakdowns"]["level"] == {"1": 1.0, "2": 0.5, "3": 1.0}
    assert res["samples"][r5["id"]]["extracted"] == "C"  # the value 12 is option C


def test_mathvision_split_picks_the_file(tmp_path):
    root = R.mathvision_hf(tmp_path)
    assert len(get_benchmark("mathvision", split="test", max_skipped_fraction=None).load(root).records) == 1


# ------------------------------------------------------------------------------------------------ We-Math
R_, W_ = "<Thought process>: the lengths are 3000 and 4000 m <Answer>: <<C>>", "<Thought process>: ... <Answer>: <<A>>"
WM_PREDS = {  # (ID, key) -> response
    ("2steps_1", "2steps_1"): R_, ("2steps_1", "2steps_2"): R_, ("2steps_1", "2steps_multi"): R_,  # CM
    ("2steps_2", "2steps_1"): R_, ("2steps_2", "2steps_2"): W_,  # one step wrong, multi right: RM strict, CM loose
    ("2steps_2", "2steps_multi"): "So the answer is \\boxed{C}",  # no template: the option letter of the answer
    ("3steps_1", "3steps_1"): R_, ("3steps_1", "3steps_2"): R_, ("3steps_1", "3steps_3"): R_,
    ("3steps_1", "3steps_multi"): W_,  # IG
}


def _wm_preds(loaded):
    return {r["id"]: WM_PREDS[(r["meta"]["ID"], r["meta"]["key"])] for r in loaded.records
            if (r["meta"]["ID"], r["meta"]["key"]) in WM_PREDS}


@pytest.mark.parametrize("layout", ["hf-parquet", "json", "vlmevalkit"])
def test_wemath_layouts_and_four_dimensional_metrics(tmp_path, layout):
    path = R.BUILDERS[("wemath", layout)](tmp_path)
    bench = get_benchmark("wemath")
    loaded = bench.load(path)
    assert loaded.layout == layout and len(loaded.records) == 10 and loaded.skipped == []
    assert loaded.records[0]["choices"] == ["300, 400", "400, 300", "3000, 4000", "4000, 3000", "No correct answer"]
    res = bench.score(loaded.records, _wm_preds(loaded))
    m = res["metrics"]
    # 3 complete problems: CM (strict+loose), RM strict / CM loose, IG
    assert (m["n_problems"], m["n_IK"], m["n_IG"], m["n_CM_strict"], m["n_CM_loose"], m["n_RM_strict"],
            m["n_RM_loose"]) == (3, 0, 1, 1, 2, 1, 0)
    assert m["IG"] == pytest.approx(1 / 3) and m["CM_loose"] == pytest.approx(2 / 3) and m["RM_strict"] == 0.5
    assert res["overall"] == m["score_strict"] == pytest.approx((3 - 0.5 * 1 - 1 - 0) / 3)
    assert m["score_loose"] == pytest.approx((3 - 0.5) / 3)
    assert m["accuracy"] == pytest.approx(8 / 10)
    assert res["breakdowns"]["steps"] == pytest.approx({"S1": 6 / 7, "S2": 1.0, "S3": 0.0})
    if layout == "vlmevalkit":  # no knowledge_structure_nodes.json beside WeMath.tsv
        assert "knowledge_domain" not in res["breakdowns"]
        assert bench.build_prompt(loaded.records[0]).endswith("Options:\nA. 300, 400\nB. 400, 300\nC. 3000, 4000\n"
                                                              "D. 4000, 3000\nE. No correct answer\n")
    else:  # accuracy.py: per-concept accuracy of the one-step questions, averaged over each root2's nodes
        assert res["breakdowns"]["knowledge_domain"] == pytest.approx(
            {"Understanding and Conversion of Units": 1.0, "Calculation of Plane Figures": (1.0 + 2 / 3) / 2})
        assert bench.build_prompt(loaded.records[0]).endswith("<Thought process>: <<your thought process>> <Answer>: "
                                                              "<<your option>>")


def test_wemath_denominator_is_the_complete_problems_present(tmp_path):
    """Regression: a problem with a step that failed to load is left out and the rates divide by the 2
    complete problems (the official script's 525 only holds for the full testmini)."""
    root = R.wemath_json(tmp_path)
    (root / "data" / "3steps" / "image" / "1-2.png").unlink()
    loaded = get_benchmark("wemath", max_skipped_fraction=None).load(root)
    assert [s["row_id"] for s in loaded.skipped] == ["3steps_1:3steps_2"]
    res = get_benchmark("wemath").score(loaded.records, _wm_preds(loaded), skipped=loaded.skipped)
    m = res["metrics"]
    assert m["n_problems"] == 2 and m["n_incomplete_problems"] == 1
    assert m["score_strict"] == pytest.approx((2 - 0 - 1 - 0) / 2) and m["CM_strict"] == 0.5
