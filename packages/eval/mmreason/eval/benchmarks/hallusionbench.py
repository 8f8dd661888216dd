"""HallusionBench (Guan et al., 2024): yes/no questions, aAcc / fAcc / qAcc.

Release: tianyi-lab/HallusionBench `HallusionBench.json` (category VD|VS, subcategory, visual_input
"0"|"1"|"2", set_id, figure_id, sample_note, question_id, question, gt_answer_details, gt_answer "1"
(yes) | "0" (no), filename) beside the `hallusion_bench/` image folder; rows with visual_input "0"
have no image.
Prompt: the question itself (the official benchmark sends it as is).
Scoring: tianyi-lab/HallusionBench utils.py — aAcc = per-question accuracy; fAcc = fraction of figures
(category, subcategory, set_id, figure_id; VS questions without a figure excluded) with every
question right (get_eval_fig); qAcc = fraction of question groups (category, subcategory, set_id,
question_id) with every figure variant right (get_eval_pair_all); Easy / Hard aAcc = aAcc on the
original (figure_id 0) / edited figures. The official correctness comes from a
GPT-4 judge; here it is VLMEvalKit's rule (Hallusion_rating / YOrN_Extraction): the answer is "yes" or
"no" when exactly one of the words occurs in the extracted final answer (else the whole response).
"""

from __future__ import annotations

from .. import metrics
from ..rules import extract_answer, yes_no
from .base import BadRow, Benchmark, find_files, load_image, read_table, text
from .registry import register_benchmark


@register_benchmark("hallusionbench")
class HallusionBench(Benchmark):
    release = "HallusionBench.json + hallusion_bench/ images (https://github.com/tianyi-lab/HallusionBench)"
    breakdown_fields = ("category", "subcategory")

    def rows(self, path):
        for f in find_files(path, ("HallusionBench.json", "*.json")):
            for i, row in enumerate(read_table(f)):
                rid = "_".join(str(row.get(k, "")) for k in ("category", "subcategory", "set_id", "figure_id",
                                                              "question_id"))
                yield rid if rid.count("_") == 4 and "__" not in rid else f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        cat, sub = text(row, "category"), text(row, "subcategory")
        set_id, fig_id, q_id = (text(row, k) for k in ("set_id", "figure_id", "question_id"))
        question, gt = text(row, "question"), text(row, "gt_answer").strip()
        if gt not in ("0", "1"):
            raise BadRow(f"gt_answer {gt!r} is not '0' (no) or '1' (yes)")
        visual = str(row.get("visual_input", "1")).strip()
        if visual == "0":
            images = []
        else:
            fn = row.get("filename") or f"hallusion_bench/{cat}/{sub}/{set_id}_{fig_id}.png"
            images = [load_image(fn, self.root)]
        meta = {"category": cat, "subcategory": sub, "set_id": set_id, "figure_id": fig_id, "question_id": q_id,
                "visual_input": visual, "gt_answer_details": row.get("gt_answer_details")}
        return self.make_record(f"{cat}_{sub}_{set_id}_{fig_id}_{q_id}", images=images, problem=question,
                                answer="yes" if gt == "1" else "no", answer_type="boolean", task_type=cat,
                                domain=sub, meta=meta)

    def judge_one(self, record, response):
        ext = extract_answer(response)
        yn = yes_no(ext) if ext else None
        if yn is None:
            yn = yes_no(response)
        return {"correct": yn == record["answer"], "extracted": yn}

    def free_form(self, record):
        return False

    @staticmethod
    def acc3(records, flags) -> dict[str, float]:
        """aAcc, fAcc, qAcc of a set of questions."""
        fig = [(r, ok) for r, ok in zip(records, flags)
               if not (r["meta"]["category"] == "VS" and r["meta"]["figure_id"] == "0")]
        fkey = lambda m: (m["category"], m["subcategory"], m["set_id"], m["figure_id"])  # noqa: E731
        qkey = lambda m: (m["category"], m["subcategory"], m["set_id"], m["question_id"])  # noqa: E731
        return {
            "aAcc": metrics.accuracy(flags),
            "fAcc": metrics.all_correct_rate([fkey(r["meta"]) for r, _ in fig], [ok for _, ok in fig]),
            "qAcc": metrics.all_correct_rate([qkey(r["meta"]) for r in records], flags),
        }

    def aggregate(self, records, flags):
        out = super().aggregate(records, flags)
        out["metrics"] = self.acc3(records, flags)
        out["overall"] = out["metrics"]["aAcc"]
        # Easy / Hard question accuracy of the leaderboard: original figure (figure_id 0) vs edited figures
        out["breakdowns"]["aAcc_by_difficulty"] = metrics.group_accuracy(
            ["easy" if r["meta"]["figure_id"] == "0" else "hard" for r in records], flags)
        for cat in sorted({r["meta"]["category"] for r in records}):
            sub = [(r, ok) for r, ok in zip(records, flags) if r["meta"]["category"] == cat]
            for k, v in self.acc3([r for r, _ in sub], [ok for _, ok in sub]).items():
                out["breakdowns"].setdefault(f"{k}_by_category", {})[cat] = v
        return out
