"""MathVerse testmini (Zhang et al., 2024), scored per problem version.

Accepted layouts (checked 2026-12-03), tried in this order:
- hf-parquet: the HF snapshot of `AI4Math/MathVerse`: testmini.parquet (the five main versions, 3,940 rows,
  image embedded) and testmini_text_only.parquet (788 Text Only rows, read only when asked for), next to
  testmini.json, testmini_text_only.json and images.zip. Columns (testmini.json / the HF viewer / lmms-eval
  tasks/mathverse/utils.py): sample_index, problem_index, problem_version, question, image, answer,
  question_type (multi-choice | free-form), metadata (split, source, subject, subfield), query_wo,
  query_cot, question_for_eval. The parquet is preferred to the JSON: its images are embedded.
- json: testmini.json (HF root, or ZrrSkywalker/MathVerse data/testmini.json, which lacks
  question_for_eval) with `image` like "images_version_1-4/image_685.png", found in unzipped
  images_version_* folders or read from images.zip; testmini_text_only.json (image "") when asked for.
- vlmevalkit: VLMEvalKit `MathVerse_MINI.tsv` (or one per-version `MathVerse_MINI_<Version>.tsv`): index,
  image (base64), question, query_cot, question_for_eval, answer, problem_version, metadata (dict
  literal) — the columns vlmeval/dataset/image_vqa.py MathVerse and utils/mathverse.py read.
Versions (`versions`, default "main"): the five versions the official overall score covers (Text
Dominant, Text Lite, Vision Intensive, Vision Dominant, Vision Only); "all" adds Text Only, or give a list
of version names ("text-only", "vision-only", ...). Rows of other versions are left out, not skipped.
Prompt: `query_cot` (`prompt="cot"`, default) or `query_wo` (`prompt="wo"`, the README's primary metric).
Scoring: ZrrSkywalker/MathVerse evaluation/score_answer_s2.py judges the (GPT-)extracted answer against
`answer` with GPT-4 (`--quick_match` = exact string match) and reports accuracy per problem_version and per
subject/subfield. Here: multiple choice = the option letter the final answer states, or the option whose
value it states ("140°" when option C is "140°" is C), equals `answer`; free-form = `core.grading.grade`
(numeric / symbolic equivalence). `eval.judge` takes GPT-4's place (`protocol: verdict` is score_answer_s2's
judgement; `protocol: extract` is extract_answer_s1's extraction, then this rule).
"""

from __future__ import annotations

import ast

from ..rules import choice_answer, extract_answer, grade, parse_inline_choices, to_float
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, read_table, text

VERSIONS = {
    "Text Dominant": "text-dominant",
    "Text Lite": "text-lite",
    "Vision Intensive": "vision-intensive",
    "Vision Dominant": "vision-dominant",
    "Vision Only": "vision-only",
    "Text Only": "text-only",
}
MAIN = ("text-dominant", "text-lite", "vision-intensive", "vision-dominant", "vision-only")


def parse_versions(versions) -> tuple[str, ...]:
    if versions == "main":
        return MAIN
    if versions == "all":
        return MAIN + ("text-only",)
    names = [versions] if isinstance(versions, str) else list(versions)
    out = tuple(VERSIONS.get(v, v) for v in names)
    bad = [v for v in out if v not in VERSIONS.values()]
    if bad:
        raise ValueError(f"mathverse: unknown versions {bad}; use 'main', 'all' or names from {sorted(VERSIONS.values())}")
    return out


@register_benchmark("mathverse")
class MathVerse(Benchmark):
    release = ("MathVerse testmini: the HF AI4Math/MathVerse snapshot (testmini.parquet), testmini.json + images "
               "(folders or images.zip), or VLMEvalKit's MathVerse_MINI.tsv")
    breakdown_fields = ("version", "subject", "subfield", "question_type")
    layouts = (
        Layout("hf-parquet", "HF AI4Math/MathVerse testmini.parquet (+ testmini_text_only.parquet)",
               ("testmini.parquet", "data/testmini.parquet")),
        Layout("json", "testmini.json (HF root or GitHub data/) + images_version_* folders or images.zip",
               ("testmini.json", "data/testmini.json")),
        Layout("vlmevalkit", "VLMEvalKit MathVerse_MINI.tsv", ("MathVerse_MINI.tsv", "MathVerse_MINI_*.tsv")),
    )

    def __init__(self, prompt: str = "cot", versions="main", **kw):
        super().__init__(**kw)
        if prompt not in ("cot", "wo"):
            raise ValueError(f"mathverse: prompt must be 'cot' or 'wo', got {prompt!r}")
        self.prompt = prompt
        self.versions = parse_versions(versions)

    def rows(self, files):
        if "text-only" in self.versions and self.layout.name != "vlmevalkit":
            files = files + [f.with_name(f.name.replace("testmini", "testmini_text_only")) for f in files
                             if f.with_name(f.name.replace("testmini", "testmini_text_only")).is_file()]
        for f in files:
            self.use_file(f)
            for i, row in enumerate(read_table(f)):
                version = VERSIONS.get(str(row.get("problem_version") or ""))
                if version is not None and version not in self.versions:
                    continue
                sid = row.get("sample_index") if not is_missing(row.get("sample_index")) else row.get("index")
                yield (str(sid) if not is_missing(sid) else f"{f.name}:{i}"), row

    def to_record(self, row_id, row):
        raw_version = text(row, "problem_version")
        if raw_version not in VERSIONS:
            raise BadRow(f"unknown problem_version {raw_version!r}")
        version = VERSIONS[raw_version]
        answer = text(row, "answer").strip()
        question = "" if is_missing(row.get("question")) else str(row["question"])
        full_q = str(row.get("question_for_eval") or question)
        qtype = row.get("question_type")
        if is_missing(qtype):  # the TSV has no question_type: a letter answer with options in the question
            qtype = "multi-choice" if len(answer) == 1 and answer.isalpha() else "free-form"
        if version == "text-only" and is_missing(row.get("image")):
            images = []
        else:
            images = [self.image(row.get("image"))]
        md = row.get("metadata") or {}
        if isinstance(md, str):
            try:
                md = ast.literal_eval(md)
            except (ValueError, SyntaxError):
                raise BadRow(f"metadata {md[:80]!r} is not a dict literal") from None
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
        query_cot, query_wo = row.get("query_cot"), row.get("query_wo")
        if self.layout.name == "vlmevalkit" and is_missing(query_wo):
            query_wo = question  # VLMEvalKit sends the question column when not asked for CoT
        if is_missing(query_cot if self.prompt == "cot" else query_wo):
            raise BadRow(f"field {'query_cot' if self.prompt == 'cot' else 'query_wo'!r} is missing")
        # testmini_text_only.json numbers its samples from 1 again: keep its ids apart from the main file's
        sid = ("text-only-" if version == "text-only" else "") + str(row.get("sample_index") or row_id)
        meta = {"sample_index": sid, "problem_index": str(row.get("problem_index") or ""), "version": version,
                "question_type": qtype, "subject": md.get("subject"), "subfield": md.get("subfield"),
                "source": md.get("source"), "query_cot": query_cot, "query_wo": query_wo, "n_choices": len(choices),
                "question_for_eval": full_q}
        return self.make_record(sid, images=images, problem=question or full_q or str(query_cot or query_wo),
                                answer=answer, answer_type=rec_type, choices=choices, task_type=version,
                                domain=str(md.get("subject") or ""), meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["meta"]["query_cot" if self.prompt == "cot" else "query_wo"])

    def judge_one(self, record, response):
        if record["meta"]["question_type"] == "multi-choice":
            letter = choice_answer(response, record["choices"])
            return {"correct": letter == record["answer"], "extracted": letter}
        return {"correct": grade(response, record["answer"], record["answer_type"]),
                "extracted": extract_answer(response)}

    def free_form(self, record):
        return record["meta"]["question_type"] == "free-form"
