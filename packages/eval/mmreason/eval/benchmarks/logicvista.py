"""LogicVista (Xiao et al., 2024).

Release: Yijia-Xiao/LogicVista `data/dataset.json` ({id: {imagename, question, answer, reasoning, skill,
capability, imagesource, sourcelink}}) beside `data/images/`. Answers are option labels, sometimes
several ("A, C") or digits ("3").
Prompt: the question as released (the options are in the image); LogicVista's evaluation asks the model
the raw question and has an LLM extract the chosen options.
Scoring: LogicVista's rule — correct when the set of chosen labels equals the gold set — applied to the
labels of the extracted final answer (`core.grading.extract_answer`, else the last line); the LLM
extraction step is replaced by that rule (the official extraction prompt was not available; documented
rule implemented). Breakdowns by reasoning skill and capability (multi-label).
"""

from __future__ import annotations

from ..rules import final_answer, letter_set
from .base import BadRow, Benchmark, find_files, load_image, read_table, text
from .registry import register_benchmark


@register_benchmark("logicvista")
class LogicVista(Benchmark):
    release = "LogicVista data/dataset.json + data/images/ (https://github.com/Yijia-Xiao/LogicVista)"
    breakdown_fields = ("skill", "capability")

    def rows(self, path):
        for f in find_files(path, ("dataset.json", "data/dataset.json", "*.json")):
            for i, row in enumerate(read_table(f)):
                yield row.get("_key") or row.get("id") or f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        question, answer = text(row, "question"), text(row, "answer")
        gold = letter_set(answer)
        if not gold:
            raise BadRow(f"answer {answer!r} names no option label")
        image = load_image(row.get("image") or ("images/" + text(row, "imagename")), self.root)
        as_list = lambda v: [v] if isinstance(v, str) else list(v or [])  # noqa: E731
        meta = {"skill": as_list(row.get("skill")), "capability": as_list(row.get("capability")),
                "gold": sorted(gold)}
        return self.make_record(str(row_id), images=[image], problem=question, answer=", ".join(sorted(gold)),
                                answer_type="text", task_type="/".join(meta["skill"]),
                                domain=str(row.get("imagesource") or ""), meta=meta)

    def judge_one(self, record, response):
        ext = final_answer(response)
        got = letter_set(ext)
        return {"correct": got == frozenset(record["meta"]["gold"]), "extracted": ", ".join(sorted(got)) or None}

    def free_form(self, record):
        return True
