"""MMStar (Chen et al., 2024): 1,500 vision-indispensable multiple-choice questions.

Accepted layouts (checked 2026-12-03), tried in this order (the HF snapshot holds both files):
- hf: the HF snapshot of `Lin-Chen/MMStar`: mmstar.parquet (split val). Columns (README dataset_info):
  index (int64), question (the stem, then "\\nOptions: A: …, B: …, C: …, D: …"), image (image), answer,
  category, l2_category, meta_info (struct: source, split, image_path).
- vlmevalkit: MMStar.tsv (in the same snapshot, and VLMEvalKit's MMStar.tsv): index, question (the stem),
  A, B, C, D (the options), answer, category, l2-category (or l2_category), image (base64, or the index
  of a row with the same image).
Prompt: MMStar-Benchmark/MMStar eval/vlmeval/utils/dataset.py TSVDataset.build_prompt (the same as
VLMEvalKit's ImageMCQDataset): "Question: {stem}\\nOptions:\\nA. …\\nB. …\\n" + "Please select the correct
answer from the options above. \\n" (options parsed out of the parquet's question).
Scoring: eval/vlmeval/evaluate/mmstar.py `MMStar_eval` — lower-cased prediction is right if its first
character is the answer, or it starts with "(x", "option x" or "the answer is x". The rule reads the
extracted final answer (`core.grading.extract_answer`) when there is one, else the raw response. Accuracy
overall, per category and per l2_category (the official division by 250 per category equals the mean
over the category's 250 questions).
"""

from __future__ import annotations

import re

from ..rules import extract_answer, parse_inline_choices
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, option_columns, text

SELECT = "Please select the correct answer from the options above. \n"


def mmstar_match(prediction: str, answer: str) -> bool:
    """MMStar_eval's prefix rule."""
    a = answer.lower().strip().replace("\n", " ")
    p = prediction.lower().strip().replace("\n", " ")
    if not p:
        return False
    return (a == p[0] or (p[0] == "(" and p[1:2] == a) or (p[0:7] == "option " and p[7:8] == a)
            or (p[0:14] == "the answer is " and p[14:15] == a))


def build_prompt(stem: str, options: list[str]) -> str:
    """TSVDataset.build_prompt for a multiple-choice row without hint."""
    opts = "Options:\n" + "".join(f"{chr(ord('A') + i)}. {o}\n" for i, o in enumerate(options))
    return f"Question: {stem}\n{opts}{SELECT}"


@register_benchmark("mmstar")
class MMStar(Benchmark):
    release = "MMStar: the HF Lin-Chen/MMStar snapshot (mmstar.parquet) or MMStar.tsv"
    breakdown_fields = ("category", "l2_category")
    layouts = (
        Layout("hf", "HF Lin-Chen/MMStar mmstar.parquet", ("mmstar.parquet", "data/val-*.parquet", "val/*.parquet")),
        Layout("vlmevalkit", "MMStar.tsv (HF Lin-Chen/MMStar root, VLMEvalKit)", ("MMStar.tsv", "MMStar*.tsv")),
    )

    def row_id(self, row, f, i):
        return str(row["index"]) if not is_missing(row.get("index")) else f"{f.name}:{i}"

    def to_record(self, row_id, row):
        question = text(row, "question")
        answer = text(row, "answer").strip().upper()
        if self.layout.name == "vlmevalkit":
            stem, choices = question, option_columns(row)
            l2 = row.get("l2-category") if not is_missing(row.get("l2-category")) else row.get("l2_category")
        else:
            m = re.search(r"\n?\s*Options\s*[:：]", question)
            stem, choices = (question[: m.start()].strip() if m else question), parse_inline_choices(question)
            l2 = row.get("l2_category")
        if len(answer) != 1 or not answer.isalpha():
            raise BadRow(f"answer {answer!r} is not an option letter")
        if len(choices) < 2:
            raise BadRow("no options found (A, B, … columns or 'Options: A: …' in the question)")
        if ord(answer) - ord("A") >= len(choices):
            raise BadRow(f"answer {answer!r} is outside the {len(choices)} options")
        image = self.image(row.get("image"))
        meta = {"index": row_id, "category": row.get("category"), "l2_category": l2,
                "prompt": build_prompt(stem, choices)}
        return self.make_record(row_id, images=[image], problem=question, answer=answer, answer_type="choice",
                                choices=choices, task_type=str(l2 or ""), domain=str(row.get("category") or ""),
                                meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["meta"]["prompt"])

    def judge_one(self, record, response):
        ext = extract_answer(response)
        pred = ext if ext else (response or "")
        return {"correct": mmstar_match(pred, record["answer"]), "extracted": pred[:32]}

    def free_form(self, record):
        return False
