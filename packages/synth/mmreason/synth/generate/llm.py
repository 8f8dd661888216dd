"""`llm` generator: a model rewrites the template question and writes the reasoning from the path facts
and the computed answer. The result is checked — the gold answer must grade correct against the
generated reasoning (core.grading) and the question must not state the answer (nor, for image
questions, any plotted value) — else the template phrasing is kept and the fallback counted."""

from __future__ import annotations

import json
import re

from mmreason.core.chat import user_content
from mmreason.core.generation.base import SamplingParams
from mmreason.core.grading import grade

from ..kg.graph import KG
from .template import contains_value, plotted_values
from .view import View

PROMPT = """Rewrite a reasoning question in your own words and solve it step by step.
Facts from the source document:
{facts}
Question: {question}
Correct answer: {answer}
Reply exactly as:
Question: <the rewritten question, without the answer>
Reasoning: <step-by-step reasoning ending with \\boxed{{answer}}>"""


def _parse(text: str) -> tuple[str, str] | None:
    m = re.search(r"Question:\s*(.+?)\s*Reasoning:\s*(.+)", text, re.S)
    return (m.group(1).strip(), m.group(2).strip()) if m else None


def check(kg: KG, rec: dict, question: str, reasoning: str) -> str | None:
    """None if the generated pair is acceptable, else the reason."""
    prov = json.loads(rec["provenance"])
    if not question or len(question) < 10:
        return "empty question"
    if not grade(reasoning, rec["answer"], rec["answer_type"], rec["choices"]):
        return "gold answer does not grade correct against the reasoning"
    if rec["answer_type"] != "choice" and contains_value(question, prov["answer_value"]):
        return "question states the answer"
    if prov.get("image_grounded"):
        view = View(kg, prov["node_ids"], set())
        if any(contains_value(question, x) for x in plotted_values(kg, view)):
            return "question states a plotted value"
    return None


def rephrase(kg: KG, records: list[dict], backend, max_new_tokens: int = 256, temperature: float = 0.0,
             batch_size: int = 16, limit: int | None = None) -> tuple[list[dict], dict]:
    """Records with model-phrased questions where the checks pass; stats count accepted and fallbacks."""
    todo = records if limit is None else records[:limit]
    stats = {"asked": len(todo), "accepted": 0, "fallback": 0, "reasons": {}}
    out = list(records)
    for b, start in enumerate(range(0, len(todo), batch_size)):
        part = todo[start:start + batch_size]
        chats = []
        for r in part:
            prov = json.loads(r["provenance"])
            text = PROMPT.format(facts=prov["cot"], question=prov["question"], answer=prov["answer_value"])
            # an image question's figure / table crop goes along, so a VLM rephrases what it can see
            chats.append([{"role": "user", "content": user_content(text, r["images"]) if r.get("images") else text}])
        comps = backend.generate(chats, SamplingParams(temperature=temperature, max_new_tokens=max_new_tokens, seed=b))
        for j, (r, cs) in enumerate(zip(part, comps)):
            parsed = _parse(cs[0].text)
            reason = "unparsable reply" if parsed is None else check(kg, r, *parsed)
            if reason:
                stats["fallback"] += 1
                stats["reasons"][reason] = stats["reasons"].get(reason, 0) + 1
                continue
            q, reasoning = parsed
            prov = json.loads(r["provenance"])
            stem, sep, rest = r["problem"].partition(f"Question: {prov['question']}")
            new = dict(r)
            new["problem"] = stem + f"Question: {q}" + rest
            prov.update(question=q, cot=reasoning, generator="llm", model=backend.describe(),
                        template_question=prov["question"])
            new["provenance"] = json.dumps(prov, ensure_ascii=False, sort_keys=True)
            out[start + j] = new
            stats["accepted"] += 1
    return out, stats


__all__ = ["PROMPT", "check", "rephrase"]
