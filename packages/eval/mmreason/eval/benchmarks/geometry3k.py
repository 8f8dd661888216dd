"""Geometry3K (Lu et al., 2021, Inter-GPS).

Release: lupantech/InterGPS `data/geometry3k/{split}/{id}/data.json` (problem_text, choices, answer letter,
problem_type_graph, problem_type_goal) + `img_diagram.png`; or the HF parquet `hiyouga/geometry3k`
(images, problem with `<image>`, free-form answer) used by R1-style trainers.
Prompt: Inter-GPS has no LLM prompt; the multiple-choice prompt follows MathVista's zero-shot query
(question, "Choices: (A) …", option-letter hint); the free-form parquet keeps its problem text.
Scoring: Inter-GPS reports choice accuracy (correct option); the option letter of the final answer must
equal the gold letter, or its value must equal the gold option's value (`core.grading.grade`). For the
free-form parquet, `core.grading.grade` against the answer. Breakdowns by problem goal and graph type.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..rules import extract_answer, grade, to_float
from .base import BadRow, Benchmark, find_files, load_image, read_table, text
from .mathverse import grade_letter
from .registry import register_benchmark

HINT = "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end."


@register_benchmark("geometry3k")
class Geometry3K(Benchmark):
    release = ("Geometry3K: InterGPS data/geometry3k/test/<id>/data.json + img_diagram.png, or hiyouga/geometry3k "
               "parquet (https://github.com/lupantech/InterGPS)")
    breakdown_fields = ("problem_type_goal", "problem_type_graph")

    def __init__(self, split: str = "test", **kw):
        super().__init__(**kw)
        self.split = split

    def rows(self, path):
        s = self.split
        dirs = sorted(p.parent for p in path.glob(f"{s}/*/data.json")) or sorted(p.parent for p in path.glob("*/data.json"))
        if dirs:
            for d in dirs:
                try:
                    row = json.loads((d / "data.json").read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError) as e:
                    row = {"_error": f"unreadable data.json ({e})"}
                row["_dir"] = str(d)
                yield d.name, row
            return
        for f in find_files(path, (f"{s}-*.parquet", f"data/{s}-*.parquet", f"**/{s}-*.parquet", "*.parquet")):
            for i, row in enumerate(read_table(f)):
                yield f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        if "_error" in row:
            raise BadRow(row["_error"])
        if "_dir" in row:  # Inter-GPS layout
            question = text(row, "problem_text")
            choices = [str(c) for c in row.get("choices") or []]
            answer = text(row, "answer").strip().upper()
            if len(choices) < 2 or len(answer) != 1 or not "A" <= answer < chr(ord("A") + len(choices)):
                raise BadRow(f"answer {answer!r} does not name one of the {len(choices)} choices")
            image = load_image("img_diagram.png", Path(row["_dir"]))
            meta = {"problem_type_goal": row.get("problem_type_goal") or [],
                    "problem_type_graph": row.get("problem_type_graph") or [], "choices": choices}
            return self.make_record(str(row.get("id", row_id)), images=[image], problem=question, answer=answer,
                                    answer_type="choice", choices=choices, task_type="geometry",
                                    domain="plane geometry", meta=meta)
        problem, answer = text(row, "problem"), text(row, "answer").strip()
        images = [load_image(im, self.root) for im in (row.get("images") or [])]
        if not images:
            raise BadRow("row has no image")
        if problem.count("<image>") not in (0, len(images)):
            raise BadRow(f"{problem.count('<image>')} <image> markers for {len(images)} images")
        meta = {"problem_type_goal": None, "problem_type_graph": None, "choices": []}
        return self.make_record(row_id.replace(":", "-"), images=images, problem=problem, answer=answer,
                                answer_type="number" if to_float(answer) is not None else "expression",
                                task_type="geometry", domain="plane geometry", meta=meta)

    def build_prompt(self, record):
        if record["answer_type"] != "choice":
            return self.with_suffix(record["problem"])
        opts = "\n".join(["Choices:"] + [f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(record["choices"])])
        return self.with_suffix(f"{HINT}\nQuestion: {record['problem']}\n{opts}")

    def judge_one(self, record, response):
        if record["answer_type"] == "choice":
            ok, letter = grade_letter(response, record["answer"], len(record["choices"]))
            if not ok and letter is None:
                value = record["choices"][ord(record["answer"]) - ord("A")]
                ok = grade(response, value, "number" if to_float(value) is not None else "expression")
            return {"correct": ok, "extracted": letter or extract_answer(response)}
        return {"correct": grade(response, record["answer"], record["answer_type"]), "extracted": extract_answer(response)}
