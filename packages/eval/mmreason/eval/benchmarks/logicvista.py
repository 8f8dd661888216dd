"""LogicVista (Xiao et al., 2024).

Accepted layouts (checked 2026-12-03), tried in this order:
- github: Yijia-Xiao/LogicVista data/dataset.json ({id: {imagename, question, answer, reasoning, skill,
  broad_capability, specific_capability, imagesource, sourcelink, liscenced}}; data/README.md names the
  capability field `capability`, which is also read) with the images in data/images/ ("images/" +
  imagename, relative to the JSON's folder). Answers are option labels, sometimes several ("B, D") or a
  digit ("3"); one row has an empty answer and is skipped.
- vlmevalkit: VLMEvalKit `LogicVista.tsv`: index, image (base64), question, answer (labels joined by ", "),
  skill — the columns vlmeval/dataset/utils/logicvista.py (LogicVista_auxeval, evaluate_logicvista) reads.
Prompt: the question as released (the options are in the image), as VLMEvalKit sends it.
Scoring: correct when the set of chosen labels equals the gold set (VLMEvalKit LogicVista_auxeval sorts
and compares the letters an LLM extracted). Here the labels are read by `rules.stated_labels` from the
extracted final answer, else the last line: a label list ("A, C"), or the labels right after "answer
is" / "option" / "pick" / "select" — only stated labels, so "So I pick option B" is {B} and "The answer is
B because 3 squares" is {B}. Digits count as labels only for questions whose gold answer is a digit.
`eval.judge` with `protocol: extract` asks an LLM for the chosen letters as VLMEvalKit does. Breakdowns
by reasoning skill and broad capability (multi-label).
"""

from __future__ import annotations

import re

from ..rules import extract_answer, letter_set, stated_labels
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, literal_list, text

LETTERS_PROMPT = """You extract the multiple-choice letters an answer chose. Read the question and the answer; reply with only the letters the answer selected (several letters when it selected several, e.g. AC). If it selected no letter, infer the choice from the given options if you can; if it corresponds to no option or selects nothing, reply Z.

Example 1
Question: What is the main object in the image? Options: A. teddy bear B. rabbit C. cat D. dog
Answer: a cute teddy bear
Your output: A

Example 2
Question: Which figure is a rotation of the object?
Answer: The figure on the right, labeled "D," is a rotation of the object.
Your output: D

Question: {question}
Answer: {response}
Your output:"""


def _labels(v) -> list[str]:
    """A JSON list, a TSV list literal ("['inductive']") or a single name."""
    if is_missing(v):
        return []
    if isinstance(v, str):
        return [str(x) for x in literal_list(v, "label list")] if v.strip().startswith("[") else [v]
    return [str(x) for x in v]


def chosen_labels(response: str, digits: bool) -> frozenset[str]:
    """The labels a response states: in its extracted final answer, else on its last line."""
    ext = extract_answer(response or "")
    got = stated_labels(ext, digits) if ext else frozenset()
    if not got:
        lines = [ln for ln in (response or "").strip().splitlines() if ln.strip()]
        got = stated_labels(lines[-1], digits) if lines else frozenset()
    return got


@register_benchmark("logicvista")
class LogicVista(Benchmark):
    release = "LogicVista: GitHub data/dataset.json + data/images/, or VLMEvalKit's LogicVista.tsv"
    breakdown_fields = ("skill", "capability")
    layouts = (
        Layout("github", "Yijia-Xiao/LogicVista data/dataset.json + data/images/", ("data/dataset.json", "dataset.json")),
        Layout("vlmevalkit", "VLMEvalKit LogicVista.tsv", ("LogicVista.tsv", "LogicVista*.tsv")),
    )

    def row_id(self, row, f, i):
        rid = row.get("_key") or row.get("index")
        return str(rid) if not is_missing(rid) else f"{f.name}:{i}"

    def to_record(self, row_id, row):
        question, answer = text(row, "question"), text(row, "answer")
        gold = letter_set(answer)
        if not gold:
            raise BadRow(f"answer {answer!r} names no option label")
        if self.layout.name == "vlmevalkit":
            image = self.image(row.get("image"))
        else:
            image = self.image("images/" + text(row, "imagename"))
        skill = _labels(row.get("skill"))
        capability = _labels(row.get("broad_capability") if "broad_capability" in row else row.get("capability"))
        meta = {"skill": skill, "capability": capability, "gold": sorted(gold)}
        return self.make_record(row_id, images=[image], problem=question, answer=", ".join(sorted(gold)),
                                answer_type="text", task_type="/".join(skill),
                                domain=str(row.get("imagesource") or ""), meta=meta)

    def judge_one(self, record, response):
        gold = frozenset(record["meta"]["gold"])
        got = chosen_labels(response, digits=any(g.isdigit() for g in gold))
        return {"correct": got == gold, "extracted": ", ".join(sorted(got)) or None}

    def free_form(self, record):
        return True

    def extraction_prompt(self, record, response):
        """VLMEvalKit build_prompt_logicvista's task: the letters the answer chose, Z when none."""
        return LETTERS_PROMPT.format(question=record["problem"], response=response)

    def judge_extracted(self, record, extracted):
        """The extractor answers with the chosen letters only ("AC"); VLMEvalKit sorts and compares them."""
        s = extracted.strip().upper()
        gold = frozenset(record["meta"]["gold"])
        if re.fullmatch(r"[A-J1-9](?:\s*[,、&]?\s*[A-J1-9])*", s):
            return frozenset(re.findall(r"[A-J1-9]", s)) == gold
        return s != "Z" and chosen_labels(extracted, any(g.isdigit() for g in gold)) == gold
