"""Miniature copies of the benchmark releases as published, one builder per accepted layout.

Each builder writes a few rows in the exact layout of a real release — file and shard names, column
names and types, image storage — as documented by the source named in its docstring (HF dataset cards'
`dataset_info`, the official GitHub repositories' files and loaders, lmms-eval task code, VLMEvalKit
dataset code; checked 2026-12-03), not by the loader under test. `BUILDERS[(benchmark, layout)]`
returns the path a user would pass as `eval.data.<benchmark>`.

The rows are the same logical problems in every layout of a benchmark, so one set of hand-made
predictions scores the same in each.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

from evalfix import png_bytes, write_json


# ------------------------------------------------------------------------------------------- helpers
def jpg_bytes(colour: str = "blue", size: int = 8) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="JPEG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hf_parquet(path: Path, rows: list[dict], features: dict) -> Path:
    """A parquet shard as `datasets` writes it (push_to_hub / to_parquet), typed by `features`."""
    import datasets

    datasets.disable_progress_bars()
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=datasets.Features(features)).to_parquet(str(path))
    return path


def tsv(path: Path, rows: list[dict]) -> Path:
    """A VLMEvalKit TSV (pandas, tab-separated, no index column)."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


def zip_files(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _f():
    import datasets

    return datasets


def S():
    return _f().Value("string")


def I64():
    return _f().Value("int64")


def F64():
    return _f().Value("float64")


def IMG():
    return _f().Image()


def SEQ(feat):
    return _f().Sequence(feat)


# ------------------------------------------------------------------------------------------ MathVista
# rows: pid 1 (float, precision 1), 10 (multi_choice, options drawn: A..E), 3 (integer with unit),
# 4 (multi_choice with texts); fields as in lupantech/MathVista data/testmini.json
MV_ROWS = [
    {"pid": "1", "question": "By what distance $d$ is the spring compressed?", "image": "images/1.jpg",
     "choices": None, "unit": None, "precision": 1, "answer": "1.2", "question_type": "free_form",
     "answer_type": "float",
     "metadata": {"category": "math-targeted-vqa", "context": "scientific figure", "grade": "college",
                  "img_height": 720, "img_width": 1514, "language": "english", "skills": ["scientific reasoning"],
                  "source": "SciBench", "split": "testmini", "task": "textbook question answering"}},
    {"pid": "10", "question": "Which object comes next?", "image": "images/10.jpg", "choices": ["A", "B", "C", "D", "E"],
     "unit": None, "precision": None, "answer": "E", "question_type": "multi_choice", "answer_type": "text",
     "metadata": {"category": "math-targeted-vqa", "context": "puzzle test", "grade": "elementary school",
                  "img_height": 418, "img_width": 376, "language": "english", "skills": ["logical reasoning"],
                  "source": "IQTest", "split": "testmini", "task": "figure question answering"}},
    {"pid": "3", "question": "How much money does Ruth need to buy a baking dish and a casserole dish?",
     "image": "images/3.jpg", "choices": None, "unit": "$", "precision": None, "answer": "7",
     "question_type": "free_form", "answer_type": "integer",
     "metadata": {"category": "math-targeted-vqa", "context": "table", "grade": "elementary school",
                  "img_height": 100, "img_width": 200, "language": "english", "skills": ["arithmetic reasoning"],
                  "source": "TabMWP", "split": "testmini", "task": "math word problem"}},
    {"pid": "4", "question": "What is the largest city in the nation where this plane is headquartered?",
     "image": "images/4.jpg", "choices": ["hong kong", "osaka", "shanghai", "tokyo"], "unit": None, "precision": None,
     "answer": "tokyo", "question_type": "multi_choice", "answer_type": "text",
     "metadata": {"category": "general-vqa", "context": "natural image", "grade": "daily life", "img_height": 300,
                  "img_width": 400, "language": "english", "skills": ["logical reasoning", "numeric commonsense"],
                  "source": "KVQA", "split": "testmini", "task": "visual question answering"}},
]
MV_QUERIES = {  # data/query.json: the released queries put the hint first
    "1": "Hint: Please answer the question requiring a floating-point number with one decimal place and provide the "
         "final value, e.g., 1.2, 1.3, 1.4, at the end.\nQuestion: By what distance $d$ is the spring compressed?",
    "10": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\n"
          "Question: Which object comes next?\nChoices:\n(A) A\n(B) B\n(C) C\n(D) D\n(E) E",
    "3": "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at "
         "the end.\nQuestion: How much money does Ruth need to buy a baking dish and a casserole dish? (Unit: $)",
    "4": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\n"
         "Question: What is the largest city in the nation where this plane is headquartered?\nChoices:\n"
         "(A) hong kong\n(B) osaka\n(C) shanghai\n(D) tokyo",
}
MV_COLOURS = {"1": "red", "10": "green", "3": "blue", "4": "yellow"}


def mathvista_hf(root: Path) -> Path:
    """HF AI4Math/MathVista: README configs (testmini = data/testmini-*) and dataset_info features; the
    shard name is the one in the repo's data/ folder; images.zip holds images/<pid>.jpg."""
    md = {k: S() for k in ("category", "context", "grade", "language", "source", "split", "task")}
    md.update(img_height=I64(), img_width=I64(), skills=SEQ(S()))
    feats = {"pid": S(), "question": S(), "image": S(), "decoded_image": IMG(), "choices": SEQ(S()), "unit": S(),
             "precision": F64(), "answer": S(), "question_type": S(), "answer_type": S(), "metadata": md, "query": S()}
    rows = [dict(r, decoded_image={"bytes": jpg_bytes(MV_COLOURS[r["pid"]]), "path": r["image"].split("/")[1]},
                 precision=None if r["precision"] is None else float(r["precision"]), query=MV_QUERIES[r["pid"]])
            for r in MV_ROWS]
    hf_parquet(root / "data" / "testmini-00000-of-00001-725687bf7a18d64b.parquet", rows, feats)
    zip_files(root / "images.zip", {r["image"]: jpg_bytes(MV_COLOURS[r["pid"]]) for r in MV_ROWS})
    write_json(root / "source.json", {})
    return root


def mathvista_github(root: Path, zipped: bool = False) -> Path:
    """lupantech/MathVista: data/testmini.json ({pid: problem}), data/query.json ({pid: query}), and the
    images of images.zip unzipped into data/ (README "Downloading Images": cd data; unzip images.zip), or
    left zipped in data/ when `zipped`."""
    write_json(root / "data" / "testmini.json", {r["pid"]: r for r in MV_ROWS})
    write_json(root / "data" / "query.json", MV_QUERIES)
    images = {r["image"]: jpg_bytes(MV_COLOURS[r["pid"]]) for r in MV_ROWS}
    if zipped:
        zip_files(root / "data" / "images.zip", images)
    else:
        for rel, data in images.items():
            write(root / "data" / rel, data)
    write(root / "evaluation" / "build_query.py", "# the official scripts live here\n")
    return root


def mathvista_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit MathVista_MINI.tsv: the columns vlmeval/dataset/utils/mathvista.py reads (index, image,
    question = the query sent, answer, answer_option, choices and skills as list literals, question_type,
    answer_type, precision, task)."""
    rows = []
    for i, r in enumerate(MV_ROWS):
        ch = r["choices"] or []
        rows.append({"index": i, "image": b64(jpg_bytes(MV_COLOURS[r["pid"]])), "question": MV_QUERIES[r["pid"]],
                     "answer": r["answer"], "answer_option": chr(ord("A") + ch.index(r["answer"])) if ch else "",
                     "choices": repr(ch), "question_type": r["question_type"], "answer_type": r["answer_type"],
                     "precision": "" if r["precision"] is None else float(r["precision"]),
                     "task": r["metadata"]["task"], "skills": repr(r["metadata"]["skills"])})
    tsv(root / "MathVista_MINI.tsv", rows)
    return root / "MathVista_MINI.tsv"


# ------------------------------------------------------------------------------------------ MathVerse
_MVS_MC_Q = ("As shown in the figure, DE parallel BC, angle A = 80.0, angle B = 60.0, then the size of angle CED "
             "is ()\nChoices:\nA:40°\nB:60°\nC:120°\nD:140°")


def _mverse_rows(question_for_eval: bool = True) -> tuple[list[dict], list[dict]]:
    """(testmini rows, testmini_text_only rows) as in ZrrSkywalker/MathVerse data/*.json and
    output_templates/output_testmini.json: problem 1 (free-form, five versions), problem 2 (multi-choice,
    Text Dominant and Vision Only); the text-only file numbers its samples from 1 again."""
    md1 = {"source": "Geo3D_collected", "split": "testmini", "subfield": "Length", "subject": "Solid Geometry"}
    md2 = {"source": "GeoQA", "split": "testmini", "subfield": "Angle", "subject": "Plane Geometry"}
    ff = ("Please first conduct reasoning, and then answer the question and provide the final value, e.g., 1, 2.5, "
          "300, at the end.\nQuestion: ")
    mc = ("Please first conduct reasoning, and then answer the question and provide the correct option letter, e.g., "
          "A, B, C, D, at the end.\nQuestion: ")
    wo_ff = "Please directly answer the question and provide the final value, e.g., 1, 2.5, 300.\nQuestion: "
    wo_mc = "Please directly answer the question and provide the correct option letter, e.g., A, B, C, D.\nQuestion: "
    full = "A soft drink can has a height of 13 cm and a radius of 3 cm. Find L, the longest straw that fits."
    main, sid = [], 0
    for version, q, img in [("Text Dominant", full, "images_version_1-4/image_1.png"),
                            ("Text Lite", "The radius is 3 cm. Find L.", "images_version_1-4/image_1.png"),
                            ("Vision Intensive", "Find L.", "images_version_1-4/image_1.png"),
                            ("Vision Dominant", "Find L.", "images_version_5/image_1.png"),
                            ("Vision Only", "", "images_version_6/image_1.png")]:
        sid += 1
        main.append({"sample_index": str(sid), "problem_index": "1", "problem_version": version, "question": q,
                     "image": img, "answer": "14", "question_type": "free-form", "metadata": md1,
                     "query_wo": wo_ff + q, "query_cot": ff + q, "question_for_eval": full})
    main.append({"sample_index": "6", "problem_index": "2", "problem_version": "Text Dominant", "question": _MVS_MC_Q,
                 "image": "images_version_1-4/image_2.png", "answer": "D", "question_type": "multi-choice",
                 "metadata": md2, "query_wo": wo_mc + _MVS_MC_Q, "query_cot": mc + _MVS_MC_Q,
                 "question_for_eval": _MVS_MC_Q})
    main.append({"sample_index": "7", "problem_index": "2", "problem_version": "Vision Only", "question": "",
                 "image": "images_version_6/image_2.png", "answer": "D", "question_type": "multi-choice",
                 "metadata": md2, "query_wo": wo_mc, "query_cot": mc, "question_for_eval": _MVS_MC_Q})
    text_only = [
        {"sample_index": "1", "problem_index": "1", "problem_version": "Text Only", "question": full, "image": "",
         "answer": "14", "question_type": "free-form", "metadata": md1, "query_wo": wo_ff + full,
         "query_cot": ff + full, "question_for_eval": full},
        {"sample_index": "2", "problem_index": "2", "problem_version": "Text Only", "question": _MVS_MC_Q, "image": "",
         "answer": "D", "question_type": "multi-choice", "metadata": md2, "query_wo": wo_mc + _MVS_MC_Q,
         "query_cot": mc + _MVS_MC_Q, "question_for_eval": _MVS_MC_Q},
    ]
    if not question_for_eval:  # the GitHub JSON predates the HF "Add question_for_eval" commit
        for r in main + text_only:
            del r["question_for_eval"]
    return main, text_only


_MVS_IMAGES = {"images_version_1-4/image_1.png": "red", "images_version_5/image_1.png": "green",
               "images_version_6/image_1.png": "blue", "images_version_1-4/image_2.png": "white",
               "images_version_6/image_2.png": "black"}


def mathverse_hf(root: Path) -> Path:
    """HF AI4Math/MathVerse snapshot root: testmini.parquet (image embedded, lmms-eval reads doc["image"]
    as a PIL image), testmini_text_only.parquet (image empty), testmini.json, testmini_text_only.json and
    images.zip (the repo's file list). Column order and types as in testmini.json."""
    main, text_only = _mverse_rows()
    md = {k: S() for k in ("source", "split", "subfield", "subject")}
    feats = {"sample_index": S(), "problem_index": S(), "problem_version": S(), "question": S(), "image": IMG(),
             "answer": S(), "question_type": S(), "metadata": md, "query_wo": S(), "query_cot": S(),
             "question_for_eval": S()}
    hf_parquet(root / "testmini.parquet", [dict(r, image={"bytes": png_bytes(_MVS_IMAGES[r["image"]]),
                                                           "path": r["image"]}) for r in main], feats)
    hf_parquet(root / "testmini_text_only.parquet", [dict(r, image=None) for r in text_only], feats)
    write_json(root / "testmini.json", main)
    write_json(root / "testmini_text_only.json", text_only)
    zip_files(root / "images.zip", {k: png_bytes(c) for k, c in _MVS_IMAGES.items()})
    return root


def mathverse_json(root: Path) -> Path:
    """ZrrSkywalker/MathVerse data/testmini.json + data/testmini_text_only.json (no question_for_eval),
    with the images_version_1-4/, images_version_5/, images_version_6/ folders next to them (the HF repo
    before images.zip, commit 0fc3edb)."""
    main, text_only = _mverse_rows(question_for_eval=False)
    write_json(root / "data" / "testmini.json", main)
    write_json(root / "data" / "testmini_text_only.json", text_only)
    for rel, colour in _MVS_IMAGES.items():
        write(root / "data" / rel, png_bytes(colour))
    return root


def mathverse_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit MathVerse_MINI.tsv: index, image (base64; a row whose figure another row already holds
    stores that row's index), question, query_cot, question_for_eval, answer, problem_version, metadata
    (dict literal) — what image_vqa.py MathVerse and utils/mathverse.py read."""
    main, _ = _mverse_rows()
    rows, first = [], {}
    for i, r in enumerate(main):
        img = r["image"]
        cell = str(first[img]) if img in first else b64(png_bytes(_MVS_IMAGES[img]))
        first.setdefault(img, i)
        rows.append({"index": i, "image": cell, "question": r["question"], "query_cot": r["query_cot"],
                     "question_for_eval": r["question_for_eval"], "answer": r["answer"],
                     "problem_version": r["problem_version"], "metadata": repr(r["metadata"])})
    return tsv(root / "MathVerse_MINI.tsv", rows)


# ----------------------------------------------------------------------------------------- MathVision
MVI_ROWS = [  # mathllm/MATH-V data/testmini.jsonl fields
    {"id": "1", "question": "Which number should be written in place of the question mark?\n<image1>", "options": [],
     "answer": "60", "solution": None, "level": 2, "subject": "arithmetic", "image": "images/1.jpg"},
    {"id": "2", "question": "Which bike is most expensive?\n<image1>", "options": ["A", "B", "C", "D", "E"],
     "answer": "A", "solution": None, "level": 2, "subject": "arithmetic", "image": "images/2.jpg"},
    {"id": "5", "question": "<image1>\nHow long is the path?", "options": ["8", "10", "12", "14", "16"], "answer": "C",
     "solution": None, "level": 3, "subject": "metric geometry - length", "image": "images/5.jpg"},
    {"id": "7", "question": "What fraction of the square is grey?\n<image1>", "options": [], "answer": "\\frac{1}{2}",
     "solution": None, "level": 1, "subject": "metric geometry - area", "image": "images/7.jpg"},
]


def mathvision_hf(root: Path) -> Path:
    """HF MathLLMs/MathVision: README dataset_info (id, question, options list, image str, decoded_image,
    answer, solution, level int64, subject); shard names from the repo's data/ folder; images.zip."""
    feats = {"id": S(), "question": S(), "options": SEQ(S()), "image": S(), "decoded_image": IMG(), "answer": S(),
             "solution": S(), "level": I64(), "subject": S()}
    rows = [dict(r, decoded_image={"bytes": jpg_bytes(), "path": r["image"]}) for r in MVI_ROWS]
    hf_parquet(root / "data" / "testmini-00000-of-00001-f8ff70fcb2f29b1d.parquet", rows, feats)
    hf_parquet(root / "data" / "test-00000-of-00001-3532b8d3f1b4047a.parquet", rows[:1], feats)
    zip_files(root / "images.zip", {r["image"]: jpg_bytes() for r in MVI_ROWS})
    return root


def mathvision_github(root: Path) -> Path:
    """mathllm/MATH-V: data/testmini.jsonl (image "images/1.jpg") with images/ at the repository root."""
    write(root / "data" / "testmini.jsonl", "".join(json.dumps(r) + "\n" for r in MVI_ROWS))
    for r in MVI_ROWS:
        write(root / r["image"], jpg_bytes())
    write(root / "evaluation" / "evaluate.py", "# official scorer\n")
    return root


def mathvision_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit MathVision_MINI.tsv: index, image (base64), question, answer, choices (list literal),
    category (the subject) — what utils/mathv.py reads."""
    rows = [{"index": i, "image": b64(jpg_bytes()), "question": r["question"], "answer": r["answer"],
             "choices": repr(r["options"]), "category": r["subject"], "level": r["level"]}
            for i, r in enumerate(MVI_ROWS)]
    return tsv(root / "MathVision_MINI.tsv", rows)


# --------------------------------------------------------------------------------------------- WeMath
WM_OPT = "A. 300, 400;B. 400, 300;C. 3000, 4000;D. 4000, 3000; E. No correct answer"
WM_NODES = [  # We-Math data/knowledge_structure_nodes.json entries
    {"root0": "Geometry and Figures", "root1": "Measurement", "root2": "Understanding and Conversion of Units",
     "root3": "Conversion Rates and Calculations Between Length Units", "root4": None,
     "full node": "Measurement_Understanding and Conversion of Units_Conversion Rates and Calculations Between Length Units"},
    {"root0": "Geometry and Figures", "root1": "Plane Figures", "root2": "Calculation of Plane Figures",
     "root3": "Area of Circles", "root4": None, "full node": "Plane Figures_Calculation of Plane Figures_Area of Circles"},
    {"root0": "Geometry and Figures", "root1": "Plane Figures", "root2": "Calculation of Plane Figures",
     "root3": "Area of Rectangles", "root4": None,
     "full node": "Plane Figures_Calculation of Plane Figures_Area of Rectangles"},
]
_WM_CONCEPT = {"2steps_1": ["Conversion Rates and Calculations Between Length Units", "Area of Rectangles"],
               "2steps_2": ["Area of Circles", "Area of Rectangles"],
               "3steps_1": ["Area of Circles", "Area of Circles", "Area of Rectangles"]}


def _wemath_rows() -> list[dict]:
    """Rows as in We-Math data/testmini.json: two 2-step problems and one 3-step problem; the steps of a
    problem share ID, key names the step."""
    rows = []
    for pid, concepts in _WM_CONCEPT.items():
        n = int(pid[0])
        keys = [f"{n}steps_{k}" for k in range(1, n + 1)] + [f"{n}steps_multi"]
        for k, key in enumerate(keys):
            concept = concepts[k] if k < n else ";".join(dict.fromkeys(concepts))
            rows.append({"ID": pid, "split": "testmini", "knowledge concept": concept,
                         "question": f"Problem {pid}, step {key}: OA = ( ) m, AB = ( ) m", "option": WM_OPT,
                         "answer": "C", "image_path": f"{n}steps/image/{pid.split('_')[1]}-{k + 1}.png", "key": key,
                         "question number": len(rows) + 1, "knowledge concept description": f"{concept}: ..."})
    return rows


def wemath_hf(root: Path) -> Path:
    """HF We-Math/We-Math snapshot: data/testmini-00000-of-00001-adbfe22dcd3558e6.parquet whose image is the
    `image_path` image column (lmms-eval tasks/wemath: doc["image_path"].convert), testmini.json,
    testmini.zip and knowledge_structure_nodes.json at the root."""
    rows = _wemath_rows()
    feats = {"ID": S(), "split": S(), "knowledge concept": S(), "question": S(), "option": S(), "answer": S(),
             "image_path": IMG(), "key": S(), "question number": I64(), "knowledge concept description": S()}
    hf_parquet(root / "data" / "testmini-00000-of-00001-adbfe22dcd3558e6.parquet",
               [dict(r, image_path={"bytes": png_bytes(), "path": r["image_path"]}) for r in rows], feats)
    write_json(root / "testmini.json", rows)
    zip_files(root / "testmini.zip", {f"testmini/{r['image_path']}": png_bytes() for r in rows})
    write_json(root / "knowledge_structure_nodes.json", WM_NODES)
    return root


def wemath_json(root: Path) -> Path:
    """We-Math/We-Math GitHub: data/testmini.json, data/knowledge_structure_nodes.json and the images in
    data/2steps/image/ and data/3steps/image/ (image_path is relative to data/)."""
    rows = _wemath_rows()
    write_json(root / "data" / "testmini.json", rows)
    write_json(root / "data" / "knowledge_structure_nodes.json", WM_NODES)
    for r in rows:
        write(root / "data" / r["image_path"], png_bytes())
    write(root / "evaluation" / "four_dimensional_metrics.py", "# official scorer\n")
    return root


def wemath_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit WeMath.tsv: index, image (base64), question, options in A–E columns, answer, ID, key,
    knowledge concept — what image_mcq.py WeMath.build_prompt and utils/wemath.py read."""
    rows = []
    for i, r in enumerate(_wemath_rows()):
        opts = [o.split(". ", 1)[1].strip() for o in r["option"].split(";")]
        rows.append({"index": i, "image": b64(png_bytes()), "question": r["question"],
                     **{chr(ord("A") + k): o for k, o in enumerate(opts)}, "answer": r["answer"], "ID": r["ID"],
                     "key": r["key"], "knowledge concept": r["knowledge concept"]})
    return tsv(root / "WeMath.tsv", rows)


# ----------------------------------------------------------------------------------------- LogicVista
LV = {  # Yijia-Xiao/LogicVista data/dataset.json entries (field names as in the file)
    "v1_0": {"imagename": "v1_0.png", "question": "What choice (A, B, C, or D) should be in place of the question mark?",
             "answer": "C", "reasoning": "...", "skill": ["inductive"], "broad_capability": ["diagram"],
             "specific_capability": ["sequence pattern"], "imagesource": "aptitudetests", "sourcelink": "https://x",
             "liscenced": "false"},
    "v1_1": {"imagename": "v1_1.png", "question": "Which two figures are rotations of the object? Select two.",
             "answer": "B, D", "reasoning": "...", "skill": ["spatial"], "broad_capability": ["3d shapes"],
             "specific_capability": ["rotation"], "imagesource": "x", "sourcelink": "https://x", "liscenced": "false"},
    "v1_2": {"imagename": "v1_2.png", "question": "How many squares are there? Select from 1-5.", "answer": "3",
             "reasoning": "...", "skill": ["numerical"], "broad_capability": ["diagram"],
             "specific_capability": ["counting"], "imagesource": "x", "sourcelink": "https://x", "liscenced": "false"},
    "v1_3": {"imagename": "v1_3.png", "question": "Which statement follows? (A) … (B) … (C) … (D) …", "answer": "A",
             "reasoning": "...", "skill": ["deductive"], "broad_capability": ["ocr"],
             "specific_capability": ["logic"], "imagesource": "x", "sourcelink": "https://x", "liscenced": "false"},
}


def logicvista_github(root: Path) -> Path:
    """Yijia-Xiao/LogicVista: data/dataset.json ({id: row}) + data/images/<imagename>."""
    write_json(root / "data" / "dataset.json", LV)
    for r in LV.values():
        write(root / "data" / "images" / r["imagename"], png_bytes())
    write(root / "eval" / "analyze_accuracy.py", "# official analysis\n")
    return root


def logicvista_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit LogicVista.tsv: index, image (base64), question, answer ("B, D"), skill — what
    utils/logicvista.py reads."""
    rows = [{"index": i, "image": b64(png_bytes()), "question": r["question"], "answer": r["answer"],
             "skill": repr(r["skill"])} for i, r in enumerate(LV.values())]
    return tsv(root / "LogicVista.tsv", rows)


# ------------------------------------------------------------------------------------------- DynaMath
DM_SEEDS = [  # id, question, ground_truth per variant, answer_type, subject, knowledge_level
    ("1", "What is the period of the function?", ["2.0944", "3.1416", "1.5708"], "float", "analytic geometry",
     "high school"),
    ("2", "Is the mean greater than the median? Choices: (A) yes (B) no", ["B", "A", "B"], "multiple choice",
     "statistics", "elementary school"),
    ("3", "Which month is the hottest?", ["May", "June", "May"], "text", "statistics", "elementary school"),
]


def _dm_rows(variant: int) -> list[dict]:
    return [{"id": qid, "question": q, "image": f"image/image{qid}.png",
             "decoded_image": {"bytes": png_bytes(), "path": f"image{qid}.png"}, "ground_truth": gts[variant - 1],
             "answer_type": at, "subject": subj, "knowledge_level": lvl} for qid, q, gts, at, subj, lvl in DM_SEEDS]




def _dm_feats():
    return {"id": S(), "question": S(), "image": S(), "decoded_image": IMG(), "ground_truth": S(), "answer_type": S(),
            "subject": S(), "knowledge_level": S()}


def dynamath_hf(root: Path) -> Path:
    """HF DynaMath/DynaMath_Sample: README configs (split sample_variant{k} = data/sample{k}-*), shard names
    data/sample{k}-0000{k-1}-of-0000{k}.parquet as in the repo's data/ folder (first shard only: the file
    names run sample1-00000-of-00001, sample2-00000-of-00002, …), dataset_info features."""
    for k in (1, 2, 3):
        hf_parquet(root / "data" / f"sample{k}-00000-of-0000{k}.parquet", _dm_rows(k), _dm_feats())
    return root


def dynamath_mirror(root: Path) -> Path:
    """A mirror's split naming (e.g. lscpku/DynaMath_Sample): data/sample_variant{k}-00000-of-00001.parquet."""
    for k in (1, 2, 3):
        hf_parquet(root / "data" / f"sample_variant{k}-00000-of-00001.parquet", _dm_rows(k), _dm_feats())
    return root


def dynamath_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit DynaMath.tsv: index, image, question, answer, answer_type, subject, knowledge_level, qid,
    varid — what vlmeval/dataset/dynamath.py reads."""
    rows = []
    for k in (1, 2, 3):
        for r in _dm_rows(k):
            rows.append({"index": len(rows), "image": b64(png_bytes()), "question": r["question"],
                         "answer": r["ground_truth"], "answer_type": r["answer_type"], "subject": r["subject"],
                         "knowledge_level": r["knowledge_level"], "qid": r["id"], "varid": k})
    return tsv(root / "DynaMath.tsv", rows)


# ------------------------------------------------------------------------------------- HallusionBench
def _hb(cat, sub, visual, set_id, fig, qid, gt, q=None):
    return {"category": cat, "subcategory": sub, "visual_input": visual, "set_id": set_id, "figure_id": fig,
            "sample_note": "note", "question_id": qid, "question": q or f"Is it true ({cat} {sub} {set_id} {fig} {qid})?",
            "gt_answer_details": "details", "gt_answer": gt,
            "filename": None if visual == "0" else f"./{cat}/{sub}/{set_id}_{fig}.png"}


HB_ROWS = [  # tianyi-lab/HallusionBench HallusionBench.json fields; (category, figure, visual_input) as in the file
    _hb("VD", "illusion", "1", "0", "0", "0", "1"), _hb("VD", "illusion", "1", "0", "0", "1", "0"),
    _hb("VD", "illusion", "2", "0", "1", "0", "0"), _hb("VD", "illusion", "2", "0", "1", "1", "1"),
    _hb("VS", "chart", "0", "0", "0", "0", "0"), _hb("VS", "chart", "1", "0", "1", "0", "1"),
    _hb("VS", "chart", "2", "0", "2", "0", "0"),
]


def hallusionbench_github(root: Path) -> Path:
    """tianyi-lab/HallusionBench: HallusionBench.json (filename "./VD/illusion/0_0.png", null without a
    figure) next to hallusion_bench.zip (README "Dataset Download"; left zipped here)."""
    write_json(root / "HallusionBench.json", HB_ROWS)
    zip_files(root / "hallusion_bench.zip", {f"hallusion_bench/{r['filename'][2:]}": png_bytes()
                                             for r in HB_ROWS if r["filename"]})
    return root


def hallusionbench_hf(root: Path) -> Path:
    """lmms-lab/HallusionBench: README configs (image = data/image-*, non_image = data/non_image-*) and
    dataset_info (the JSON fields as strings + image)."""
    feats = {k: S() for k in HB_ROWS[0]} | {"image": IMG()}
    img = [dict(r, image={"bytes": png_bytes(), "path": None}) for r in HB_ROWS if r["visual_input"] != "0"]
    non = [dict(r, image=None) for r in HB_ROWS if r["visual_input"] == "0"]
    hf_parquet(root / "data" / "image-00000-of-00001.parquet", img, feats)
    hf_parquet(root / "data" / "non_image-00000-of-00001.parquet", non, feats)
    return root


def hallusionbench_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit HallusionBench.tsv (image questions only): index whose "_"-parts 3–5 are set_id, figure_id,
    question_id (yorn.py Hallusion_rating), image (base64), question, answer (Yes/No), category,
    l2-category."""
    rows = [{"index": f"{r['category']}_{r['subcategory']}_x_{r['set_id']}_{r['figure_id']}_{r['question_id']}",
             "image": b64(png_bytes()), "question": r["question"], "answer": "Yes" if r["gt_answer"] == "1" else "No",
             "category": r["category"], "l2-category": r["subcategory"]} for r in HB_ROWS if r["visual_input"] != "0"]
    return tsv(root / "HallusionBench.tsv", rows)


# --------------------------------------------------------------------------------------------- MMStar
MS = [  # index, stem, options, answer, category, l2_category
    (0, "Which animal is in the image?", ["cat", "dog", "cow", "pig"], "A", "coarse perception",
     "image scene and topic"),
    (1, "What is the angle ABC?", ["30°", "45°", "60°", "90°"], "B", "math", "geometry"),
    (2, "Which side is the longest?", ["AB", "BC", "CA", "they are equal"], "C", "math", "geometry"),
    (3, "What is the mean of the values?", ["1", "2", "3", "4"], "D", "math", "statistical reasoning"),
]


def mmstar_hf(root: Path) -> Path:
    """HF Lin-Chen/MMStar: mmstar.parquet (README dataset_info: index int64, question with
    "\\nOptions: A: …, B: …", image, answer, category, l2_category, meta_info struct) next to MMStar.tsv."""
    feats = {"index": I64(), "question": S(), "image": IMG(), "answer": S(), "category": S(), "l2_category": S(),
             "meta_info": {"source": S(), "split": S(), "image_path": S()}}
    rows = [{"index": i, "question": f"{stem}\nOptions: " + ", ".join(f"{chr(65 + k)}: {o}" for k, o in enumerate(opts)),
             "image": {"bytes": png_bytes(), "path": None}, "answer": a, "category": c, "l2_category": l2,
             "meta_info": {"source": "MathVista", "split": "val", "image_path": f"images/{i}.jpg"}}
            for i, stem, opts, a, c, l2 in MS]
    hf_parquet(root / "mmstar.parquet", rows, feats)
    write(root / "README.md", "---\nconfigs:\n- config_name: val\n  data_files: mmstar.parquet\n---\n")
    return root


def mmstar_vlmevalkit(root: Path) -> Path:
    """MMStar.tsv (HF Lin-Chen/MMStar root, VLMEvalKit): index, question (stem), A–D, answer, category,
    l2-category, image (base64; rows 2 and 3 share row 1's image by index, as image_base.py allows)."""
    rows = []
    for i, stem, opts, a, c, l2 in MS:
        rows.append({"index": i, "question": stem, **{chr(65 + k): o for k, o in enumerate(opts)}, "answer": a,
                     "category": c, "l2-category": l2, "image": "1" if i >= 2 else b64(png_bytes())})
    return tsv(root / "MMStar.tsv", rows)


# ------------------------------------------------------------------------------------------ Geometry3K
G3 = [  # id, problem_text, choices, answer letter, goal, graph
    ("2401", "Find x.", ["3", "4", "5", "6"], "B", ["Length"], ["Triangle"]),
    ("2402", "Find m \\angle 1.", ["40", "60", "120", "140"], "D", ["Angle"], ["Line", "Triangle"]),
    ("2403", "Find the area of the figure.", ["12", "24", "36", "48"], "A", ["Area"], ["Rectangle"]),
]


def geometry3k_intergps(root: Path) -> Path:
    """lupantech/InterGPS data/geometry3k/test/<id>/data.json + img_diagram.png (+ logic_form.json); data.json
    fields as the InterGPS preprocessing script writes them."""
    for pid, text, choices, ans, goal, graph in G3:
        d = root / "data" / "geometry3k" / "test" / pid
        write_json(d / "data.json", {"id": int(pid), "problem_text": text, "annotat_text": text, "choices": choices,
                                     "answer": ans, "problem_type_graph": graph, "problem_type_goal": goal,
                                     "comment": "", "data_type": "test"})
        write_json(d / "logic_form.json", {"text_logic_form": [], "diagram_logic_form": []})
        write(d / "img_diagram.png", png_bytes())
    return root


def geometry3k_hf(root: Path) -> Path:
    """HF hiyouga/geometry3k: README dataset_info (images list of image, problem, answer, id int64, choices,
    ground_truth) and configs (test = data/test-*); the problem carries one "<image>" marker, answer is the
    option value and ground_truth its letter (the README's Inter-GPS conversion)."""
    feats = {"images": SEQ(IMG()), "problem": S(), "answer": S(), "id": I64(), "choices": SEQ(S()),
             "ground_truth": S()}
    rows = [{"images": [{"bytes": png_bytes(), "path": None}], "problem": f"<image>{text}",
             "answer": choices[ord(ans) - 65], "id": int(pid), "choices": choices, "ground_truth": ans}
            for pid, text, choices, ans, *_ in G3]
    hf_parquet(root / "data" / "test-00000-of-00001.parquet", rows, feats)
    hf_parquet(root / "data" / "train-00000-of-00001.parquet", rows[:1], feats)
    return root


# ---------------------------------------------------------------------------------------------- MMK12
MK = [  # id, subject, question (stem + option lines), answer
    ("m1", "math", "In the figure, what is the length of AB?\nA. $$10.5$$\nB. $$12$$\nC. $$13.5$$\nD. $$15$$", "B"),
    ("p1", "physics", "What is the net force on the block?\nA.1 N\nB.2 N\nC.3 N\nD.4 N", "C"),
    ("c1", "chemistry", "Which substance is shown?\nA. NaCl\nB. KCl\nC. HCl\nD. H2O", "D"),
    ("b1", "biology", "Which organ is marked X?\nA. heart\nB. lung\nC. liver\nD. kidney", "A"),
]


def mmk12_hf(root: Path) -> Path:
    """HF FanqingM/MMK12: data/test-*.parquet and data/train-*.parquet with id, subject, image (image),
    question (stem + "A. …" option lines), answer (the letter) — the five columns lmms-eval's mmk12 task and
    the loaders citing the release read."""
    feats = {"id": S(), "subject": S(), "image": IMG(), "question": S(), "answer": S()}
    rows = [{"id": i, "subject": s, "image": {"bytes": png_bytes(), "path": None}, "question": q, "answer": a}
            for i, s, q, a in MK]
    hf_parquet(root / "data" / "test-00000-of-00001.parquet", rows, feats)
    hf_parquet(root / "data" / "train-00000-of-00001.parquet",
               [dict(rows[0], id="t1", question="What is 2 + 2?", answer="4")], feats)
    return root


# ------------------------------------------------------------------------------------------ SuperCLEVR
SC = [("superCLEVR_new_025000.png", 4), ("superCLEVR_new_025001.png", 9), ("superCLEVR_new_025002.png", 10)]


def superclevr_r1v(root: Path) -> Path:
    """Deep-Agent/R1-V src/eval/prompts/superclevr_test200_counting_problems.jsonl (image_path
    "./images/…", ground_truth int) with the images in src/eval/images/, where the eval script runs."""
    rows = [{"image_path": f"./images/{name}", "question": "How many different items are there in the image?",
             "ground_truth": gt} for name, gt in SC]
    write(root / "src" / "eval" / "prompts" / "superclevr_test200_counting_problems.jsonl",
          "".join(json.dumps(r) + "\n" for r in rows))
    for name, _ in SC:
        write(root / "src" / "eval" / "images" / name, png_bytes())
    return root


def superclevr_questions(root: Path) -> Path:
    """A Super-CLEVR questions file ({"questions": [{image_filename, question, answer, question_index}]})
    beside images/."""
    qs = [{"image_filename": name, "question": "How many different items are there in the image?", "answer": gt,
           "question_index": i} for i, (name, gt) in enumerate(SC)]
    write_json(root / "superCLEVR_questions_test.json", {"info": {}, "questions": qs})
    for name, _ in SC:
        write(root / "images" / name, png_bytes())
    return root


BUILDERS = {
    ("mathvista", "hf"): mathvista_hf, ("mathvista", "github"): mathvista_github,
    ("mathvista", "vlmevalkit"): mathvista_vlmevalkit,
    ("mathverse", "hf-parquet"): mathverse_hf, ("mathverse", "json"): mathverse_json,
    ("mathverse", "vlmevalkit"): mathverse_vlmevalkit,
    ("mathvision", "hf"): mathvision_hf, ("mathvision", "github"): mathvision_github,
    ("mathvision", "vlmevalkit"): mathvision_vlmevalkit,
    ("wemath", "hf-parquet"): wemath_hf, ("wemath", "json"): wemath_json, ("wemath", "vlmevalkit"): wemath_vlmevalkit,
    ("logicvista", "github"): logicvista_github, ("logicvista", "vlmevalkit"): logicvista_vlmevalkit,
    ("dynamath", "hf"): dynamath_hf, ("dynamath", "hf-mirror"): dynamath_mirror,
    ("dynamath", "vlmevalkit"): dynamath_vlmevalkit,
    ("hallusionbench", "github"): hallusionbench_github, ("hallusionbench", "hf"): hallusionbench_hf,
    ("hallusionbench", "vlmevalkit"): hallusionbench_vlmevalkit,
    ("mmstar", "hf"): mmstar_hf, ("mmstar", "vlmevalkit"): mmstar_vlmevalkit,
    ("geometry3k", "intergps"): geometry3k_intergps, ("geometry3k", "hf"): geometry3k_hf,
    ("mmk12", "hf"): mmk12_hf,
    ("superclevr", "r1v"): superclevr_r1v, ("superclevr", "superclevr"): superclevr_questions,
}
