"""MATH-Vision (Wang et al., 2024).

Release: HF `MathLLMs/MathVision` (data/test-*.parquet, data/testmini-*.parquet: id, question, options,
image, decoded_image, answer, solution, level, subject) or GitHub mathllm/MATH-V data/test.jsonl + images/.
`split` picks the file (default "testmini"; "test" for the full 3,040).
Prompt: mathllm/MATH-V models/Qwen-VL.py `geninput` (CoT + one \\boxed{}; options as "(A) …" lines unless
they are just the letters A–E, i.e. drawn in the image).
Scoring: mathllm/MATH-V evaluation/evaluate.py — correct if the extracted answer equals the gold answer
or, for multiple choice, the gold option's text (`is_equal(gt_answer) or is_equal(gt_answer_value)`);
accuracy overall, per subject and per level (math_level_subject_acc). Here the equality is
`core.grading.grade` (letter match for choices; numeric/symbolic equivalence for values).
"""

from __future__ import annotations

from ..rules import extract_answer, grade, to_float
from .base import BadRow, Benchmark, find_files, load_image, read_table, text
from .mathverse import grade_letter
from .registry import register_benchmark

PROMPT = ('Please solve the problem step by step and put your answer in one "\\boxed{}". If it is a multiple '
          'choice question, only one letter is allowed in the "\\boxed{}".\n')


@register_benchmark("mathvision")
class MathVision(Benchmark):
    release = ("MATH-Vision: HF MathLLMs/MathVision data/testmini-*.parquet (or test), or test.jsonl + images/ "
               "(https://huggingface.co/datasets/MathLLMs/MathVision)")
    breakdown_fields = ("subject", "level")

    def __init__(self, split: str = "testmini", **kw):
        super().__init__(**kw)
        self.split = split

    def rows(self, path):
        s = self.split
        files = find_files(path, (f"{s}-*.parquet", f"data/{s}-*.parquet", f"**/{s}-*.parquet", f"{s}.jsonl",
                                  f"data/{s}.jsonl", f"{s}*.parquet", "*.parquet", "*.jsonl"))
        for f in files:
            for i, row in enumerate(read_table(f)):
                yield row.get("id") or f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        sid = str(row.get("id") or row_id)
        question = text(row, "question")
        answer = text(row, "answer").strip()
        options = [str(o) for o in (row.get("options") or [])]
        image = load_image(row.get("decoded_image") or row.get("image"), self.root)
        if options:
            if len(answer) != 1 or not "A" <= answer.upper() < chr(ord("A") + len(options)):
                raise BadRow(f"answer {answer!r} is not one of the option letters of {len(options)} options")
            answer, rec_type = answer.upper(), "choice"
        else:
            rec_type = "number" if to_float(answer) is not None else "expression"
        options_text = ""
        if options and "".join(options) != "ABCDE"[: len(options)]:
            options_text = "".join(f"({chr(ord('A') + i)}) {o}\n" for i, o in enumerate(options))
        problem = question.replace("<image1>", "").strip() if "<image1>" in question else question
        meta = {"id": sid, "subject": row.get("subject"), "level": row.get("level"), "options": options,
                "prompt": f"{PROMPT}{problem}\n{options_text}"}
        return self.make_record(sid, images=[image], problem=problem, answer=answer, answer_type=rec_type,
                                choices=options, task_type=str(row.get("subject") or ""),
                                domain=str(row.get("subject") or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["meta"]["prompt"])

    def judge_one(self, record, response):
        opts = record["meta"]["options"]
        if opts:
            ok, letter = grade_letter(response, record["answer"], len(opts))
            if not ok and "".join(opts) != "ABCDE"[: len(opts)]:
                # is_equal(gt_answer_value, model_answer): the option text itself
                value = opts[ord(record["answer"]) - ord("A")]
                ok = grade(response, value, "number" if to_float(value) is not None else "expression")
            return {"correct": ok, "extracted": letter or extract_answer(response)}
        return {"correct": grade(response, record["answer"], record["answer_type"]),
                "extracted": extract_answer(response)}

    def free_form(self, record):
        return not record["meta"]["options"]
