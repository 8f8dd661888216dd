"""MathVista testmini (Lu et al., 2024).

Accepted layouts (checked 2026-12-03), tried in this order:
- hf: the HF snapshot of `AI4Math/MathVista` (`huggingface-cli download AI4Math/MathVista --repo-type
  dataset`): data/testmini-00000-of-00001-725687bf7a18d64b.parquet (data/test-0000{0,1}-of-00002-*.parquet
  with split=test), images.zip, annot_testmini.json, source.json. Columns (README dataset_info): pid,
  question, image (str "images/1.jpg"), decoded_image (image), choices (list[str]), unit, precision
  (float64), answer, question_type (multi_choice | free_form), answer_type (text | integer | float | list),
  metadata (struct: category, context, grade, img_height, img_width, language, skills, source, split,
  task), query.
- github: lupantech/MathVista data/testmini.json ({pid: problem}, the hf columns without decoded_image
  and query) with data/query.json ({pid: query}) and data/images/ (images.zip unzipped in data/, README
  "Downloading Images"); images.zip left zipped at the root or in data/ is read from the archive.
- vlmevalkit: VLMEvalKit `MathVista_MINI.tsv`: index, image (base64), question (the query the model is
  sent), answer, answer_option (the letter, multiple choice), choices (list literal), question_type,
  answer_type, precision, task, skills (list literal) — the columns vlmeval/dataset/utils/mathvista.py
  (MathVista_auxeval, post_check, MathVista_acc) reads; other columns are ignored.
Prompt (`prompt="query"`, default): the released query (hf `query` column, github query.json, TSV
`question`); without one, or with `prompt="build"`, the zero-shot "solution" query of lupantech/MathVista
evaluation/build_query.py create_one_query: question (+ unit), choices, hint, "Solution:".
Scoring: evaluation/calculate_score.py — `normalize_extracted_answer` (choice letter -> option text, else
the Levenshtein-closest option; integer -> str(int(float)); float -> str(round(x, precision))) then exact
string equality with `answer`. The official extractor (extract_answer.py) tries the quick rules (response
is an option / an int / a float) and then GPT-4; here the quick rules are followed by
`core.grading.extract_answer`; `eval.judge` with `protocol: extract` asks an LLM for the extraction as
GPT-4 does. When no answer can be extracted the sample is wrong (the official script would snap "None"
to the closest option). Breakdowns: the keys calculate_score.py reports.
"""

from __future__ import annotations

import json
import re

from ..rules import choice_letter, clean_short_answer, closest_choice, extract_answer
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, letter_of, literal_list, read_table, text

META_KEYS = ("language", "source", "category", "task", "context", "grade", "skills")
HINTS = {
    "multi_choice": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.",
    "integer": ("Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, "
                "2, 3, at the end."),
    1: ("Hint: Please answer the question requiring a floating-point number with one decimal place and provide the "
        "final value, e.g., 1.2, 1.3, 1.4, at the end."),
    2: ("Hint: Please answer the question requiring a floating-point number with two decimal places and provide the "
        "final value, e.g., 1.23, 1.34, 1.45, at the end."),
    "list": ("Hint: Please answer the question requiring a Python list as an answer and provide the final list, e.g., "
             "[1, 2, 3], [1.2, 1.3, 1.4], at the end."),
}


def build_query(question: str, unit: str, choices: list[str], precision: int | None, question_type: str,
                answer_type: str) -> str:
    """build_query.create_one_query with shot_num=0, shot_type="solution", no caption/OCR: the elements
    question (+ unit), choices, hint, "Solution: " joined by newlines and stripped."""
    if question_type == "multi_choice":
        hint = HINTS["multi_choice"]
    elif answer_type == "float":
        if precision not in (1, 2):  # build_query.py has no hint for other precisions (none in testmini)
            raise BadRow(f"float answer with precision {precision!r}: build_query.py has no hint for it")
        hint = HINTS[precision]
    else:
        hint = HINTS[answer_type]
    question_text = f"Question: {question}" + (f" (Unit: {unit})" if unit else "")
    choices_text = "\n".join(["Choices:"] + [f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(choices)]) if choices else ""
    return "\n".join(e for e in (question_text, choices_text, hint, "Solution: ") if e).strip()


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
    release = ("MathVista: the HF AI4Math/MathVista snapshot (data/testmini-*.parquet), the GitHub data/testmini.json "
               "(+ query.json, images/ or images.zip) or VLMEvalKit's MathVista_MINI.tsv")
    breakdown_fields = ("question_type", "answer_type") + META_KEYS

    def __init__(self, split: str = "testmini", prompt: str = "query", **kw):
        super().__init__(**kw)
        if prompt not in ("query", "build"):
            raise ValueError(f"mathvista: prompt must be 'query' (the released query) or 'build' (build_query.py), "
                             f"got {prompt!r}")
        self.split, self.prompt = split, prompt

    @property
    def layouts(self):
        s = self.split
        return (
            Layout("hf", f"HF AI4Math/MathVista data/{s}-*.parquet", (f"data/{s}-*.parquet", f"{s}-*.parquet")),
            Layout("github", f"lupantech/MathVista data/{s}.json + query.json + images/", (f"data/{s}.json", f"{s}.json")),
            Layout("vlmevalkit", "VLMEvalKit MathVista_MINI.tsv", ("MathVista_MINI*.tsv", "*.tsv")),
        )

    def rows(self, files):
        for f in files:
            self.use_file(f)
            queries = {}
            if self.layout.name == "github" and (f.parent / "query.json").is_file():
                queries = json.loads((f.parent / "query.json").read_text(encoding="utf-8"))
            for i, row in enumerate(read_table(f)):
                pid = row.get("pid") or row.get("_key") or row.get("index")
                if pid is not None and str(pid) in queries and not row.get("query"):
                    row["query"] = queries[str(pid)]
                yield (str(pid) if not is_missing(pid) else f"{f.name}:{i}"), row

    def to_record(self, row_id, row):
        tsv = self.layout.name == "vlmevalkit"
        pid = row_id
        question = text(row, "question")
        qtype, atype = text(row, "question_type"), text(row, "answer_type")
        answer = text(row, "answer").strip()
        try:
            precision = None if is_missing(row.get("precision")) else int(float(row["precision"]))
        except ValueError:
            raise BadRow(f"precision {row['precision']!r} is not a number") from None
        unit = "" if is_missing(row.get("unit")) else str(row["unit"])
        image = self.image(row.get("decoded_image") or row.get("image"))
        choices = [str(c) for c in literal_list(row.get("choices"), "choices")]
        if qtype == "multi_choice":
            if len(choices) < 2:
                raise BadRow(f"multi_choice question with {len(choices)} choices")
            rec_answer, rec_type = letter_of(answer, choices), "choice"
            if tsv and not is_missing(row.get("answer_option")) and row["answer_option"].strip() != rec_answer:
                raise BadRow(f"answer_option {row['answer_option']!r} is not the letter of answer {answer!r}")
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
            try:
                md = json.loads(md)
            except json.JSONDecodeError:
                raise BadRow(f"metadata {md[:80]!r} is not JSON") from None
        if tsv:  # the TSV flattens metadata into task / skills columns
            md = {"task": row.get("task"), "skills": literal_list(row.get("skills"), "skills") if row.get("skills") else []}
        if tsv:  # VLMEvalKit sends the TSV question as is
            query = question
        elif self.prompt == "query" and not is_missing(row.get("query")):
            query = str(row["query"])
        else:
            query = build_query(question, unit, choices, precision, qtype, atype)
        meta = {"pid": pid, "question_type": qtype, "answer_type": atype, "answer": answer, "choices": choices,
                "precision": precision, "unit": unit, "query": query}
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
        if meta["answer_type"] == "float" and meta["precision"] is None:
            try:  # a TSV row without precision: VLMEvalKit post_check compares the floats
                return {"correct": float(extraction) == float(meta["answer"]), "extracted": extraction}
            except ValueError:
                return {"correct": False, "extracted": extraction}
        pred = normalize_extracted_answer(extraction, meta["choices"], meta["question_type"], meta["answer_type"],
                                          meta["precision"])
        return {"correct": pred == meta["answer"], "extracted": pred}

    def free_form(self, record):
        return record["meta"]["question_type"] == "free_form"

    def extraction_prompt(self, record, response):
        """extract_answer.py: the query (hint, question, choices), the response, "Extracted answer:"."""
        from ..judge import EXTRACT

        return EXTRACT.format(question=record["meta"]["query"], response=response)
