"""We-Math testmini (Qiao et al., 2024) with its four-dimensional metrics.

Release: `testmini.json` (list of rows: ID, split, knowledge concept, question, option, answer,
image_path, key, question number, knowledge concept description) beside the image folders
(`image_path` like "3steps/image/165-3.png"); HF We-Math/We-Math. The parquet of the same columns
(image as bytes) also loads.
Prompt: the one in the We-Math README / VLMEvalKit WeMath (`<Thought process> … <Answer>`).
Scoring: We-Math evaluation/four_dimensional_metrics.py — answer = the first character (if in A–H) of
the text after the last "Answer", with >, <, :, . removed; the steps of a problem share `ID`, `key` is
`{2,3}steps_{1,2,3}` for one-step sub-questions and `{2,3}steps_multi` for the composite question.
IK / IG / CM / RM and the strict/loose scores come from `metrics.wemath_four_dimensional`.
One-/two-/three-step accuracies follow evaluation/accuracy.py (S1 = all sub-questions of 2- and
3-step problems, S2/S3 = the composite questions). If the official rule finds no letter (a response
without the template), the option letter of `core.grading.extract_answer` is used instead.
"""

from __future__ import annotations

import re
from collections import defaultdict

from .. import metrics
from ..rules import choice_letter, extract_answer, parse_inline_choices
from .base import BadRow, Benchmark, find_files, load_image, read_table, text
from .registry import register_benchmark

PROMPT = ("Now, we require you to solve a multiple-choice math question. Please briefly describe your thought "
          "process and provide the final answer(option).\nQuestion: {question}\nOption: {option}\n"
          "Regarding the format, please answer following the template below, and be sure to include two <> "
          "symbols:\n<Thought process>: <<your thought process>> <Answer>: <<your option>>")

KEY = re.compile(r"^([23])steps_(1|2|3|multi)$")


def official_letter(response: str) -> str | None:
    """four_dimensional_metrics.load_and_process_data: processed_answer."""
    s = (response or "").split("Answer")[-1].strip()
    s = re.sub(r"[>><<:.]", "", s).strip()
    return s[0] if s and s[0] in "ABCDEFGH" else None


@register_benchmark("wemath")
class WeMath(Benchmark):
    release = "We-Math testmini.json + its image folders (https://huggingface.co/datasets/We-Math/We-Math)"
    breakdown_fields = ("key", "knowledge_concept")

    def rows(self, path):
        files = find_files(path, ("testmini.json", "data/testmini.json", "testmini*.parquet", "**/testmini*.parquet",
                                  "*.json", "*.parquet"))
        for f in files:
            for i, row in enumerate(read_table(f)):
                key = row.get("key") or ""
                yield f"{row.get('ID', i)}:{key}" if row.get("ID") else f"{f.stem}:{i}", row

    def to_record(self, row_id, row):
        pid, key = text(row, "ID"), text(row, "key", required=False)
        question, option = text(row, "question"), text(row, "option")
        answer = text(row, "answer").strip().upper()
        image = load_image(row.get("image") or row.get("image_path"), self.root)
        choices = parse_inline_choices(option)
        if len(answer) != 1 or answer not in "ABCDEFGH":
            raise BadRow(f"answer {answer!r} is not an option letter")
        if choices and ord(answer) - ord("A") >= len(choices):
            raise BadRow(f"answer {answer!r} is outside the {len(choices)} options {option!r}")
        m = KEY.match(key)
        meta = {"ID": pid, "key": key or None, "steps": int(m.group(1)) if m else 1,
                "part": m.group(2) if m else None, "knowledge_concept": row.get("knowledge concept"),
                "question": question, "option": option}
        return self.make_record(f"{pid}-{key or 'q'}", images=[image], problem=question, answer=answer,
                                answer_type="choice" if choices else "text", choices=choices,
                                task_type=key, domain=str(row.get("knowledge concept") or ""), meta=meta)

    def build_prompt(self, record):
        m = record["meta"]
        return self.with_suffix(PROMPT.format(question=m["question"], option=m["option"]))

    def judge_one(self, record, response):
        letter = official_letter(response)
        if letter is None:
            ext = extract_answer(response)
            letter = choice_letter(ext) if ext else choice_letter(response)
        return {"correct": letter == record["answer"], "extracted": letter}

    def free_form(self, record):
        return False

    def aggregate(self, records, flags):
        out = super().aggregate(records, flags)
        # group the steps of each composite problem by ID (process_steps_data merges on ID)
        groups: dict[tuple[int, str], dict[str, bool]] = defaultdict(dict)
        for rec, ok in zip(records, flags):
            m = rec["meta"]
            if m["part"] is not None:
                groups[(m["steps"], m["ID"])][m["part"]] = ok
        problems, incomplete = [], 0
        steps_flags, s2, s3 = [], [], []
        for (steps, _), parts in sorted(groups.items()):
            need = [str(i) for i in range(1, steps + 1)] + ["multi"]
            if any(p not in parts for p in need):
                incomplete += 1  # a step was skipped at load: the problem cannot be classified
                continue
            sub = [parts[str(i)] for i in range(1, steps + 1)]
            problems.append((sub, parts["multi"]))
            steps_flags += sub
            (s2 if steps == 2 else s3).append(parts["multi"])
        four = metrics.wemath_four_dimensional(problems)
        out["overall"] = four["score_strict"]
        out["metrics"] = {"accuracy": metrics.accuracy(flags), **four, "n_incomplete_problems": incomplete}
        out["breakdowns"]["steps"] = {"S1": metrics.accuracy(steps_flags), "S2": metrics.accuracy(s2),
                                      "S3": metrics.accuracy(s3)}
        out["breakdowns"]["four_dimensional"] = {k: four[k] for k in ("IK", "IG", "CM_strict", "RM_strict",
                                                                      "CM_loose", "RM_loose", "score_strict",
                                                                      "score_loose")}
        return out
