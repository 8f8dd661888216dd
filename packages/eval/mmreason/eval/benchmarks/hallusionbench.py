"""HallusionBench (Guan et al., 2024): yes/no questions, aAcc / fAcc / qAcc and Easy / Hard.

Accepted layouts (checked 2026-12-03), tried in this order:
- github: tianyi-lab/HallusionBench HallusionBench.json (list of category VD|VS, subcategory, visual_input
  "0"|"1"|"2", set_id, figure_id, sample_note, question_id, question, gt_answer_details, gt_answer "1" (yes)
  | "0" (no), filename like "./VD/illusion/0_0.png" or null) with the images of hallusion_bench.zip
  (unzipped as hallusion_bench/, or left zipped); rows with visual_input "0" have no image.
- hf: lmms-lab/HallusionBench (lmms-eval's copy) data/image-00000-of-00001.parquet and
  data/non_image-00000-of-00001.parquet: the same fields as strings plus image (image).
- vlmevalkit: VLMEvalKit `HallusionBench.tsv` (the 951 image questions): index, image (base64), question,
  answer (Yes | No), category, l2-category. vlmeval/dataset/utils/yorn.py Hallusion_rating reads set_id,
  figure_id and question_id as the index's "_"-separated parts 3, 4 and 5; here the subcategory is
  `l2-category`, VD/VS is `category` (else the index's first part), and visual_input, which the TSV lacks,
  is derived as in the JSON for all but 8 rows: "1" for the original figure (VD figure 0, VS figure 1),
  else "2".
Prompt: the question itself (the official benchmark and lmms-eval send it as is).
Scoring: tianyi-lab/HallusionBench utils.py (and lmms-eval hallusion_bench/evaluate_hb.py). The official
correctness comes from a GPT-4 judge ("correct" / "incorrect" / "unclear", assign_correctness: for VS
questions without a figure "unclear" also counts as correct); here it is VLMEvalKit's rule
(YOrN_Extraction): the answer is "yes" or "no" when exactly one of the words occurs in the extracted
final answer (else the whole response), and for VS questions without a figure an answer that is neither
counts as correct. aAcc = per-question accuracy (get_eval_all); fAcc = fraction of figures (category,
subcategory, set_id, figure_id; VS questions without a figure excluded) with every question right
(get_eval_fig); qAcc = fraction of question groups (category, subcategory, set_id, question_id) with
every figure variant right (get_eval_pair_all); Easy / Hard = the same all-correct rate over the groups
restricted to visual_input "0"/"1" (easy) or "2" (hard, edited figures) (get_eval_pair_easy/_hard).
"""

from __future__ import annotations

from .. import metrics
from ..rules import extract_answer, yes_no
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, text

GOLD = {"1": "yes", "0": "no", "yes": "yes", "no": "no"}
VERDICT_PROMPT = """You are a careful teacher. Read the question, the reference answer and the predicted answer. If the prediction does not conflict with the reference answer, reply "correct"; if it conflicts with it, reply "incorrect"; if the prediction is unclear about the answer, reply "unclear".

Question: {question}
Reference answer: {reference}
Prediction answer: {response}
Output:"""
YORN_PROMPT = """Match an answer to the options of a yes/no question. Given the question and the answer, reply with the option (Yes or No) the answer means; if it means neither, reply Unknown. Reply with one word: Yes, No or Unknown.

Example 1
Question: Is the word in this image 'Hello'?
Answer: The word in this image is 'Hello'.
Your output: Yes

Example 2
Question: Is the word in this image 'Hello'?
Answer: The word in this image is not 'Hello'.
Your output: No

Question: {question}
Answer: {response}
Your output:"""


@register_benchmark("hallusionbench")
class HallusionBench(Benchmark):
    release = ("HallusionBench: GitHub HallusionBench.json + hallusion_bench/ images (or the zip), lmms-lab's "
               "data/image-*.parquet, or VLMEvalKit's HallusionBench.tsv")
    breakdown_fields = ("category", "subcategory")
    layouts = (
        Layout("github", "tianyi-lab/HallusionBench HallusionBench.json + hallusion_bench/", ("HallusionBench.json",)),
        Layout("hf", "lmms-lab/HallusionBench data/{image,non_image}-*.parquet",
               ("data/image-*.parquet", "data/*image-*.parquet", "*image-*.parquet")),
        Layout("vlmevalkit", "VLMEvalKit HallusionBench.tsv", ("HallusionBench.tsv", "HallusionBench*.tsv")),
    )

    def rows(self, files):
        if self.layout.name == "hf":  # the image split and the non_image split
            files = sorted({*files, *(f.parent / f.name.replace("image-", "non_image-", 1) for f in files
                                      if not f.name.startswith("non_image")
                                      and (f.parent / f.name.replace("image-", "non_image-", 1)).is_file())})
        yield from super().rows(files)

    def row_id(self, row, f, i):
        if not is_missing(row.get("index")):
            return str(row["index"])
        parts = [str(row.get(k, "")) for k in ("category", "subcategory", "set_id", "figure_id", "question_id")]
        return "_".join(parts) if all(parts) else f"{f.name}:{i}"

    def fields(self, row_id: str, row: dict) -> dict:
        """category, subcategory, visual_input, set_id, figure_id, question_id, gold for any layout."""
        if self.layout.name != "vlmevalkit":
            out = {k: text(row, k) for k in ("category", "subcategory", "visual_input", "set_id", "figure_id",
                                              "question_id")}
            out["gold"] = GOLD.get(text(row, "gt_answer").strip())
            if out["gold"] is None:
                raise BadRow(f"gt_answer {row['gt_answer']!r} is not '0' (no) or '1' (yes)")
            return out
        parts = row_id.split("_")
        if len(parts) < 6:
            raise BadRow(f"index {row_id!r} does not hold set_id, figure_id and question_id (parts 3-5)")
        cat = str(row.get("category") or "")
        cat = cat if cat in ("VD", "VS") else parts[0]
        if cat not in ("VD", "VS"):
            raise BadRow(f"category {cat!r} is neither VD nor VS")
        fig = parts[4]
        original = (cat == "VD" and fig == "0") or (cat == "VS" and fig == "1")
        gold = GOLD.get(text(row, "answer").strip().lower())
        if gold is None:
            raise BadRow(f"answer {row['answer']!r} is not Yes or No")
        return {"category": cat, "subcategory": text(row, "l2-category"), "visual_input": "1" if original else "2",
                "set_id": parts[3], "figure_id": fig, "question_id": parts[5], "gold": gold}

    def to_record(self, row_id, row):
        f = self.fields(row_id, row)
        question = text(row, "question")
        if f["visual_input"] == "0":
            images = []
        elif self.layout.name == "github":
            fn = row.get("filename") or f"./{f['category']}/{f['subcategory']}/{f['set_id']}_{f['figure_id']}.png"
            rel = fn[2:] if fn.startswith("./") else fn
            found = self.images.find(rel) or self.images.find(f"hallusion_bench/{rel}")
            if found is None:
                raise BadRow(f"image {fn!r} not found in {self.images.describe()} or their hallusion_bench/ "
                             "(unzip hallusion_bench.zip there, or leave the zip beside HallusionBench.json)")
            images = [self.image(found)]
        else:
            images = [self.image(row.get("image"))]
        meta = {k: f[k] for k in ("category", "subcategory", "set_id", "figure_id", "question_id", "visual_input")}
        meta["gt_answer_details"] = row.get("gt_answer_details")
        rid = "_".join(f[k] for k in ("category", "subcategory", "set_id", "figure_id", "question_id"))
        return self.make_record(rid, images=images, problem=question, answer=f["gold"], answer_type="boolean",
                                task_type=f["category"], domain=f["subcategory"], meta=meta)

    def judge_one(self, record, response):
        ext = extract_answer(response)
        yn = yes_no(ext) if ext else None
        if yn is None:
            yn = yes_no(response)
        m = record["meta"]
        if yn is None and m["category"] == "VS" and m["figure_id"] == "0":
            return {"correct": True, "extracted": "unclear"}  # assign_correctness: "unclear" is right without a figure
        return {"correct": yn == record["answer"], "extracted": yn}

    def free_form(self, record):
        return True  # the official correctness is a GPT judgement of every answer

    def judge_prompt(self, record, response):
        """utils.py evaluate_by_chatgpt's task: compare the prediction with the reference answer details."""
        return VERDICT_PROMPT.format(question=record["problem"], reference=record["meta"].get("gt_answer_details")
                                     or record["answer"], response=response)

    def parse_judgement(self, record, reply):
        """evaluate_by_chatgpt: "incorrect" -> 0, else "correct" -> 1, else unclear (2); assign_correctness
        counts unclear as right only for VS questions without a figure."""
        r = (reply or "").lower()
        if "incorrect" in r:
            return False
        if "correct" in r:
            return True
        return record["meta"]["category"] == "VS" and record["meta"]["figure_id"] == "0"

    def extraction_prompt(self, record, response):
        """VLMEvalKit YOrN_match_prompt's task: map the answer to Yes, No or Unknown."""
        return YORN_PROMPT.format(question=record["problem"], response=response)

    @staticmethod
    def acc3(records, flags) -> dict[str, float]:
        """aAcc, fAcc, qAcc, Easy, Hard of a set of questions (utils.py get_eval_all / _fig / _pair_*)."""
        qkey = lambda m: (m["category"], m["subcategory"], m["set_id"], m["question_id"])  # noqa: E731
        fkey = lambda m: (m["category"], m["subcategory"], m["set_id"], m["figure_id"])  # noqa: E731
        fig = [(r["meta"], ok) for r, ok in zip(records, flags)
               if not (r["meta"]["category"] == "VS" and r["meta"]["figure_id"] == "0")]
        easy = [(r["meta"], ok) for r, ok in zip(records, flags) if r["meta"]["visual_input"] != "2"]
        hard = [(r["meta"], ok) for r, ok in zip(records, flags) if r["meta"]["visual_input"] == "2"]
        rate = lambda pairs, key: metrics.all_correct_rate([key(m) for m, _ in pairs], [ok for _, ok in pairs])  # noqa: E731
        return {
            "aAcc": metrics.accuracy(flags),
            "fAcc": rate(fig, fkey),
            "qAcc": metrics.all_correct_rate([qkey(r["meta"]) for r in records], flags),
            "easy": rate(easy, qkey),
            "hard": rate(hard, qkey),
        }

    def aggregate(self, records, flags):
        out = super().aggregate(records, flags)
        out["metrics"] = self.acc3(records, flags)
        out["overall"] = out["metrics"]["aAcc"]
        for cat in sorted({r["meta"]["category"] for r in records}):
            sub = [(r, ok) for r, ok in zip(records, flags) if r["meta"]["category"] == cat]
            for k, v in self.acc3([r for r, _ in sub], [ok for _, ok in sub]).items():
                out["breakdowns"].setdefault(f"{k}_by_category", {})[cat] = v
        return out
