"""MathVista, MathVerse, MathVision, WeMath: fixtures in each release format, hand-scored predictions."""

import pytest
from evalfix import by_source, png_bytes, write_json, write_parquet, write_png

from mmreason.eval.benchmarks import MissingDataError, get_benchmark
from mmreason.eval.benchmarks.mathvista import normalize_extracted_answer
from mmreason.eval.benchmarks.wemath import official_letter


# ------------------------------------------------------------------ MathVista (HF parquet)
def _mv_row(pid, question, qtype, atype, answer, choices=None, precision=None, md=None, image=None):
    meta = {"language": "english", "source": "S", "category": "math-targeted-vqa", "task": "textbook question answering",
            "context": "geometry diagram", "grade": "high school", "skills": ["arithmetic reasoning"]}
    meta.update(md or {})
    return {"pid": pid, "question": question, "image": f"images/{pid}.jpg",
            "decoded_image": {"bytes": image if image is not None else png_bytes(), "path": f"{pid}.jpg"},
            "choices": choices, "unit": None, "precision": precision, "answer": answer, "question_type": qtype,
            "answer_type": atype, "metadata": meta}


def test_mathvista(tmp_path):
    rows = [
        _mv_row("1", "Largest city?", "multi_choice", "text", "tokyo", ["tokyo", "osaka", "hong kong"],
                md={"category": "general-vqa", "skills": ["logical reasoning", "scientific reasoning"]}),
        _mv_row("2", "Total cost?", "free_form", "integer", "13"),
        _mv_row("3", "Mean?", "free_form", "float", "1.5", precision=1.0,
                md={"skills": ["arithmetic reasoning", "statistical reasoning"]}),
        _mv_row("4", "x?", "multi_choice", "text", "5", ["3", "4", "5", "6"], md={"skills": ["algebraic reasoning"]}),
        _mv_row("5", "bad", "multi_choice", "text", "7", ["1", "2"]),  # answer not among the choices
        _mv_row("6", "bad", "free_form", "integer", "3", image=b"not a png"),  # unreadable image
    ]
    write_parquet(tmp_path / "data" / "testmini-00000-of-00001.parquet", rows)
    bench = get_benchmark("mathvista")
    loaded = bench.load(tmp_path)
    assert [r["id"] for r in loaded.records] == ["mathvista-1", "mathvista-2", "mathvista-3", "mathvista-4"]
    assert {s["row_id"] for s in loaded.skipped} == {"5", "6"}
    assert "not one of" in loaded.skipped[0]["reason"] and "unreadable" in loaded.skipped[1]["reason"]
    r1 = loaded.records[0]
    assert r1["answer"] == "A" and r1["answer_type"] == "choice"
    assert bench.build_prompt(r1) == (
        "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\n"
        "Question: Largest city?\nChoices:\n(A) tokyo\n(B) osaka\n(C) hong kong")
    preds = by_source(loaded.records, {
        "1": "It is in Japan. The answer is (A).",  # letter -> 'tokyo'
        "2": "4 + 3 + 6 = \\boxed{13.0}",  # integer normalisation: str(int(float('13.0'))) = '13'
        "3": "The mean is \\boxed{1.54}",  # precision 1: round(1.54, 1) = 1.5 -> '1.5'
        "4": "\\boxed{B}",  # B -> '4' != '5'
    }, "mathvista")
    res = bench.score(loaded.records, preds, skipped=loaded.skipped)
    assert res["overall"] == pytest.approx(3 / 4)
    assert res["n"] == 4 and res["n_skipped"] == 2
    b = res["breakdowns"]
    assert b["question_type"] == {"free_form": 1.0, "multi_choice": 0.5}
    assert b["category"] == pytest.approx({"general-vqa": 1.0, "math-targeted-vqa": 2 / 3})
    assert b["skills"] == {"algebraic reasoning": 0.0, "arithmetic reasoning": 1.0, "logical reasoning": 1.0,
                           "scientific reasoning": 1.0, "statistical reasoning": 1.0}
    assert res["samples"]["mathvista-4"]["extracted"] == "4"


def test_mathvista_normalize_official():
    ch = ["tokyo", "osaka", "hong kong"]
    assert normalize_extracted_answer("(B) osaka", ch, "multi_choice", "text", None) == "osaka"
    assert normalize_extracted_answer("tokio", ch, "multi_choice", "text", None) == "tokyo"  # Levenshtein-closest
    assert normalize_extracted_answer("2.456", [], "free_form", "float", 2) == "2.46"
    assert normalize_extracted_answer("abc", [], "free_form", "integer", None) is None


def test_missing_path_says_where(tmp_path):
    with pytest.raises(MissingDataError, match="eval.data.mathvista"):
        get_benchmark("mathvista").load(tmp_path / "nope")


# ------------------------------------------------------------------ MathVerse (testmini.json + images)
def test_mathverse(tmp_path):
    write_png(tmp_path / "images_version_1-4" / "image_1.png")
    write_png(tmp_path / "images_version_5" / "image_1.png")
    write_png(tmp_path / "images_version_6" / "image_1.png")
    write_png(tmp_path / "images_version_1-4" / "image_2.png")
    md1 = {"split": "testmini", "source": "Geo3D", "subject": "Solid Geometry", "subfield": "Length"}
    md2 = {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry", "subfield": "Angle"}
    rows, sid = [], 0
    for version, img in [("Text Dominant", "images_version_1-4"), ("Text Lite", "images_version_1-4"),
                         ("Vision Intensive", "images_version_1-4"), ("Vision Dominant", "images_version_5"),
                         ("Vision Only", "images_version_6")]:
        sid += 1
        rows.append({"sample_index": str(sid), "problem_index": "1", "problem_version": version,
                     "question": "" if version == "Vision Only" else "Find L.", "image": f"{img}/image_1.png",
                     "answer": "14", "question_type": "free-form", "metadata": md1,
                     "query_cot": f"Please first conduct reasoning ... Question: Find L. ({version})"})
    mc_q = "Find the angle.\nChoices:\nA:30°\nB:60°\nC:90°\nD:120°"
    rows.append({"sample_index": "6", "problem_index": "2", "problem_version": "Text Dominant", "question": mc_q,
                 "image": "images_version_1-4/image_2.png", "answer": "B", "question_type": "multi-choice",
                 "metadata": md2, "question_for_eval": mc_q})
    rows.append({"sample_index": "7", "problem_index": "2", "problem_version": "Vision Only", "question": "",
                 "image": "images_version_1-4/image_2.png", "answer": "B", "question_type": "multi-choice",
                 "metadata": md2, "question_for_eval": mc_q})
    rows.append({"sample_index": "8", "problem_index": "3", "problem_version": "Text Lite", "question": "x",
                 "image": "images_version_1-4/missing.png", "answer": "1", "question_type": "free-form",
                 "metadata": md2})
    write_json(tmp_path / "testmini.json", rows)
    bench = get_benchmark("mathverse")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 7 and loaded.skipped[0]["row_id"] == "8"
    assert "does not exist" in loaded.skipped[0]["reason"]
    assert bench.build_prompt(loaded.records[0]).endswith("(Text Dominant)")
    mc = loaded.records[5]
    assert mc["answer_type"] == "choice" and mc["choices"] == ["30°", "60°", "90°", "120°"]
    preds = by_source(loaded.records, {
        "1": "\\boxed{14}", "2": "L is about \\boxed{14.32}", "3": "So L = \\boxed{14}", "4": "The answer is 13",
        "5": "\\boxed{14}", "6": "The answer is B", "7": "\\boxed{A}"}, "mathverse")
    res = bench.score(loaded.records, preds, skipped=loaded.skipped)
    assert res["overall"] == pytest.approx(4 / 7)
    assert res["breakdowns"]["version"] == {"text-dominant": 1.0, "text-lite": 0.0, "vision-intensive": 1.0,
                                            "vision-dominant": 0.0, "vision-only": 0.5}
    assert res["breakdowns"]["subject"] == pytest.approx({"Solid Geometry": 0.6, "Plane Geometry": 0.5})
    assert res["breakdowns"]["question_type"] == pytest.approx({"free-form": 0.6, "multi-choice": 0.5})


# ------------------------------------------------------------------ MATH-Vision (HF parquet + images/)
def test_mathvision(tmp_path):
    for i in range(1, 6):
        write_png(tmp_path / "images" / f"{i}.jpg")
    rows = [
        {"id": "1", "question": "<image1>\nLength?", "options": ["1", "2", "3", "4", "5"], "image": "images/1.jpg",
         "answer": "C", "solution": "", "level": 2, "subject": "metric geometry - length"},
        {"id": "2", "question": "Sum?", "options": [], "image": "images/2.jpg", "answer": "7", "solution": "",
         "level": 1, "subject": "arithmetic"},
        {"id": "3", "question": "Which?", "options": ["A", "B", "C", "D", "E"], "image": "images/3.jpg",
         "answer": "D", "solution": "", "level": 3, "subject": "arithmetic"},
        {"id": "4", "question": "Ratio?", "options": [], "image": "images/4.jpg", "answer": "\\frac{1}{2}",
         "solution": "", "level": 2, "subject": "algebra"},
        {"id": "5", "question": "bad", "options": ["1", "2", "3", "4", "5"], "image": "images/5.jpg", "answer": "F",
         "solution": "", "level": 1, "subject": "algebra"},
    ]
    write_parquet(tmp_path / "data" / "testmini-00000-of-00001.parquet", rows)
    bench = get_benchmark("mathvision")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 4 and loaded.skipped[0]["row_id"] == "5"
    p1 = bench.build_prompt(loaded.records[0])
    assert p1.startswith('Please solve the problem step by step and put your answer in one "\\boxed{}".')
    assert p1.endswith("Length?\n(A) 1\n(B) 2\n(C) 3\n(D) 4\n(E) 5\n")
    assert "(A)" not in bench.build_prompt(loaded.records[2])  # options drawn in the image
    preds = by_source(loaded.records, {"1": "\\boxed{3}",  # the gold option's value counts (is_equal(gt_answer_value))
                                       "2": "\\boxed{8}", "3": "\\boxed{D}", "4": "\\boxed{0.5}"}, "mathvision")
    res = bench.score(loaded.records, preds, skipped=loaded.skipped)
    assert res["overall"] == pytest.approx(3 / 4)
    assert res["breakdowns"]["subject"] == {"algebra": 1.0, "arithmetic": 0.5, "metric geometry - length": 1.0}
    assert res["breakdowns"]["level"] == {"1": 0.0, "2": 1.0, "3": 1.0}


# ------------------------------------------------------------------ WeMath (testmini.json + images)
OPT = "A. 3;B. 4;C. 5;D. 6;E. No correct answer"


def _wm(pid, key, answer, img="2steps/image/1-1.png"):
    return {"ID": pid, "split": "testmini", "knowledge concept": "Area" if pid.startswith("2") else "Angles",
            "question": f"Q {pid} {key}", "option": OPT, "answer": answer, "image_path": img, "key": key,
            "question number": 1, "knowledge concept description": "..."}


def test_wemath_four_dimensional(tmp_path):
    write_png(tmp_path / "2steps" / "image" / "1-1.png")
    right = "<Thought process>: ... <Answer>: <<B>>"
    wrong = "<Thought process>: ... <Answer>: <<A>>"
    rows, preds = [], {}

    def add(pid, key, ok, answer="B", img="2steps/image/1-1.png", resp=None):
        rows.append(_wm(pid, key, answer, img))
        preds[f"{pid}-{key}"] = resp or (right if ok else wrong)

    # P1: steps right, multi right -> CM (strict + loose)
    add("2steps_1", "2steps_1", True), add("2steps_1", "2steps_2", True), add("2steps_1", "2steps_multi", True)
    # P2: one step wrong, multi right -> RM strict, CM loose (the multi uses the \boxed fallback)
    add("2steps_2", "2steps_1", True), add("2steps_2", "2steps_2", False)
    add("2steps_2", "2steps_multi", True, resp="so \\boxed{B}")
    # P3: all wrong -> IK
    add("2steps_3", "2steps_1", False), add("2steps_3", "2steps_2", False), add("2steps_3", "2steps_multi", False)
    # P4: steps wrong, multi right -> RM strict + loose
    add("2steps_4", "2steps_1", False), add("2steps_4", "2steps_2", False), add("2steps_4", "2steps_multi", True)
    # Q1: three steps right, multi wrong -> IG
    for k in ("3steps_1", "3steps_2", "3steps_3"):
        add("3steps_1", k, True)
    add("3steps_1", "3steps_multi", False)
    # P9: step 1 has a missing image (skipped) -> the problem is incomplete and left out of the 4 dimensions
    rows.append(_wm("2steps_9", "2steps_1", "B", img="2steps/image/nope.png"))
    add("2steps_9", "2steps_2", True), add("2steps_9", "2steps_multi", True)
    rows.append(_wm("2steps_10", "2steps_1", "Z"))  # answer in an unexpected form
    write_json(tmp_path / "testmini.json", rows)

    bench = get_benchmark("wemath")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 18 and len(loaded.skipped) == 2
    assert loaded.records[0]["choices"] == ["3", "4", "5", "6", "No correct answer"]
    assert "<Thought process>: <<your thought process>> <Answer>: <<your option>>" in bench.build_prompt(loaded.records[0])
    res = bench.score(loaded.records, by_source(loaded.records, preds, "wemath"), skipped=loaded.skipped)
    m = res["metrics"]
    assert m["n_problems"] == 5 and m["n_incomplete_problems"] == 1
    assert m["IK"] == 0.2 and m["IG"] == 0.2 and m["CM_strict"] == 0.2 and m["CM_loose"] == 0.4
    assert m["RM_strict"] == pytest.approx(2 / 3) and m["RM_loose"] == pytest.approx(1 / 3)
    assert res["overall"] == m["score_strict"] == pytest.approx(0.3)
    assert m["score_loose"] == pytest.approx(0.5)
    assert m["accuracy"] == pytest.approx(11 / 18)
    assert res["breakdowns"]["steps"] == pytest.approx({"S1": 6 / 11, "S2": 3 / 4, "S3": 0.0})  # S1: 2+1+0+0+3 of 11 sub-questions
    assert res["n_skipped"] == 2


def test_wemath_official_letter_rule():
    assert official_letter("<Thought process>: x <Answer>: <<C>>") == "C"
    assert official_letter("Because the area is 4") == "B"  # the official rule reads the first character
    assert official_letter("the area is 4") is None
