"""Geometry3K (Lu et al., 2021, Inter-GPS).

Accepted layouts (checked 2026-12-03), tried in this order; `split` picks the part (default "test"):
- intergps: lupantech/InterGPS data/geometry3k/{train,val,test}/<id>/data.json + img_diagram.png (+
  logic_form.json). data.json: id, problem_text, annotat_text, choices (4 option values), answer (the
  letter), problem_type_graph, problem_type_goal, comment, data_type. The folder given may be the
  repository, data/geometry3k or the split folder.
- hf: the HF snapshot of `hiyouga/geometry3k` (converted from Inter-GPS, used by EasyR1):
  data/{train,validation,test}-00000-of-00001.parquet. Columns (README dataset_info): images (list of
  image), problem (the problem text with an "<image>" marker), answer (the option value), id (int64),
  choices (list[str]), ground_truth (the option letter). Older copies without choices / ground_truth are
  read as free-form questions.
Prompt: Inter-GPS has no LLM prompt; the multiple-choice prompt follows MathVista's zero-shot query
(build_query.py: "Question: …", "Choices:\\n(A) …", the option-letter hint, "Solution:"); a free-form row
keeps its problem text (EasyR1's prompt).
Scoring: Inter-GPS reports choice accuracy (the correct option): the option letter the final answer
states, or the option whose value it states (EasyR1-trained models answer with the value), must be the
gold option (`rules.choice_answer`). Free-form rows: `core.grading.grade` against the answer.
Breakdowns by problem goal and graph type.
"""

from __future__ import annotations

import json

from ..rules import choice_answer, extract_answer, grade, to_float
from .base import Benchmark
from .mathvista import HINTS
from .registry import register_benchmark
from .release import BadRow, Layout, letter_of, literal_list, text


@register_benchmark("geometry3k")
class Geometry3K(Benchmark):
    release = ("Geometry3K: InterGPS data/geometry3k/test/<id>/data.json + img_diagram.png, or the HF hiyouga/geometry3k "
               "snapshot (data/test-*.parquet)")
    breakdown_fields = ("problem_type_goal", "problem_type_graph")

    def __init__(self, split: str = "test", **kw):
        super().__init__(**kw)
        self.split = split

    @property
    def layouts(self):
        s = self.split
        intergps = {"validation": "val"}.get(s, s)
        hf = {"val": "validation"}.get(s, s)
        return (
            Layout("intergps", f"lupantech/InterGPS data/geometry3k/{intergps}/<id>/data.json + img_diagram.png",
                   (f"{intergps}/*/data.json", f"geometry3k/{intergps}/*/data.json",
                    f"data/geometry3k/{intergps}/*/data.json", "*/data.json")),
            Layout("hf", f"HF hiyouga/geometry3k data/{hf}-*.parquet", (f"data/{hf}-*.parquet", f"{hf}-*.parquet")),
        )

    def rows(self, files):
        if self.layout.name == "hf":
            yield from super().rows(files)
            return
        for f in files:
            self.use_file(f)
            try:
                row = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                row = {"_error": f"unreadable data.json ({e})"}
            yield f.parent.name, row

    def row_id(self, row, f, i):
        return str(row["id"]) if row.get("id") is not None else f"{f.name}:{i}"

    def to_record(self, row_id, row):
        if "_error" in row:
            raise BadRow(row["_error"])
        if self.layout.name == "intergps":
            question = text(row, "problem_text")
            choices = [str(c) for c in row.get("choices") or []]
            answer = letter_of(text(row, "answer"), choices) if len(choices) >= 2 else None
            images = [self.image("img_diagram.png")]
            goal, graph = row.get("problem_type_goal") or [], row.get("problem_type_graph") or []
        else:
            question = text(row, "problem")
            images = [self.image(im, f"image {k}") for k, im in enumerate(row.get("images") or [])]
            if question.count("<image>") not in (0, len(images)):
                raise BadRow(f"{question.count('<image>')} <image> markers for {len(images)} images")
            choices = [str(c) for c in literal_list(row.get("choices"), "choices")]
            answer = letter_of(text(row, "ground_truth"), choices) if len(choices) >= 2 else None
            goal = graph = []
        if not images:
            raise BadRow("row has no image")
        meta = {"problem_type_goal": goal, "problem_type_graph": graph, "choices": choices}
        if answer is None:
            if self.layout.name == "intergps":
                raise BadRow(f"{len(choices)} choices: Inter-GPS problems are multiple choice")
            value = text(row, "answer").strip()
            return self.make_record(row_id, images=images, problem=question, answer=value,
                                    answer_type="number" if to_float(value) is not None else "expression",
                                    task_type="geometry", domain="plane geometry", meta=meta)
        return self.make_record(row_id, images=images, problem=question, answer=answer, answer_type="choice",
                                choices=choices, task_type="geometry", domain="plane geometry", meta=meta)

    def build_prompt(self, record):
        if record["answer_type"] != "choice":
            return self.with_suffix(record["problem"])
        opts = "\n".join(["Choices:"] + [f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(record["choices"])])
        return self.with_suffix(f"Question: {record['problem']}\n{opts}\n{HINTS['multi_choice']}\nSolution:")

    def judge_one(self, record, response):
        if record["answer_type"] == "choice":
            letter = choice_answer(response, record["choices"])
            return {"correct": letter == record["answer"], "extracted": letter}
        return {"correct": grade(response, record["answer"], record["answer_type"]), "extracted": extract_answer(response)}
