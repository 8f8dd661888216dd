"""MMStar (Chen et al., 2024): 1,500 vision-indispensable multiple-choice questions.

Release: HF `Lin-Chen/MMStar` `mmstar.parquet` (index, question with "Options: A: …, B: …", image, answer,
category, l2_category, meta_info) or the VLMEvalKit `MMStar.tsv` (same columns, base64 image).
Prompt: the released question (options included) + "Please select the correct answer from the options
above." (VLMEvalKit's multiple-choice prompt).
Scoring: MMStar-Benchmark/MMStar eval/vlmeval/evaluate/mmstar.py `MMStar_eval` — lower-cased prediction
is right if its first character is the answer, or it starts with "(x", "option x" or "the answer is x".
The rule reads the extracted final answer (`core.grading.extract_answer`) when there is one, else the
raw response. Accuracy overall, per category and per l2_category (the official script's division by 250
per category equals the mean over the category's 250 questions).
"""

from __future__ import annotations

from ..rules import extract_answer, parse_inline_choices
from .base import BadRow, Benchmark, find_files, load_image, read_table, text
from .registry import register_benchmark


def mmstar_match(prediction: str, answer: str) -> bool:
    """MMStar_eval's prefix rule."""
    a = answer.lower().strip().replace("\n", " ")
    p = prediction.lower().strip().replace("\n", " ")
    if not p:
        return False
    return (a == p[0] or (p[0] == "(" and p[1:2] == a) or (p[0:7] == "option " and p[7:8] == a)
            or (p[0:14] == "the answer is " and p[14:15] == a))


@register_benchmark("mmstar")
class MMStar(Benchmark):
    release = "MMStar mmstar.parquet or MMStar.tsv (https://huggingface.co/datasets/Lin-Chen/MMStar)"
    breakdown_fields = ("category", "l2_category")

    def rows(self, path):
        for f in find_files(path, ("mmstar*.parquet", "**/mmstar*.parquet", "MMStar*.tsv", "*.parquet", "*.tsv")):
            for i, row in enumerate(read_table(f)):
                yield row.get("index") if row.get("index") not in (None, "") else f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        question = text(row, "question")
        answer = text(row, "answer").strip().upper()
        choices = parse_inline_choices(question)
        if len(answer) != 1 or not answer.isalpha():
            raise BadRow(f"answer {answer!r} is not an option letter")
        if not choices:
            raise BadRow("no 'Options: A: …' list found in the question")
        if ord(answer) - ord("A") >= len(choices):
            raise BadRow(f"answer {answer!r} is outside the {len(choices)} options")
        image = load_image(row.get("image"), self.root)
        meta = {"index": str(row_id), "category": row.get("category"), "l2_category": row.get("l2_category")}
        return self.make_record(str(row_id), images=[image], problem=question, answer=answer, answer_type="choice",
                                choices=choices, task_type=str(row.get("l2_category") or ""),
                                domain=str(row.get("category") or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["problem"] + "\nPlease select the correct answer from the options above.")

    def judge_one(self, record, response):
        ext = extract_answer(response)
        pred = ext if ext else (response or "")
        return {"correct": mmstar_match(pred, record["answer"]), "extracted": pred[:32]}

    def free_form(self, record):
        return False
