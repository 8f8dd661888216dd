"""LogicVista, DynaMath, HallusionBench, MMStar, Geometry3K, MMK12, SuperCLEVR, synth: fixtures in each
release format, hand-scored predictions."""

import base64
import json

import pytest
from evalfix import b64png, by_source, png_bytes, write_json, write_parquet, write_png

from mmreason.eval.benchmarks import get_benchmark
from mmreason.eval.benchmarks.dynamath import dynamath_correct
from mmreason.eval.benchmarks.mmstar import mmstar_match


# ------------------------------------------------------------------ LogicVista (dataset.json + images/)
def test_logicvista(tmp_path):
    for i in range(4):
        write_png(tmp_path / "images" / f"v1_{i}.png")
    data = {
        "v1_0": {"imagename": "v1_0.png", "question": "Which?", "answer": "C", "skill": ["inductive"],
                 "capability": ["diagram", "ocr"], "imagesource": "a"},
        "v1_1": {"imagename": "v1_1.png", "question": "Which two?", "answer": "A, C", "skill": ["inductive"],
                 "capability": ["diagram"], "imagesource": "a"},
        "v1_2": {"imagename": "v1_2.png", "question": "Which two?", "answer": "B, D", "skill": ["deductive"],
                 "capability": ["diagram"], "imagesource": "a"},
        "v1_3": {"imagename": "v1_3.png", "question": "Select from 1-5", "answer": "3", "skill": ["numerical"],
                 "capability": ["ocr"], "imagesource": "a"},
        "v1_4": {"imagename": "v1_404.png", "question": "?", "answer": "A", "skill": ["spatial"], "capability": []},
        "v1_5": {"imagename": "v1_0.png", "question": "?", "answer": "maybe", "skill": ["spatial"], "capability": []},
    }
    write_json(tmp_path / "dataset.json", data)
    bench = get_benchmark("logicvista")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 4 and {s["row_id"] for s in loaded.skipped} == {"v1_4", "v1_5"}
    preds = by_source(loaded.records, {"v1_0": "The answer is C", "v1_1": "\\boxed{A, C}", "v1_2": "\\boxed{B}",
                                       "v1_3": "Answer: 3"}, "logicvista")
    res = bench.score(loaded.records, preds, skipped=loaded.skipped)
    assert res["overall"] == 0.75
    assert res["breakdowns"]["skill"] == {"deductive": 0.0, "inductive": 1.0, "numerical": 1.0}
    assert res["breakdowns"]["capability"] == pytest.approx({"diagram": 2 / 3, "ocr": 1.0})


# ------------------------------------------------------------------ DynaMath (HF parquet per variant)
def _dm(qid, question, gt, atype, subject, level):
    return {"id": qid, "question": question, "image": f"image/image{qid}.png",
            "decoded_image": {"bytes": png_bytes(), "path": None}, "ground_truth": gt, "answer_type": atype,
            "subject": subject, "knowledge_level": level}


def test_dynamath_average_and_worst_case(tmp_path):
    seeds = [("1", "Period?", "2.0944", "float", "analytic geometry", "high school"),
             ("2", "Greater? Choices: (A) yes (B) no", "B", "multiple choice", "statistics", "elementary school"),
             ("3", "Hottest month?", "May", "text", "statistics", "elementary school")]
    for v in (1, 2, 3):
        rows = [_dm(*s) for s in seeds]
        if v == 3:
            rows.append(_dm("4", "bad", "abc", "float", "algebra", "high school"))  # float truth that is no number
        write_parquet(tmp_path / "data" / f"sample_variant{v}-00000-of-00001.parquet", rows)
    bench = get_benchmark("dynamath")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 9 and loaded.skipped == [
        {"row_id": "4-v3", "reason": "float ground truth 'abc' is not a number"}]
    p = bench.build_prompt(loaded.records[0])
    assert p.startswith("## Question\nPeriod?Please answer in a floating-point number.\n## Answer Instruction")
    assert p.endswith('"short answer": "[Concise Answer]"\n}')

    def js(a):
        return json.dumps({"solution": "...", "short answer": a})

    preds = by_source(loaded.records, {
        "1-v1": js("2.094"),  # |2.094 - 2.0944| <= 0.001
        "1-v2": js("2.1"),  # off by 0.0056
        "1-v3": js("2.0944"),
        "2-v1": js("B"), "2-v2": js("(B) no"), "2-v3": js("A"),
        "3-v1": js("May"), "3-v2": "Looking at the bars.\nIt is May", "3-v3": js("May"),
    }, "dynamath")
    res = bench.score(loaded.records, preds, skipped=loaded.skipped)
    assert res["overall"] == res["metrics"]["average_case"] == pytest.approx(7 / 9)
    assert res["metrics"]["worst_case"] == pytest.approx(1 / 3)  # only seed 3 is right in every variant
    b = res["breakdowns"]
    assert b["subject"] == pytest.approx({"analytic geometry": 2 / 3, "statistics": 5 / 6})
    assert b["subject_worst"] == {"analytic geometry": 0.0, "statistics": 0.5}
    assert b["level_worst"] == {"elementary school": 0.5, "high school": 0.0}


def test_dynamath_rule():
    assert dynamath_correct("2π", "6.2832", "float")
    assert dynamath_correct("3.1416 units", "3.1416", "float")
    assert not dynamath_correct("3.15", "3.1416", "float")
    assert dynamath_correct("(C) smaller", "C", "multiple choice")
    assert not dynamath_correct("May", "June", "text")


# ------------------------------------------------------------------ HallusionBench (json + images)
def test_hallusionbench_aacc_facc_qacc(tmp_path):
    root = tmp_path / "hallusion_bench"
    write_png(root / "VD" / "figure" / "0_0.png")
    write_png(root / "VD" / "figure" / "0_1.png")
    write_png(root / "VS" / "chart" / "0_1.png")

    def row(cat, sub, fig, q, gt, visual="1", fn=None):
        return {"category": cat, "subcategory": sub, "visual_input": visual, "set_id": "0", "figure_id": fig,
                "sample_note": "", "question_id": q, "question": f"Is it {cat}{fig}{q}?", "gt_answer_details": "",
                "gt_answer": gt,
                "filename": fn if fn is not None else (f"./hallusion_bench/{cat}/{sub}/0_{fig}.png" if visual != "0" else None)}

    rows = [row("VD", "figure", "0", "0", "1"), row("VD", "figure", "0", "1", "0"), row("VD", "figure", "1", "0", "0"),
            row("VD", "figure", "1", "1", "1"), row("VS", "chart", "0", "0", "1", visual="0"),
            row("VS", "chart", "1", "0", "0"), row("VS", "chart", "1", "1", "2"),
            row("VS", "map", "1", "0", "1", fn="./hallusion_bench/VS/map/404.png")]
    write_json(tmp_path / "HallusionBench.json", rows)
    bench = get_benchmark("hallusionbench")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 6 and len(loaded.skipped) == 2
    assert loaded.records[4]["images"] == []  # visual_input 0: no image
    preds = by_source(loaded.records, {
        "VD_figure_0_0_0": "Yes, it is.", "VD_figure_0_0_1": "No.", "VD_figure_0_1_0": "Yes",
        "VD_figure_0_1_1": "yes", "VS_chart_0_0_0": "\\boxed{yes}", "VS_chart_0_1_0": "Yes and no"}, "hallusionbench")
    res = bench.score(loaded.records, preds, skipped=loaded.skipped)
    m = res["metrics"]
    assert res["overall"] == m["aAcc"] == pytest.approx(4 / 6)
    assert m["fAcc"] == pytest.approx(1 / 3)  # VD fig0 all right; VD fig1 and VS fig1 not; VS fig0 excluded
    assert m["qAcc"] == pytest.approx(1 / 3)  # only VD q1 right on every figure
    b = res["breakdowns"]
    assert b["aAcc_by_category"] == {"VD": 0.75, "VS": 0.5}
    assert b["fAcc_by_category"] == {"VD": 0.5, "VS": 0.0}
    assert b["qAcc_by_category"] == {"VD": 0.5, "VS": 0.0}
    assert b["aAcc_by_difficulty"] == pytest.approx({"easy": 1.0, "hard": 1 / 3})


# ------------------------------------------------------------------ MMStar (VLMEvalKit TSV, base64 images)
def test_mmstar_tsv(tmp_path):
    import pandas as pd

    opts = "Options: A: cat, B: dog, C: cow, D: pig"
    rows = [
        {"index": 0, "question": f"Which animal?\n{opts}", "answer": "A", "category": "coarse perception",
         "l2_category": "image scene and topic", "image": b64png()},
        {"index": 1, "question": f"Angle?\n{opts}", "answer": "B", "category": "math", "l2_category": "geometry",
         "image": b64png()},
        {"index": 2, "question": f"Side?\n{opts}", "answer": "C", "category": "math", "l2_category": "geometry",
         "image": b64png()},
        {"index": 3, "question": f"Mean?\n{opts}", "answer": "D", "category": "math",
         "l2_category": "statistical reasoning", "image": b64png()},
        {"index": 4, "question": f"Bad?\n{opts}", "answer": "A", "category": "math", "l2_category": "geometry",
         "image": base64.b64encode(b"x" * 200).decode()},  # base64 of bytes that are no image
        {"index": 5, "question": f"Bad?\n{opts}", "answer": "E", "category": "math", "l2_category": "geometry",
         "image": b64png()},  # answer outside the options
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "MMStar.tsv", sep="\t", index=False)
    bench = get_benchmark("mmstar")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 4 and [s["row_id"] for s in loaded.skipped] == ["4", "5"]
    assert loaded.records[0]["choices"] == ["cat", "dog", "cow", "pig"]
    preds = by_source(loaded.records, {"0": "A", "1": "The answer is B", "2": "(D) pig", "3": "\\boxed{D}"}, "mmstar")
    res = bench.score(loaded.records, preds)
    assert res["overall"] == 0.75
    assert res["breakdowns"]["category"] == pytest.approx({"coarse perception": 1.0, "math": 2 / 3})
    assert res["breakdowns"]["l2_category"] == {"geometry": 0.5, "image scene and topic": 1.0,
                                                "statistical reasoning": 1.0}


def test_mmstar_official_prefix_rule():
    assert mmstar_match("(b) dog", "B") and mmstar_match("Option c", "C") and mmstar_match("the answer is d", "D")
    assert not mmstar_match("dog", "B") and not mmstar_match("", "A")


# ------------------------------------------------------------------ Geometry3K (Inter-GPS dirs)
def test_geometry3k_intergps(tmp_path):
    probs = [("2401", ["3", "4", "5", "6"], "B", ["Length"]), ("2402", ["7.5", "8", "9", "10"], "A", ["Angle"]),
             ("2403", ["1", "2", "3", "4"], "D", ["Length"]), ("2404", ["1", "2"], "A", ["Area"])]
    for pid, choices, ans, goal in probs:
        d = tmp_path / "test" / pid
        write_json(d / "data.json", {"id": int(pid), "problem_text": f"Find x in {pid}.", "choices": choices,
                                     "answer": ans, "problem_type_goal": goal, "problem_type_graph": ["Triangle"]})
        if pid != "2404":  # 2404 has no diagram
            write_png(d / "img_diagram.png")
    bench = get_benchmark("geometry3k")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 3 and loaded.skipped[0]["row_id"] == "2404"
    assert bench.build_prompt(loaded.records[0]).endswith("Choices:\n(A) 3\n(B) 4\n(C) 5\n(D) 6")
    preds = by_source(loaded.records, {"2401": "\\boxed{B}", "2402": "Answer: 7.5", "2403": "\\boxed{C}"}, "geometry3k")
    res = bench.score(loaded.records, preds)
    assert res["overall"] == pytest.approx(2 / 3)
    assert res["breakdowns"]["problem_type_goal"] == {"Angle": 1.0, "Length": 0.5}


# ------------------------------------------------------------------ MMK12 (parquet)
def test_mmk12(tmp_path):
    img = {"bytes": png_bytes(), "path": None}
    rows = [{"id": "m1", "subject": "math", "image": img, "question": "Half?", "answer": "\\frac{1}{2}"},
            {"id": "p1", "subject": "physics", "image": img, "question": "Force?\nA. 1 N\nB. 2 N\nC. 3 N\nD. 4 N",
             "answer": "B"},
            {"id": "c1", "subject": "chemistry", "image": img, "question": "Mass?", "answer": "12"},
            {"id": "b1", "subject": "biology", "image": img, "question": "Which organ (see figure)?", "answer": "C"},
            {"id": "x1", "subject": "math", "image": None, "question": "No image", "answer": "1"}]
    write_parquet(tmp_path / "test-00000-of-00001.parquet", rows)
    bench = get_benchmark("mmk12")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 4 and loaded.skipped == [{"row_id": "x1", "reason": "image is missing"}]
    assert loaded.records[1]["answer_type"] == "choice" and loaded.records[3]["answer_type"] == "text"
    preds = by_source(loaded.records, {"m1": "\\boxed{0.5}", "p1": "\\boxed{B}", "c1": "\\boxed{13}",
                                       "b1": "The answer is C"}, "mmk12")
    res = bench.score(loaded.records, preds)
    assert res["overall"] == 0.75
    assert res["breakdowns"]["subject"] == {"biology": 1.0, "chemistry": 0.0, "math": 1.0, "physics": 1.0}


# ------------------------------------------------------------------ SuperCLEVR counting (R1-V jsonl)
def test_superclevr(tmp_path):
    for i in range(4):
        write_png(tmp_path / "images" / f"superCLEVR_new_{i}.png")
    rows = [{"image_path": f"images/superCLEVR_new_{i}.png", "question": "How many items are there in the image?",
             "ground_truth": gt} for i, gt in enumerate([4, 3, 7, 2])]
    rows.append({"image_path": "images/superCLEVR_new_0.png", "question": "How many?", "ground_truth": "many"})
    (tmp_path / "superclevr_test200_counting_problems.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    bench = get_benchmark("superclevr")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 4 and loaded.skipped[0]["row_id"] == "4"
    assert bench.build_prompt(loaded.records[0]) == (
        "How many items are there in the image? First output the thinking process in <think> </think> and final "
        "answer (number) in <answer> </answer> tags.")
    preds = by_source(loaded.records, {"0": "<think>four</think><answer>4</answer>", "1": "<answer> 5 </answer>",
                                       "2": "\\boxed{7}", "3": "There are 2"}, "superclevr")
    res = bench.score(loaded.records, preds)
    assert res["overall"] == 0.5  # 0 and 2 right; 1 wrong count; 3 has no extractable answer


# ------------------------------------------------------------------ synth (save_to_disk)
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
    bench = get_benchmark("synth")
    loaded = bench.load(tmp_path / "split")
    assert [r["id"] for r in loaded.records] == ["s0", "s1", "s2", "s3"]
    assert loaded.skipped[0]["row_id"] == "s4" and "'answer'" in loaded.skipped[0]["reason"]
    assert bench.build_prompt(loaded.records[0]).startswith("<image>Q0?\nPlease reason step by step")
    # the trainer's data.prompt_template (the pipeline evaluates checkpoints on their training prompt)
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


def test_geometry3k_parquet_free_form(tmp_path):
    img = {"bytes": png_bytes(), "path": None}
    rows = [{"images": [img], "problem": "<image>Find x.", "answer": "3"},
            {"images": [img], "problem": "<image>Find y.", "answer": "2\\sqrt{3}"},
            {"images": [], "problem": "Find z.", "answer": "1"}]
    write_parquet(tmp_path / "test-00000-of-00001.parquet", rows)
    bench = get_benchmark("geometry3k")
    loaded = bench.load(tmp_path)
    assert len(loaded.records) == 2 and loaded.skipped[0]["reason"] == "row has no image"
    assert loaded.records[0]["answer_type"] == "number" and loaded.records[1]["answer_type"] == "expression"
    ids = [r["id"] for r in loaded.records]
    res = bench.score(loaded.records, {ids[0]: "\\boxed{3}", ids[1]: "\\boxed{2}"})
    assert res["overall"] == 0.5


def test_mathvista_github_json_layout(tmp_path):
    """The GitHub release: testmini.json ({pid: problem}) beside images/."""
    write_png(tmp_path / "images" / "7.jpg")
    prob = {"question": "How many?", "image": "images/7.jpg", "choices": None, "unit": None, "precision": None,
            "answer": "3", "question_type": "free_form", "answer_type": "integer", "pid": "7",
            "metadata": {"category": "math-targeted-vqa", "skills": ["arithmetic reasoning"]}}
    bad = dict(prob, pid="8", answer="three")
    write_json(tmp_path / "testmini.json", {"7": prob, "8": bad})
    bench = get_benchmark("mathvista")
    loaded = bench.load(tmp_path)
    assert [r["id"] for r in loaded.records] == ["mathvista-7"]
    assert loaded.skipped == [{"row_id": "8", "reason": "integer answer 'three' is not a number"}]
    assert bench.build_prompt(loaded.records[0]).startswith("Hint: Please answer the question requiring an integer")
    assert bench.score(loaded.records, {"mathvista-7": "Answer: 3"})["overall"] == 1.0
