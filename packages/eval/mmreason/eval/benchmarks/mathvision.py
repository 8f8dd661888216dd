"""MATH-Vision (Wang et al., 2024).

Accepted layouts (checked 2026-12-03), tried in this order; `split` picks the file (default "testmini",
304 problems; "test" for the full 3,040):
- hf: the HF snapshot of `MathLLMs/MathVision`: data/testmini-00000-of-00001-f8ff70fcb2f29b1d.parquet,
  data/test-00000-of-00001-3532b8d3f1b4047a.parquet, images.zip. Columns (README dataset_info): id,
  question, options (list[str]), image (str "images/1.jpg"), decoded_image (image), answer, solution,
  level (int64), subject.
- github: mathllm/MATH-V data/test.jsonl / data/testmini.jsonl (id, question, options, answer, solution,
  level, subject, image) with the images in images/ at the repository root.
- vlmevalkit: VLMEvalKit `MathVision_MINI.tsv` (testmini) / `MathVision.tsv` (test): index, image
  (base64), question, answer, choices (list literal), category (the subject) — the columns
  vlmeval/dataset/utils/mathv.py (post_check, MATH_V_acc) reads; `level` is used when present.
Prompt: mathllm/MATH-V models/Qwen-VL.py `geninput`: the CoT + one-\\boxed{} instruction, then
"{question}\\n{options}" with the question as released (its "<image1>" placeholder kept) and the options
as "(A) …" lines unless they are just the letters A–E (drawn in the image).
Scoring: mathllm/MATH-V evaluation/evaluate.py — correct if the extracted answer equals the gold answer or,
for multiple choice, the gold option's text (`is_equal(gt_answer) or is_equal(gt_answer_value)`); accuracy
overall, per subject and per level (math_level_subject_acc). Here: the option letter the final answer
states, else the option whose value it states, else `core.grading.grade` against the gold option's value;
free-form answers by `core.grading.grade`.
"""

from __future__ import annotations

from ..rules import choice_answer, extract_answer, grade, to_float
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, literal_list, text

PROMPT = ('Please solve the problem step by step and put your answer in one "\\boxed{}". If it is a multiple '
          'choice question, only one letter is allowed in the "\\boxed{}".\n')


def geninput(question: str, options: list[str]) -> str:
    """Qwen-VL.py geninput: instruction, question, then the options unless they are just "ABCDE"."""
    opts = ""
    if options and "".join(options) != "ABCDE"[: len(options)]:
        opts = "".join(f"({chr(ord('A') + i)}) {o}\n" for i, o in enumerate(options))
    return f"{PROMPT}{question}\n{opts}"


@register_benchmark("mathvision")
class MathVision(Benchmark):
    release = ("MATH-Vision: the HF MathLLMs/MathVision snapshot (data/testmini-*.parquet), GitHub data/testmini.jsonl "
               "+ images/, or VLMEvalKit's MathVision_MINI.tsv")
    breakdown_fields = ("subject", "level")

    def __init__(self, split: str = "testmini", **kw):
        super().__init__(**kw)
        self.split = split

    @property
    def layouts(self):
        s = self.split
        tsv = "MathVision_MINI.tsv" if s == "testmini" else "MathVision.tsv"
        return (
            Layout("hf", f"HF MathLLMs/MathVision data/{s}-*.parquet (+ images.zip)", (f"data/{s}-*.parquet", f"{s}-*.parquet")),
            Layout("github", f"mathllm/MATH-V data/{s}.jsonl + images/", (f"data/{s}.jsonl", f"{s}.jsonl")),
            Layout("vlmevalkit", f"VLMEvalKit {tsv}", (tsv,)),
        )

    def row_id(self, row, f, i):
        rid = row.get("id") if not is_missing(row.get("id")) else row.get("index")
        return str(rid) if not is_missing(rid) else f"{f.name}:{i}"

    def to_record(self, row_id, row):
        tsv = self.layout.name == "vlmevalkit"
        question = text(row, "question")
        answer = text(row, "answer").strip()
        options = [str(o) for o in literal_list(row.get("choices" if tsv else "options"), "options")]
        subject = row.get("category" if tsv else "subject")
        image = self.image(row.get("decoded_image") or row.get("image"))
        if options:
            if len(answer) != 1 or not "A" <= answer.upper() < chr(ord("A") + len(options)):
                raise BadRow(f"answer {answer!r} is not one of the option letters of {len(options)} options")
            answer, rec_type = answer.upper(), "choice"
        else:
            rec_type = "number" if to_float(answer) is not None else "expression"
        level = row.get("level")
        try:
            level = None if is_missing(level) else int(float(level))
        except ValueError:
            raise BadRow(f"level {level!r} is not a number") from None
        meta = {"id": row_id, "subject": subject, "level": level,
                "options": options, "prompt": geninput(question, options)}
        return self.make_record(row_id, images=[image], problem=question, answer=answer, answer_type=rec_type,
                                choices=options, task_type=str(subject or ""), domain=str(subject or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["meta"]["prompt"])

    def judge_one(self, record, response):
        opts = record["meta"]["options"]
        if not opts:
            return {"correct": grade(response, record["answer"], record["answer_type"]),
                    "extracted": extract_answer(response)}
        letter = choice_answer(response, opts)
        if letter is not None:
            return {"correct": letter == record["answer"], "extracted": letter}
        if "".join(opts) == "ABCDE"[: len(opts)]:
            return {"correct": False, "extracted": extract_answer(response)}
        value = opts[ord(record["answer"]) - ord("A")]  # is_equal(gt_answer_value, model_answer)
        ok = grade(response, value, "number" if to_float(value) is not None else "expression")
        return {"correct": ok, "extracted": extract_answer(response)}

    def free_form(self, record):
        return not record["meta"]["options"]
