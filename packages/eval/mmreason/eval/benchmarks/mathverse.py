"""MathVerse testmini (Zhang et al., 2024), scored per problem version.

Release: `testmini.json` beside the `images_version_1-4/ …` folders (HF AI4Math/MathVerse, GitHub
ZrrSkywalker/MathVerse), or the HF parquet with the same columns: sample_index, problem_index,
problem_version, question, image, answer, question_type (multi-choice | free-form), metadata {subject,
subfield, source, split}, query_wo, query_cot, question_for_eval.
Prompt: `query_cot` (the official CoT query) or `query_wo` with `prompt="wo"`.
Scoring: ZrrSkywalker/MathVerse evaluation/score_answer_s2.py judges the (GPT-)extracted answer against
`answer` with GPT-4 (`--quick_match` = exact string match) and reports accuracy per problem_version and per
subject/subfield. Here: multiple choice = the option letter of the final answer equals `answer`;
free-form = `core.grading.grade` (numeric / symbolic equivalence); an optional LLM judge (the runner's
`eval.judge`) takes GPT-4's place for free-form answers the rule marks wrong.
"""

from __future__ import annotations

from ..rules import choice_letter, extract_answer, grade, parse_inline_choices, to_float
from .base import BadRow, Benchmark, find_files, is_missing, load_image, read_table, text
from .registry import register_benchmark

VERSIONS = {
    "Text Dominant": "text-dominant",
    "Text Lite": "text-lite",
    "Vision Intensive": "vision-intensive",
    "Vision Dominant": "vision-dominant",
    "Vision Only": "vision-only",
    "Text Only": "text-only",
}


def grade_letter(response: str, gold: str, n_choices: int | None = None) -> tuple[bool, str | None]:
    """Option-letter rule: the letter of the extracted final answer (else of the response) equals gold."""
    ext = extract_answer(response)
    letter = choice_letter(ext, n_choices) if ext else None
    if letter is None:
        letter = choice_letter(response, n_choices)
    return letter == gold.strip().upper(), letter


@register_benchmark("mathverse")
class MathVerse(Benchmark):
    release = ("MathVerse testmini: testmini.json + images_version_* folders, or the HF parquet "
               "(https://huggingface.co/datasets/AI4Math/MathVerse)")
    breakdown_fields = ("version", "subject", "subfield", "question_type")

    def __init__(self, prompt: str = "cot", **kw):
        super().__init__(**kw)
        if prompt not in ("cot", "wo"):
            raise ValueError(f"mathverse: prompt must be 'cot' or 'wo', got {prompt!r}")
        self.prompt = prompt

    def rows(self, path):
        files = find_files(path, ("testmini.json", "testmini*.parquet", "data/testmini*.parquet",
                                  "**/testmini*.parquet", "*.json"))
        for f in files:
            for i, row in enumerate(read_table(f)):
                yield row.get("sample_index") or f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        sid = str(row.get("sample_index") or row_id)
        raw_version = text(row, "problem_version")
        if raw_version not in VERSIONS:
            raise BadRow(f"unknown problem_version {raw_version!r}")
        version = VERSIONS[raw_version]
        qtype = text(row, "question_type")
        answer = text(row, "answer").strip()
        question = "" if is_missing(row.get("question")) else str(row["question"])
        if version == "text-only" and is_missing(row.get("image")):
            images = []
        else:
            images = [load_image(row.get("image"), self.root)]
        md = row.get("metadata") or {}
        full_q = row.get("question_for_eval") or question
        if qtype == "multi-choice":
            if len(answer) != 1 or not answer.isalpha():
                raise BadRow(f"multi-choice answer {answer!r} is not an option letter")
            answer = answer.upper()
            choices = parse_inline_choices(full_q)
            if choices and ord(answer) - ord("A") >= len(choices):
                raise BadRow(f"answer {answer!r} is outside the {len(choices)} choices in the question")
            rec_type = "choice" if choices else "text"
        elif qtype == "free-form":
            choices, rec_type = [], ("number" if to_float(answer) is not None else "expression")
        else:
            raise BadRow(f"unknown question_type {qtype!r}")
        query_cot = row.get("query_cot") or (
            "Please first conduct reasoning, and then answer the question and provide the final value, e.g., "
            f"1, 2.5, 300, at the end.\nQuestion: {question}")
        query_wo = row.get("query_wo") or (
            f"Please directly answer the question and provide the final value, e.g., 1, 2.5, 300.\nQuestion: {question}")
        meta = {"sample_index": sid, "problem_index": str(row.get("problem_index") or ""), "version": version,
                "question_type": qtype, "subject": md.get("subject"), "subfield": md.get("subfield"),
                "source": md.get("source"), "query_cot": query_cot, "query_wo": query_wo, "n_choices": len(choices)}
        return self.make_record(sid, images=images, problem=question or query_cot, answer=answer,
                                answer_type=rec_type, choices=choices, task_type=version,
                                domain=str(md.get("subject") or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["meta"]["query_cot" if self.prompt == "cot" else "query_wo"])

    def judge_one(self, record, response):
        meta = record["meta"]
        if meta["question_type"] == "multi-choice":
            ok, letter = grade_letter(response, record["answer"], meta["n_choices"] or None)
            return {"correct": ok, "extracted": letter}
        return {"correct": grade(response, record["answer"], record["answer_type"]),
                "extracted": extract_answer(response)}

    def free_form(self, record):
        return record["meta"]["question_type"] == "free-form"
