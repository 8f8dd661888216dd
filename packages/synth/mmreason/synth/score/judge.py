"""Optional LLM judges for support: each judge votes yes/no on whether the evidence supports the answer;
the majority decides (MMKG-RDS's support vote). Off by default (`synth.score.judge.votes: 0`)."""

from __future__ import annotations

import json

from mmreason.core.chat import record_to_chat
from mmreason.core.generation.base import SamplingParams
from mmreason.core.grading import read_boolean

TEMPLATE = ("{problem}\n\nProposed answer: {answer}\nReasoning: {cot}\n\n"
            "Is the proposed answer fully supported by the evidence above? Reply yes or no.")


def judge_support(records: list[dict], backends: list, votes: int = 3, max_new_tokens: int = 8,
                  temperature: float = 1.0, batch_size: int = 16, seed: int = 0) -> list[dict]:
    """[{"votes": [True/False/None...], "yes": n, "majority": bool}] per record; `votes` samples from each
    backend (several judge models, or one sampled several times). A reply that is neither yes nor no is None
    and counts as no."""
    out = [{"votes": []} for _ in records]
    for be in backends:
        for b, start in enumerate(range(0, len(records), batch_size)):
            part = records[start:start + batch_size]
            chats = []
            for r in part:
                prov = json.loads(r["provenance"])
                text = TEMPLATE.format(problem="\0", answer=prov.get("answer_value", r["answer"]), cot="\1")
                text = text.replace("\0", r["problem"]).replace("\1", prov.get("cot", ""))
                chats.append(record_to_chat({**r, "problem": text}, template="{problem}"))
            comps = be.generate(chats, SamplingParams(n=votes, temperature=temperature, max_new_tokens=max_new_tokens,
                                                      seed=seed + b))
            for j, cs in enumerate(comps):
                out[start + j]["votes"] += [read_boolean(c.text) for c in cs]
    for o in out:
        o["yes"] = sum(1 for v in o["votes"] if v is True)
        o["majority"] = o["yes"] * 2 > len(o["votes"])  # strict majority of all votes
    return out
