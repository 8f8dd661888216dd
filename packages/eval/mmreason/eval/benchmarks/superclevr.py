"""SuperCLEVR counting (Li et al., 2023; the R1-V counting test).

Accepted layouts (checked 2026-12-03), tried in this order:
- r1v: Deep-Agent/R1-V src/eval/prompts/superclevr_test200_counting_problems.jsonl (image_path like
  "./images/superCLEVR_new_025000.png", question, ground_truth (int)); the images are the Super-CLEVR
  images the script reads relative to src/eval/ (the JSONL's parent folder), or next to the JSONL, or
  under the folder given.
- superclevr: a Super-CLEVR questions JSON ({"questions": [{image_filename, question, answer,
  question_index}]}) beside `images/`.
Prompt: R1-V src/eval/test_qwen2vl_counting_superclevr.py QUESTION_TEMPLATE
("{Question} First output the thinking process in <think> </think> and final answer (number) in
<answer> </answer> tags.").
Scoring: the same script — the integer inside <answer>…</answer> (`extract_number_answer`) equals
ground_truth; when there is no such tag, the extracted final answer's number (`core.grading`) is used (the
official script counts that response wrong).
"""

from __future__ import annotations

import re

from ..rules import extract_answer, last_number, to_float
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, text

TEMPLATE = ("{Question} First output the thinking process in <think> </think> and final answer (number) in "
            "<answer> </answer> tags.")


def count_answer(response: str) -> int | None:
    m = re.search(r"<answer>\s*(\d+)\s*</answer>", response or "")
    if m:
        return int(m.group(1))
    ext = extract_answer(response or "")
    val = to_float(ext) if ext else None
    if val is None and ext:
        val = last_number(ext)
    return int(val) if val is not None and float(val).is_integer() else None


@register_benchmark("superclevr")
class SuperCLEVR(Benchmark):
    release = ("SuperCLEVR counting: R1-V superclevr_test200_counting_problems.jsonl + images, or a Super-CLEVR "
               "questions JSON + images/")
    breakdown_fields = ()
    layouts = (
        Layout("r1v", "Deep-Agent/R1-V src/eval/prompts/superclevr_test200_counting_problems.jsonl",
               ("*counting*.jsonl", "prompts/*counting*.jsonl", "src/eval/prompts/*counting*.jsonl")),
        Layout("superclevr", "Super-CLEVR questions JSON + images/", ("*questions*.json", "*.json", "*.jsonl")),
    )

    def use_file(self, f):
        super().use_file(f)
        self.images.bases.append(f.parent.parent)  # R1-V reads ./images/ relative to src/eval/

    def row_id(self, row, f, i):
        return str(row.get("question_index", i))

    def to_record(self, row_id, row):
        question = text(row, "question")
        truth = row.get("ground_truth", row.get("answer"))
        try:
            count = int(str(truth).strip())
        except (TypeError, ValueError):
            raise BadRow(f"ground truth {truth!r} is not an integer count") from None
        img = row.get("image_path")
        if not img and row.get("image_filename"):
            img = f"images/{row['image_filename']}"
        image = self.image(img)
        return self.make_record(str(row_id), images=[image], problem=question, answer=str(count),
                                answer_type="number", task_type="counting", domain="superclevr", meta={})

    def build_prompt(self, record):
        return self.with_suffix(TEMPLATE.format(Question=record["problem"]))

    def judge_one(self, record, response):
        got = count_answer(response)
        return {"correct": got is not None and got == int(record["answer"]),
                "extracted": None if got is None else str(got)}
