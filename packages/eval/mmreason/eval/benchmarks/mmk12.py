"""MMK12 (Meng et al., 2025, MM-Eureka): K-12 multimodal math/physics/chemistry/biology test set.

Release: HF `FanqingM/MMK12` parquet (id, subject, image, question, answer); the answer is an option
letter (options written in the question) or a value.
Prompt: the question + "Please reason step by step, and put your final answer within \\boxed{}." (the
boxed-answer instruction of MM-Eureka's evaluation).
Scoring: MM-Eureka checks the boxed answer with math-verify: `core.grading.grade` (math-verify based)
for values; for option answers, the option letter of the final answer. Accuracy overall and per subject.
"""

from __future__ import annotations

from ..rules import extract_answer, grade, parse_inline_choices, to_float
from .base import BadRow, Benchmark, find_files, load_image, read_table, text
from .mathverse import grade_letter
from .registry import register_benchmark

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@register_benchmark("mmk12")
class MMK12(Benchmark):
    release = "MMK12 test parquet (https://huggingface.co/datasets/FanqingM/MMK12)"
    breakdown_fields = ("subject",)

    def __init__(self, split: str = "test", **kw):
        super().__init__(**kw)
        self.split = split

    def rows(self, path):
        s = self.split
        for f in find_files(path, (f"{s}-*.parquet", f"data/{s}-*.parquet", f"**/{s}-*.parquet", f"{s}.parquet",
                                   "*.parquet")):
            for i, row in enumerate(read_table(f)):
                yield row.get("id") if row.get("id") not in (None, "") else f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        question, answer = text(row, "question"), text(row, "answer").strip()
        image = load_image(row.get("image"), self.root)
        choices, is_letter = [], len(answer) == 1 and "A" <= answer.upper() <= "J" and answer.isalpha()
        if is_letter:
            answer = answer.upper()
            choices = parse_inline_choices(question)
            if choices and ord(answer) - ord("A") >= len(choices):
                raise BadRow(f"answer {answer!r} is outside the {len(choices)} options in the question")
            atype = "choice" if choices else "text"
        else:
            atype = "number" if to_float(answer) is not None else "expression"
        meta = {"subject": row.get("subject"), "letter": is_letter}
        return self.make_record(str(row_id), images=[image], problem=question, answer=answer, answer_type=atype,
                                choices=choices, task_type=str(row.get("subject") or ""),
                                domain=str(row.get("subject") or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(f"{record['problem']}\n{INSTRUCTION}")

    def judge_one(self, record, response):
        if record["meta"]["letter"]:
            ok, letter = grade_letter(response, record["answer"], len(record["choices"]) or None)
            return {"correct": ok, "extracted": letter}
        return {"correct": grade(response, record["answer"], record["answer_type"]), "extracted": extract_answer(response)}

    def free_form(self, record):
        return not record["meta"]["letter"]
