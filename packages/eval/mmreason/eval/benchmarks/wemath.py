"""We-Math testmini (Qiao et al., 2024) with its four-dimensional metrics.

Accepted layouts (checked 2026-12-03), tried in this order:
- hf-parquet: the HF snapshot of `We-Math/We-Math`: data/testmini-00000-of-00001-adbfe22dcd3558e6.parquet
  (image embedded in the `image_path` image column, as lmms-eval tasks/wemath reads it), next to
  testmini.json, testmini.zip (the images) and knowledge_structure_nodes.json. Columns: ID, split,
  knowledge concept, question, option, answer, image_path, key, question number (int64), knowledge
  concept description.
- json: testmini.json (HF root, or We-Math/We-Math data/testmini.json): the same columns with `image_path`
  like "2steps/image/1-1.png", relative to the JSON's folder (GitHub data/2steps/…) or read from
  testmini.zip.
- vlmevalkit: VLMEvalKit `WeMath.tsv`: index, image (base64), question, options in the A, B, … columns,
  answer, ID, key, knowledge concept (+ hint, requirement) — the columns vlmeval/dataset/image_mcq.py
  WeMath.build_prompt and utils/wemath.py read.
Prompt: the release's answer template (the "<Thought process>: … <Answer>: …" format the official
extraction expects; VLMEvalKit's WeMath question carries the same requirement). The TSV layout gets
VLMEvalKit's WeMath.build_prompt ("Question: …\\nOptions:\\nA. …").
Scoring: We-Math evaluation/four_dimensional_metrics.py — answer = the first character (if in A–H) of the
text after the last "Answer", with >, <, :, . removed; the steps of a problem share `ID`, `key` is
`{2,3}steps_{1,2,3}` for one-step sub-questions and `{2,3}steps_multi` for the composite question.
IK / IG / CM / RM and the strict/loose scores come from `metrics.wemath_four_dimensional` over the
complete problems present (the official script divides by 525, the number of testmini problems; a
problem whose steps were not all loaded is left out and counted in `n_incomplete_problems`).
evaluation/accuracy.py: S1 = accuracy of the one-step sub-questions, S2/S3 = the composite questions;
the knowledge domains are the `root2` nodes of knowledge_structure_nodes.json (read when it is next to the
data file or at the root): each domain scores the mean, over its knowledge-concept nodes, of that
concept's one-step accuracy. If the official rule finds no letter (a response without the template), the
option letter of the final answer is used instead (`rules.choice_answer`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from .. import metrics
from ..rules import choice_answer, parse_inline_choices
from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, is_missing, option_columns, read_table, text

PROMPT = ("Now, we require you to solve a multiple-choice math question. Please briefly describe your thought "
          "process and provide the final answer(option).\nQuestion: {question}\nOption: {option}\n"
          "Regarding the format, please answer following the template below, and be sure to include two <> "
          "symbols:\n<Thought process>: <<your thought process>> <Answer>: <<your option>>")
NODES_FILE = "knowledge_structure_nodes.json"
KEY = re.compile(r"^([23])steps_(1|2|3|multi)$")


def official_letter(response: str) -> str | None:
    """four_dimensional_metrics.load_and_process_data: processed_answer."""
    s = (response or "").split("Answer")[-1].strip()
    s = re.sub(r"[>><<:.]", "", s).strip()
    return s[0] if s and s[0] in "ABCDEFGH" else None


def vlmeval_prompt(row: dict, options: list[str]) -> str:
    """VLMEvalKit WeMath.build_prompt: optional hint, the question, the options, the requirement (COT)."""
    out = f"Hint: {row['hint']}\n" if not is_missing(row.get("hint")) else ""
    out += f"Question: {row['question']}\n"
    if options:
        out += "Options:\n" + "".join(f"{chr(ord('A') + i)}. {o}\n" for i, o in enumerate(options))
    return out


def concept_domains(nodes: list[dict]) -> dict[str, list[str]]:
    """knowledge concept -> the root2 domain of every node naming it (accuracy.py: final_key is the last
    "_" part of "full node"; the domain is the node's root2)."""
    out: dict[str, list[str]] = defaultdict(list)
    for n in nodes:
        if n.get("full node") and n.get("root2"):
            out[str(n["full node"]).split("_")[-1]].append(str(n["root2"]))
    return out


def domain_scores(concepts: list[str], flags: list[bool], domains: dict[str, list[str]]) -> dict[str, float]:
    """accuracy.py update_main_results_df: per-concept accuracy of the one-step questions, merged onto the
    nodes, then the mean over each root2 domain's nodes (nodes whose concept has no question are left out)."""
    acc = {c: metrics.accuracy(v) for c, v in _group(concepts, flags).items()}
    per_domain: dict[str, list[float]] = defaultdict(list)
    for c, a in acc.items():
        for d in domains.get(c, []):
            per_domain[d].append(a)
    return {d: sum(v) / len(v) for d, v in sorted(per_domain.items())}


def _group(keys, flags) -> dict[str, list[bool]]:
    out: dict[str, list[bool]] = defaultdict(list)
    for k, f in zip(keys, flags):
        out[k].append(bool(f))
    return out


@register_benchmark("wemath")
class WeMath(Benchmark):
    release = ("We-Math testmini: the HF We-Math/We-Math snapshot (data/testmini-*.parquet), testmini.json + images "
               "(folders or testmini.zip), or VLMEvalKit's WeMath.tsv")
    breakdown_fields = ("key",)
    domains: dict[str, list[str]] = {}
    layouts = (
        Layout("hf-parquet", "HF We-Math/We-Math data/testmini-*.parquet", ("data/testmini-*.parquet", "testmini-*.parquet")),
        Layout("json", "testmini.json (HF root or GitHub data/) + images", ("testmini.json", "data/testmini.json")),
        Layout("vlmevalkit", "VLMEvalKit WeMath.tsv", ("WeMath.tsv", "WeMath*.tsv")),
    )

    def rows(self, files):
        self.domains = {}  # knowledge concept -> root2 domains, from knowledge_structure_nodes.json
        for f in files:
            nodes = next((p for p in (f.parent / NODES_FILE, self.root / NODES_FILE, f.parent.parent / NODES_FILE)
                          if p.is_file()), None)
            if nodes is not None:
                self.domains = concept_domains(json.loads(nodes.read_text(encoding="utf-8")))
            self.use_file(f)
            for i, row in enumerate(read_table(f)):
                pid, key = row.get("ID", row.get("id")), row.get("key") or ""
                yield (f"{pid}:{key}" if not is_missing(pid) else f"{f.name}:{i}"), row

    def to_record(self, row_id, row):
        tsv = self.layout.name == "vlmevalkit"
        pid, key = text(row, "ID" if "ID" in row else "id"), text(row, "key", required=False)
        question = text(row, "question")
        answer = text(row, "answer").strip().upper()
        image = self.image(row.get("image") if tsv else row.get("image_path"))
        if tsv:
            choices = option_columns(row)
            option = ";".join(f"{chr(ord('A') + i)}. {c}" for i, c in enumerate(choices))
            prompt = vlmeval_prompt(row, choices)
        else:
            option = text(row, "option")
            choices = parse_inline_choices(option)
            prompt = PROMPT.format(question=question, option=option)
        if len(answer) != 1 or answer not in "ABCDEFGH":
            raise BadRow(f"answer {answer!r} is not an option letter")
        if choices and ord(answer) - ord("A") >= len(choices):
            raise BadRow(f"answer {answer!r} is outside the {len(choices)} options {option!r}")
        m = KEY.match(key)
        concept = str(row.get("knowledge concept") or "")
        meta = {"ID": pid, "key": key or None, "steps": int(m.group(1)) if m else 1,
                "part": m.group(2) if m else None, "knowledge_concept": concept,
                "domains": self.domains.get(concept, []), "prompt": prompt}
        return self.make_record(f"{pid}-{key or 'q'}", images=[image], problem=question, answer=answer,
                                answer_type="choice" if choices else "text", choices=choices,
                                task_type=key, domain=concept, meta=meta)

    def build_prompt(self, record):
        return self.with_suffix(record["meta"]["prompt"])

    def judge_one(self, record, response):
        letter = official_letter(response)
        if letter is None:
            letter = choice_answer(response, record["choices"])
        return {"correct": letter == record["answer"], "extracted": letter}

    def free_form(self, record):
        return False

    def aggregate(self, records, flags):
        out = super().aggregate(records, flags)
        # group the steps of each composite problem by ID (process_steps_data merges on ID)
        groups: dict[tuple[int, str], dict[str, tuple[dict, bool]]] = defaultdict(dict)
        for rec, ok in zip(records, flags):
            m = rec["meta"]
            if m["part"] is not None:
                groups[(m["steps"], m["ID"])][m["part"]] = (m, ok)
        problems, incomplete = [], 0
        one_step, s2, s3 = [], [], []  # one_step: (meta, ok) of the sub-questions of complete problems
        for (steps, _), parts in sorted(groups.items()):
            need = [str(i) for i in range(1, steps + 1)] + ["multi"]
            if any(p not in parts for p in need):
                incomplete += 1  # a step was skipped at load: the problem cannot be classified
                continue
            sub = [parts[str(i)] for i in range(1, steps + 1)]
            problems.append(([ok for _, ok in sub], parts["multi"][1]))
            one_step += sub
            (s2 if steps == 2 else s3).append(parts["multi"][1])
        four = metrics.wemath_four_dimensional(problems)
        out["overall"] = four["score_strict"]
        out["metrics"] = {"accuracy": metrics.accuracy(flags), **four, "n_incomplete_problems": incomplete}
        out["breakdowns"]["steps"] = {"S1": metrics.accuracy([ok for _, ok in one_step]), "S2": metrics.accuracy(s2),
                                      "S3": metrics.accuracy(s3)}
        domains = {m["knowledge_concept"]: m["domains"] for m, _ in one_step if m["domains"]}
        if domains:
            out["breakdowns"]["knowledge_domain"] = domain_scores(
                [m["knowledge_concept"] for m, _ in one_step], [ok for _, ok in one_step], domains)
        out["breakdowns"]["four_dimensional"] = {k: four[k] for k in ("IK", "IG", "CM_strict", "RM_strict",
                                                                      "CM_loose", "RM_loose", "score_strict",
                                                                      "score_loose")}
        return out
