"""Optional LLM judge: any `GenerationBackend` (e.g. an OpenAI-compatible server), two protocols.

- `verdict` (default): the judge sees the question, the gold answer and the response and says whether
  they agree; the benchmark's `judge_prompt` gives its official judge prompt (MathVerse score_answer_s2's
  "Judgement: 1/0", MM-EUREKA's K12 Yes/No, HallusionBench's correct/incorrect/unclear), else `PROMPT`.
- `extract`: the judge only extracts the final answer from the response, as lmms-eval / VLMEvalKit use
  GPT (MathVista extract_answer, MathVerse extract_answer_s1, VLMEvalKit's option matching for
  multiple choice, LogicVista's letter extraction, DynaMath's short-answer formatting); the benchmark's own
  rule then scores that extracted answer (`Benchmark.judge_extracted`). The prompts follow each
  protocol's instructions and output format (they are not verbatim copies of the official templates).

`mode: fallback` sends only the samples the rule marks wrong, `mode: all` every sample (verdict: the
free-form ones the benchmark lets a judge overrule). Prompts and replies are saved by the runner next to
the predictions; a reply that names no verdict / no answer leaves the rule's decision in place.
"""

from __future__ import annotations

import re

from mmreason.core.generation.base import GenerationBackend, SamplingParams

PROTOCOLS = ("verdict", "extract")

PROMPT = """Below are two answers to a question. [Question] is the question, [Standard Answer] is its correct answer, and [Model Answer] is a model's full response. Decide whether the final answer in [Model Answer] is consistent with [Standard Answer]: the same value, option or meaning, whatever the format or units notation. Ignore the reasoning; judge only the final answer. Reply with "Judgement: 1" if it is consistent and "Judgement: 0" if it is not.

[Question]: {question}
[Standard Answer]: {answer}
[Model Answer]: {response}
Judgement:"""

EXTRACT = """Read the question and a model's response to it, and extract the model's final answer. For a multiple-choice question reply with the letter of the option the model chose (if it gives an option's text or value, the letter of that option); if it chose none, reply Z. Otherwise reply with the final answer only (a number, expression, word or list), no explanation.

Example 1
Question: Which number is missing?
Model response: The number missing in the sequence is 14.
Extracted answer: 14

Example 2
Question: What fraction of the shape is blue?
Choices: (A) 3/11 (B) 8/11 (C) 6/11 (D) 3/5
Model response: The correct answer is 8/11.
Extracted answer: B

Question: {question}
Model response: {response}
Extracted answer:"""

_VERDICT = re.compile(r"judge?ment\s*[:：]?\s*\**\s*([01])\b", re.I)
_EXTRACTED = re.compile(r"^\s*(?:extracted\s+answer|answer|your\s+output)\s*[:：]\s*", re.I)


def parse_verdict(reply: str) -> bool | None:
    """1 / Yes -> True, 0 / No -> False, None when the reply names no verdict."""
    m = _VERDICT.search(reply or "")
    if m:
        return m.group(1) == "1"
    s = (reply or "").strip().strip(".*").lower()
    if s in ("yes", "no"):
        return s == "yes"
    return {"1": True, "0": False}.get(s[:1]) if len(s) <= 3 else None


def parse_extraction(reply: str) -> str | None:
    """The extracted answer: the reply's first non-empty line, without an "Extracted answer:" label."""
    for line in (reply or "").strip().splitlines():
        line = _EXTRACTED.sub("", line).strip()
        if line:
            return line
    return None


def question_text(record: dict) -> str:
    """The question with its options, for judge prompts."""
    q = record["problem"]
    if record.get("choices"):
        q += "\nChoices: " + " ".join(f"({chr(ord('A') + i)}) {c}" for i, c in enumerate(record["choices"]))
    return q


class LLMJudge:
    """Judge (record, response) pairs with a backend; text only, greedy."""

    def __init__(self, backend: GenerationBackend, max_new_tokens: int = 64, mode: str = "fallback",
                 protocol: str = "verdict"):
        if mode not in ("fallback", "all"):
            raise ValueError(f"judge.mode must be 'fallback' (rule-wrong samples) or 'all', got {mode!r}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"judge.protocol must be one of {PROTOCOLS}, got {protocol!r}")
        self.backend, self.mode, self.protocol = backend, mode, protocol
        self.params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens)

    def describe(self) -> str:
        return self.backend.describe()

    def covers(self, bench, record: dict) -> bool:
        """Whether this judge may decide `record` (verdicts only for answers the benchmark lets a judge
        overrule; extraction for every answer)."""
        return self.protocol == "extract" or bench.free_form(record)

    def prompt(self, bench, record: dict, response: str) -> str:
        if self.protocol == "extract":
            return bench.extraction_prompt(record, response)
        return bench.judge_prompt(record, response) or PROMPT.format(
            question=question_text(record), answer=record["answer"], response=response)

    def verdict(self, bench, record: dict, reply: str) -> bool | None:
        """Whether the sample is right according to the judge's reply (None: the reply says nothing)."""
        if self.protocol == "extract":
            extracted = parse_extraction(reply)
            return None if extracted is None else bench.judge_extracted(record, extracted)
        return bench.parse_judgement(record, reply)

    def generate(self, prompts: list[str]) -> list[str]:
        """The judge's reply to each prompt."""
        if not prompts:
            return []
        chats = [[{"role": "user", "content": p}] for p in prompts]
        outs = self.backend.generate(chats, self.params)
        return [o[0].text if o else "" for o in outs]
