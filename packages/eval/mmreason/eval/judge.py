"""Optional LLM judge for free-form answers: any `GenerationBackend` (e.g. an OpenAI-compatible server).

The judge sees the question, the gold answer and the model's response and replies "Judgement: 1" or
"Judgement: 0" (the MathVerse score_answer_s2.py protocol). Its prompts and replies are saved by the
runner next to the predictions; a reply that names no verdict leaves the rule's decision in place.
"""

from __future__ import annotations

import re

from mmreason.core.generation.base import GenerationBackend, SamplingParams

PROMPT = """Below are two answers to a question. [Question] is the question, [Standard Answer] is its correct answer, and [Model Answer] is a model's full response. Decide whether the final answer in [Model Answer] is consistent with [Standard Answer]: the same value, option or meaning, whatever the format or units notation. Ignore the reasoning; judge only the final answer. Reply with "Judgement: 1" if it is consistent and "Judgement: 0" if it is not.

[Question]: {question}
[Standard Answer]: {answer}
[Model Answer]: {response}
Judgement:"""

_VERDICT = re.compile(r"judge?ment\s*[:：]?\s*\**\s*([01])\b", re.I)


def parse_verdict(reply: str) -> bool | None:
    """1 -> True, 0 -> False, None when the reply names no verdict."""
    m = _VERDICT.search(reply or "")
    if m:
        return m.group(1) == "1"
    s = (reply or "").strip()
    return {"1": True, "0": False}.get(s[:1]) if len(s) <= 3 else None


class LLMJudge:
    """Judge (record, response) pairs with a backend; text only, greedy."""

    def __init__(self, backend: GenerationBackend, max_new_tokens: int = 64, mode: str = "fallback"):
        if mode not in ("fallback", "all"):
            raise ValueError(f"judge.mode must be 'fallback' (rule-wrong free-form samples) or 'all', got {mode!r}")
        self.backend, self.mode = backend, mode
        self.params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens)

    def describe(self) -> str:
        return self.backend.describe()

    @staticmethod
    def prompt(record: dict, response: str) -> str:
        question = record["problem"]
        if record.get("choices"):
            question += "\n" + "\n".join(f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(record["choices"]))
        return PROMPT.format(question=question, answer=record["answer"], response=response)

    def judge(self, prompts: list[str]) -> list[tuple[str, bool | None]]:
        """(reply, verdict) per prompt."""
        if not prompts:
            return []
        chats = [[{"role": "user", "content": p}] for p in prompts]
        outs = self.backend.generate(chats, self.params)
        replies = [o[0].text if o else "" for o in outs]
        return [(r, parse_verdict(r)) for r in replies]
