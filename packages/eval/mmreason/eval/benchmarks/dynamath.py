"""DynaMath (Zou et al., 2025): average-case and worst-case accuracy over generated variants.

Accepted layouts (checked 2026-12-03), tried in this order:
- hf: the HF snapshot of `DynaMath/DynaMath_Sample`: data/sample1-00000-of-00001.parquet,
  data/sample2-00000-of-00002.parquet, …, data/sample10-00000-of-00010.parquet (README configs: split
  sample_variant{k} = data/sample{k}-*; the variant is in the file name only). Columns (README
  dataset_info): id (the seed question), question, image (str), decoded_image (image), ground_truth,
  answer_type (float | multiple choice | text), subject, knowledge_level.
- hf-mirror: the same columns as data/sample_variant{k}-*.parquet (e.g. lscpku/DynaMath_Sample).
- vlmevalkit: VLMEvalKit `DynaMath.tsv`: index, image (base64), question, answer, answer_type, subject,
  knowledge_level, qid, varid — the columns vlmeval/dataset/dynamath.py (build_prompt, evaluate) reads.
Prompt: DynaMath/DynaMath evaluation/opensource_json_eval.py ("## Question\\n…", "Please answer in a
floating-point number." for floats, then the JSON answer guide and example).
Scoring: the same script — the "short answer" of the JSON reply (else the last line); float: correct if
|answer − truth| ≤ 0.001 (π allowed, `transfer`); multiple choice: the letter equals the truth (or the
truth is in its first 3 characters); text: the truth is a substring of the answer. When the reply is
not JSON, `core.grading.extract_answer` is tried before the last line.
Average case = accuracy over all variants; worst case (VLMEvalKit dynamath.py, the paper's definition) =
fraction of seed questions answered correctly in every variant. Both are broken down by subject and level.
"""

from __future__ import annotations

import json
import re

from .. import metrics
from ..rules import extract_answer, to_float
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, MissingDataError, is_missing, read_table, text

# opensource_json_eval.py `guide`, byte for byte (its lines end in a space)
GUIDE = (
    "\n## Answer Instruction Please provide an answer to the question outlined above. Your response should adhere \n"
    "to the following JSON format, which includes two keys: 'solution' and 'short answer'. The 'solution' key can "
    "contain \ndetailed steps needed to solve the question, and the 'short answer' key should provide a concise "
    "response. If the problem is a multiple choice problem, just provide the corresponing choice option, \n"
    "such as 'A', 'B', 'C', or 'D'. If the answer is a numerical value, format it as a three-digit floating-point "
    "number.\n\nExample of expected JSON response format:\n\n"
)
EXAMPLE = json.dumps({"solution": "[Detailed step-by-step explanation]", "short answer": "[Concise Answer]"}, indent=4)
TYPES = {"float": "number", "multiple choice": "text", "text": "text"}


def short_answer(response: str) -> str:
    """The 'short answer' of a JSON reply (opensource_json_eval.preprocess + json.loads), else the extracted
    final answer, else the last line."""
    r = response or ""
    i, j = r.find("{"), r.rfind("}")
    if 0 <= i < j:
        try:
            dj = json.loads(r[i: j + 1].replace("\\", ""), strict=False)
            if isinstance(dj, dict) and dj.get("short answer") is not None:
                return str(dj["short answer"]).strip()
        except json.JSONDecodeError:
            pass
    ext = extract_answer(r)
    if ext:
        return ext.strip()
    lines = [ln for ln in r.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def dynamath_correct(answer: str, truth: str, answer_type: str) -> bool:
    """opensource_json_eval.py: float within 0.001, choice letter, or text containment."""
    if answer_type == "float":
        got, want = to_float(answer), to_float(truth)
        if got is None and " " in answer.strip():  # "2.094 units": the official script keeps the first word
            got = to_float(answer.strip().split(" ")[0])
        return got is not None and want is not None and abs(got - want) <= 0.001
    if answer_type == "multiple choice":
        a = answer.strip().strip("()")
        return a == truth if len(a) == 1 else truth in answer[0:3]
    return truth in answer


VARIANT = re.compile(r"sample(?:_variant)?(\d+)-")


@register_benchmark("dynamath")
class DynaMath(Benchmark):
    release = ("DynaMath: the HF DynaMath/DynaMath_Sample snapshot (data/sample{1..10}-*.parquet) or VLMEvalKit's "
               "DynaMath.tsv")
    breakdown_fields = ("subject", "level")
    layouts = (
        Layout("hf", "HF DynaMath/DynaMath_Sample data/sample{k}-0000x-of-0000k.parquet",
               ("data/sample[0-9]*-*.parquet", "sample[0-9]*-*.parquet")),
        Layout("hf-mirror", "data/sample_variant{k}-*.parquet", ("data/sample_variant*-*.parquet",
                                                                  "sample_variant*-*.parquet")),
        Layout("vlmevalkit", "VLMEvalKit DynaMath.tsv", ("DynaMath.tsv", "DynaMath*.tsv")),
    )

    def rows(self, files):
        for f in files:
            self.use_file(f)
            m = VARIANT.search(f.name)
            if self.layout.name != "vlmevalkit" and m is None:
                raise MissingDataError(f"dynamath: {f} does not name its variant (sample<k>-…)")
            for i, row in enumerate(read_table(f)):
                if m is not None:
                    row["varid"] = int(m.group(1))
                    row["qid"] = row.get("id")
                qid, var = row.get("qid"), row.get("varid")
                yield (f"{qid}-v{var}" if not is_missing(qid) and not is_missing(var) else f"{f.name}:{i}"), row

    def to_record(self, row_id, row):
        qid, varid = row.get("qid"), row.get("varid")
        if is_missing(qid) or is_missing(varid):
            raise BadRow("row has no seed question id (id / qid) or variant id (file name / varid)")
        try:
            qid, varid = str(qid), int(varid)
        except ValueError:
            raise BadRow(f"varid {varid!r} is not an integer") from None
        question = text(row, "question")
        truth = row.get("ground_truth") if not is_missing(row.get("ground_truth")) else row.get("answer")
        if is_missing(truth):
            raise BadRow("field 'ground_truth' (or 'answer') is missing or empty")
        truth = str(truth).strip()
        atype = text(row, "answer_type")
        if atype not in TYPES:
            raise BadRow(f"unknown answer_type {atype!r}")
        if atype == "float" and to_float(truth) is None:
            raise BadRow(f"float ground truth {truth!r} is not a number")
        if atype == "multiple choice" and (len(truth) != 1 or not truth.isalpha()):
            raise BadRow(f"multiple-choice ground truth {truth!r} is not an option letter")
        image = self.image(row.get("decoded_image") or row.get("image"))
        level = row.get("knowledge_level") or row.get("level")
        meta = {"qid": qid, "varid": varid, "dynamath_type": atype, "subject": row.get("subject"), "level": level}
        return self.make_record(f"{qid}-v{varid}", images=[image], problem=question, answer=truth,
                                answer_type=TYPES[atype], task_type=atype, domain=str(row.get("subject") or ""),
                                meta=meta)

    def build_prompt(self, record):
        q = "## Question\n" + record["problem"]
        if record["meta"]["dynamath_type"] == "float":
            q += "Please answer in a floating-point number."
        return self.with_suffix(q + GUIDE + EXAMPLE)

    def judge_one(self, record, response):
        ans = short_answer(response)
        return {"correct": dynamath_correct(ans, record["answer"], record["meta"]["dynamath_type"]), "extracted": ans}

    def free_form(self, record):
        return record["meta"]["dynamath_type"] != "multiple choice"

    def extraction_prompt(self, record, response):
        """VLMEvalKit DynaMath_auxeval: format the free-form answer into the short answer its type needs."""
        inst = {"multiple choice": "Output the corresponding choice option, such as 'A', 'B', 'C', 'D', in a single line.",
                "float": "Output a three-digit floating-point number in a single line."}.get(
            record["meta"]["dynamath_type"],
            "Output a short answer in a single line. Any float numbers in the answer should be formatted as "
            "three-digit floating-point numbers.")
        return f"Free-form answer: {response}\nInstruction: {inst}"

    def judge_extracted(self, record, extracted):
        return dynamath_correct(extracted.strip(), record["answer"], record["meta"]["dynamath_type"])

    def aggregate(self, records, flags):
        out = super().aggregate(records, flags)
        qids = [r["meta"]["qid"] for r in records]
        worst = metrics.group_all_correct(qids, flags)
        first = {}
        for r in records:  # one row per seed question for the worst-case breakdowns
            first.setdefault(r["meta"]["qid"], r["meta"])
        wq = list(worst)
        wflags = [worst[q] for q in wq]
        out["metrics"] = {"average_case": out["overall"], "worst_case": metrics.accuracy(wflags),
                          "n_questions": len(wq)}
        out["breakdowns"]["subject_worst"] = metrics.group_accuracy([first[q]["subject"] for q in wq], wflags)
        out["breakdowns"]["level_worst"] = metrics.group_accuracy([first[q]["level"] for q in wq], wflags)
        return out
