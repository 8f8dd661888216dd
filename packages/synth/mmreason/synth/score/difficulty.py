"""Difficulty: the pass rate of a solver model over k samples, graded by `core.grading` (never string match).

Calls go through the on-disk cache in fixed batches with a per-batch seed, so a resumed run sends only
the batches it has not finished and gets the same samples an uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Callable

from mmreason.core.chat import record_to_chat
from mmreason.core.generation.base import SamplingParams
from mmreason.core.grading import grade

PROMPT = "{problem}"


def solver_pass_rates(records: list[dict], backend, k: int = 2, max_new_tokens: int = 16, temperature: float = 1.0,
                      batch_size: int = 32, seed: int = 0, on_batch: Callable[[int], None] | None = None) -> list[dict]:
    """[{"pass_rate", "k", "correct"}] per record, in order. Batches group records of similar length
    (less padding); the grouping depends only on the records, so it is the same on every run."""
    order = sorted(range(len(records)), key=lambda i: (len(records[i]["problem"]), records[i]["id"]))
    res: dict[int, dict] = {}
    for b, start in enumerate(range(0, len(order), batch_size)):
        idx = order[start:start + batch_size]
        part = [records[i] for i in idx]
        chats = [record_to_chat(r, template=PROMPT) for r in part]
        params = SamplingParams(n=k, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed + b)
        comps = backend.generate(chats, params)
        for i, r, cs in zip(idx, part, comps):
            ok = [bool(grade(c.text, r["answer"], r["answer_type"], r["choices"])) for c in cs]
            res[i] = {"pass_rate": round(sum(ok) / len(ok), 4), "k": len(ok), "correct": sum(ok)}
        if on_batch:
            on_batch(len(part))
    return [res[i] for i in range(len(records))]
