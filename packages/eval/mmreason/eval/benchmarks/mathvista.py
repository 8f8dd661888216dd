"""MathVista testmini (Lu et al., 2024).

Release: HF `AI4Math/MathVista` (data/testmini-*.parquet: pid, question, image, decoded_image, choices,
unit, precision, answer, question_type, answer_type, metadata, query) or the GitHub `data/testmini.json`
({pid: problem}) beside an `images/` folder.
Prompt: the release's `query` field, else the zero-shot "solution" query of
lupantech/MathVista evaluation/build_query.py (create_one_query).
Scoring: lupantech/MathVista evaluation/calculate_score.py — `normalize_extracted_answer` (choice letter ->
option text, else the Levenshtein-closest option; integer -> str(int(float)); float -> str(round(x,
precision))) then exact string equality with `answer`. The official extractor (extract_answer.py) tries
the quick rules (response is an option / an int / a float) and then GPT-4; here the quick rules are
followed by `core.grading.extract_answer`, and an optional LLM judge replaces GPT-4. When no answer can
be extracted the sample is wrong (the official script would snap "None" to the closest option).
Breakdowns: the keys calculate_score.py reports.
"""

from __future__ import annotations

import re

from ..rules import choice_letter, clean_short_answer, closest_choice, extract_answer
from .base import BadRow, Benchmark, find_files, letter_of, load_image, read_table, text
from .registry import register_benchmark

META_KEYS = ("language", "source", "category", "task", "context", "grade", "skills")


def build_query(question: str, unit: str, choices: list[str], precision: int | None, question_type: str,
                answer_type: str) -> str:
    """Zero-shot 'solution' query (MathVista build_query.create_one_query, shot_num=0)."""
    if question_type == "multi_choice":
        hint = "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end."
    elif answer_type == "integer":
        hint = "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end."
    elif answer_type == "float" and precision == 1:
        hint = ("Hint: Please answer the question requiring a floating-point number with one decimal place and "
                "provide the final value, e.g., 1.2, 1.3, 1.4, at the end.")
    elif answer_type == "float" and precision == 2:
        hint = ("Hint: Please answer the question requiring a floating-point number with two decimal places and "
                "provide the final value, e.g., 1.23, 1.34, 1.45, at the end.")
    elif answer_type == "float":
        hint = ("Hint: Please answer the question requiring a floating-point number and provide the final value, "
                "e.g., 1.2, 1.3, 1.4, at the end.")
    else:
        hint = ("Hint: Please answer the question requiring a Python list as an answer and provide the final "
                "list, e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.")
    question_text = f"Question: {question}" + (f" (Unit: {unit})" if unit else "")
    choices_text = "\n".join(["Choices:"] + [f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(choices)]) if choices else ""
    # the released `query` column puts the hint first; build_query's order is question, choices, hint
    return "\n".join(e for e in (hint, question_text, choices_text) if e)


def normalize_extracted_answer(extraction: str | None, choices: list[str], question_type: str,
                               answer_type: str, precision: int | None) -> str | None:
    """MathVista calculate_score.normalize_extracted_answer."""
    if question_type == "multi_choice":
        extraction = "" if extraction is None else str(extraction).strip()
        letter = re.findall(r"\(([a-zA-Z])\)", extraction)
        if letter:
            extraction = letter[0].upper()
        options = [chr(ord("A") + i) for i in range(len(choices))]
        if extraction in options:
            return choices[options.index(extraction)]
        return closest_choice(extraction, choices)
    try:
        if answer_type == "integer":
            return str(int(float(extraction)))
        if answer_type == "float":
            return str(round(float(extraction), int(precision or 0)))
    except (TypeError, ValueError):
        return None
    return None if extraction is None else str(extraction)


@register_benchmark("mathvista")
class MathVista(Benchmark):
    release = ("MathVista testmini: HF AI4Math/MathVista data/testmini-*.parquet, or testmini.json + images/ "
               "(https://huggingface.co/datasets/AI4Math/MathVista)")
    breakdown_fields = ("question_type", "answer_type") + META_KEYS

    def rows(self, path):
        files = find_files(path, ("testmini*.parquet", "data/testmini*.parquet", "**/testmini*.parquet",
                                  "testmini.json", "data/testmini.json", "*.parquet", "*.json"))
        for f in files:
            for i, row in enumerate(read_table(f)):
                yield row.get("pid") or row.get("_key") or f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        pid = str(row.get("pid") or row_id)
        question = text(row, "question")
        qtype, atype = text(row, "question_type"), text(row, "answer_type")
        answer = text(row, "answer")
        precision = row.get("precision")
        precision = None if precision in (None, "") else int(float(precision))
        unit = row.get("unit") or ""
        image = load_image(row.get("decoded_image") or row.get("image"), self.root)
        choices = [str(c) for c in (row.get("choices") or [])]
        if qtype == "multi_choice":
            if len(choices) < 2:
                raise BadRow(f"multi_choice question with {len(choices)} choices")
            rec_answer, rec_type = letter_of(answer, choices), "choice"
        elif qtype == "free_form":
            if atype in ("integer", "float"):
                try:
                    float(answer)
                except ValueError:
                    raise BadRow(f"{atype} answer {answer!r} is not a number") from None
                rec_type = "number"
            elif atype == "list":
                rec_type = "expression"
            else:
                rec_type = "text"
            rec_answer, choices = answer, []
        else:
            raise BadRow(f"unknown question_type {qtype!r}")
        md = row.get("metadata") or {}
        if isinstance(md, str):
            import json

            md = json.loads(md)
        meta = {
            "pid": pid, "question_type": qtype, "answer_type": atype, "answer": answer,
            "choices": [str(c) for c in (row.get("choices") or [])], "precision": precision, "unit": unit,
            "query": row.get("query") or build_query(question, unit, choices, precision, qtype, atype),
        }
        meta.update({k: md.get(k) for k in META_KEYS})
        return self.make_record(pid, images=[image], problem=question, answer=rec_answer, answer_type=rec_type,
                                choices=choices, task_type=str(md.get("task") or qtype),
                                domain=str(md.get("category") or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["meta"]["query"])

    def extract(self, response: str, meta: dict) -> str | None:
        """Quick rules of MathVista extract_answer.py, then core.grading.extract_answer."""
        r = (response or "").strip()
        if not r:
            return None
        if meta["question_type"] == "multi_choice" and r in meta["choices"]:
            return r
        if meta["answer_type"] == "integer":
            try:
                return str(int(r))
            except ValueError:
                pass
        if meta["answer_type"] == "float":
            try:
                return str(float(r))
            except ValueError:
                pass
        ext = extract_answer(response)
        if ext is None:
            if meta["question_type"] == "multi_choice":
                return choice_letter(response, len(meta["choices"]))
            return None
        ext = clean_short_answer(ext)
        if meta["question_type"] == "multi_choice" and ext not in meta["choices"]:
            return choice_letter(ext, len(meta["choices"])) or ext
        return ext

    def judge_one(self, record, response):
        meta = record["meta"]
        extraction = self.extract(response, meta)
        if extraction is None:
            return {"correct": False, "extracted": None}
        pred = normalize_extracted_answer(extraction, meta["choices"], meta["question_type"], meta["answer_type"],
                                          meta["precision"])
        return {"correct": pred == meta["answer"], "extracted": pred}

    def free_form(self, record):
        return record["meta"]["question_type"] == "free_form"
