"""MMK12 (Meng et al., 2025, MM-Eureka): the K-12 multimodal test set.

Accepted layout (checked 2026-12-03):
- hf: the HF snapshot of `FanqingM/MMK12`: data/test-*.parquet (and data/train-*.parquet; `split`
  picks). The test split holds 2,000 single-image multiple-choice questions, 500 each of math, physics,
  chemistry and biology. Columns: id, subject, image (image), question (the stem, then the options as
  "A. …" lines, e.g. "A. $$10.5$$", "B.2.3."), answer (the option letter; the train split also has
  values). Sources: lmms-eval's mmk12 task docstring (FanqingM/MMK12 test, options inline, 500 per
  subject) and loaders that read the release (data/*.parquet with these five columns).
There is no GitHub or VLMEvalKit copy of the test set (MM-EUREKA ships only its older K12 set,
eval/k12/k12.json).
Prompt: MM-EUREKA eval/k12/evaluate_k12.py (`reasoning_pretrain`): "Answer the following question:
{question}\\nPlease reason step by step, and put your final answer within \\\\boxed{}." (its system prompt,
"A conversation between User and Assistant…", goes in eval.system_prompt when wanted).
Scoring: MM-EUREKA eval/k12/extract_calculate.py asks GPT-4o whether the response's result matches the
answer (Yes/No); lmms-eval uses a binary LLM judge. Here the rule: the option letter the final answer
states, or the option whose value it states (`rules.choice_answer`), must be the gold letter; value
answers by `core.grading.grade`. `eval.judge` with `protocol: verdict` reproduces the LLM judgement.
Accuracy overall and per subject.
"""

from __future__ import annotations

import re

from ..rules import choice_answer, extract_answer, grade, parse_inline_choices, to_float
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, text

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
K12_PROMPT = """You are given a question, a solution and the correct answer. Decide whether the solution's final result matches the correct answer. Compare only the mathematical or textual meaning of the result; ignore formatting (LaTeX, \\boxed, $...$) and the reasoning that leads to it. Reply only "Yes" if the solution is correct or "No" if it is not.

Question:
{question}
--------------------------------
Correct Answer:
{answer}
--------------------------------
Solution:
{response}
--------------------------------
"""
_OPTION_LINE = re.compile(r"^\s*\(?([A-J])\)?\s*[.、．:：]\s*(.*?)\s*$")


def line_options(question: str) -> list[str]:
    """Options written one per line after the stem ("A. 1 N", "B.2 N", "C、3 N"), else inline ones."""
    opts: dict[str, str] = {}
    for line in question.splitlines():
        m = _OPTION_LINE.match(line)
        if m and m.group(1) == chr(ord("A") + len(opts)):
            opts[m.group(1)] = m.group(2)
        elif opts and line.strip():
            return parse_inline_choices(question)  # text after the option block: not a plain option list
    return list(opts.values()) if len(opts) >= 2 else parse_inline_choices(question)


@register_benchmark("mmk12")
class MMK12(Benchmark):
    release = "MMK12: the HF FanqingM/MMK12 snapshot (data/test-*.parquet)"
    breakdown_fields = ("subject",)

    def __init__(self, split: str = "test", **kw):
        super().__init__(**kw)
        self.split = split

    @property
    def layouts(self):
        s = self.split
        return (Layout("hf", f"HF FanqingM/MMK12 data/{s}-*.parquet", (f"data/{s}-*.parquet", f"{s}-*.parquet",
                                                                       f"{s}.parquet")),)

    def row_id(self, row, f, i):
        return str(row["id"]) if not is_missing(row.get("id")) else f"{f.name}:{i}"

    def to_record(self, row_id, row):
        question, answer = text(row, "question"), text(row, "answer").strip()
        image = self.image(row.get("image"))
        choices, is_letter = [], len(answer) == 1 and answer.isalpha()
        if is_letter:
            answer = answer.upper()
            choices = line_options(question)
            if not choices:
                raise BadRow(f"letter answer {answer!r} but no options found in the question")
            if ord(answer) - ord("A") >= len(choices):
                raise BadRow(f"answer {answer!r} is outside the {len(choices)} options in the question")
            atype = "choice"
        else:
            atype = "number" if to_float(answer) is not None else "expression"
        meta = {"subject": row.get("subject"), "letter": is_letter}
        return self.make_record(row_id, images=[image], problem=question, answer=answer, answer_type=atype,
                                choices=choices, task_type=str(row.get("subject") or ""),
                                domain=str(row.get("subject") or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(f"Answer the following question: {record['problem']}\n{INSTRUCTION}")

    def judge_one(self, record, response):
        if record["meta"]["letter"]:
            letter = choice_answer(response, record["choices"])
            return {"correct": letter == record["answer"], "extracted": letter}
        return {"correct": grade(response, record["answer"], record["answer_type"]), "extracted": extract_answer(response)}

    def free_form(self, record):
        return True  # the official score is an LLM judgement for every question

    def judge_prompt(self, record, response):
        """MM-EUREKA eval/k12/extract_calculate.py's judgement: does the solution's result match the answer?"""
        return K12_PROMPT.format(question=record["problem"], answer=record["answer"], response=response)
