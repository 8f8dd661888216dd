"""Difficulty: the pass rate of a solver model over k samples, graded by `core.grading` (never string match).

Calls go through the on-disk cache in fixed batches with a per-batch seed, so a resumed run sends only
the batches it has not finished and gets the same samples an uninterrupted run would.

Bounded resources: a prompt longer than the solver can take (`max_prompt_tokens`; null = the model's
context minus `max_new_tokens`) is skipped (its difficulty says why) or, with `overlong="truncate"`, cut
in the middle of its evidence (never through an image); batches hold at most `batch_size` records and
`max_batch_tokens` padded tokens (records × k × the longest prompt), records of similar length together.
The peak memory of a transformers solver is set by its attention kernel: "eager" materialises a
batch × heads × L × L matrix (5 prompts of 4,000 tokens: 6 GB), "sdpa" does not (0.7 GB); synth loads
its own models with `synth.attn_implementation` (sdpa by default, run.py).
"""

from __future__ import annotations

from collections.abc import Callable

from mmreason.core.chat import record_to_chat
from mmreason.core.config import check_choice
from mmreason.core.generation.base import SamplingParams
from mmreason.core.grading import grade
from mmreason.core.schema import IMAGE_MARKER

from ..config import OVERLONG

PROMPT = "{problem}"
CHAT_OVERHEAD = 32  # tokens a chat template adds around one user turn (role markers, system default)


def solver_context(backend) -> tuple[int | None, Callable[[str], int] | None, int]:
    """(context length, token counter for text, tokens per image) of a solver backend, where it can tell:
    transformers (`hf`) and in-process vLLM know their model; a server (`openai`) does not (None)."""
    b = getattr(backend, "backend", backend)  # a CachedBackend wraps the real one
    model, proc, llm = getattr(b, "model", None), getattr(b, "processor", None), getattr(b, "llm", None)
    if model is not None and proc is not None:
        cfg = model.config
        ctx = getattr(cfg, "max_position_embeddings", None) or getattr(getattr(cfg, "text_config", None),
                                                                      "max_position_embeddings", None)
        tok = proc.tokenizer
        per_image = (getattr(b, "max_pixels", None) or 112 * 112) // (28 * 28)  # Qwen2-VL: one token per 28x28
        return ctx, lambda s: len(tok(s, add_special_tokens=False)["input_ids"]), per_image
    if llm is not None:
        tok = llm.get_tokenizer()
        ctx = llm.llm_engine.model_config.max_model_len
        return ctx, lambda s: len(tok(s, add_special_tokens=False)["input_ids"]), 1280  # Qwen2.5-VL default max
    return None, None, 0


def fit_prompt(problem: str, n_tokens: int, limit: int, overlong: str = "skip") -> str | None:
    """The problem as the solver gets it: unchanged when it fits, else None ("skip") or its evidence cut in
    the middle ("truncate": the start and the question at the end kept, no `<image>` marker lost)."""
    if n_tokens <= limit:
        return problem
    if overlong != "truncate":
        return None
    keep = max(0, int(len(problem) * limit / n_tokens) - 40)
    head, tail = problem[: keep // 3], problem[len(problem) - (keep - keep // 3):]
    cut = head + "\n[... evidence cut to fit the solver's context ...]\n" + tail
    return cut if cut.count(IMAGE_MARKER) == problem.count(IMAGE_MARKER) else None


def solver_pass_rates(records: list[dict], backend, k: int = 2, max_new_tokens: int = 16, temperature: float = 1.0,
                      batch_size: int = 32, seed: int = 0, on_batch: Callable[[int], None] | None = None,
                      max_prompt_tokens: int | None = None, overlong: str = "skip",
                      max_batch_tokens: int | None = None) -> list[dict]:
    """[{"pass_rate", "k", "correct"}] per record, in order ({"skipped": reason} for a prompt that does not
    fit). Batches group records of similar length (less padding); the grouping depends only on the records
    and the limits, so it is the same on every run."""
    check_choice("synth.score.difficulty.overlong", overlong, OVERLONG, "overlong mode")
    ctx, count, per_image = solver_context(backend)
    limit = max_prompt_tokens if max_prompt_tokens is not None else (ctx - max_new_tokens if ctx else None)
    res: dict[int, dict] = {}
    todo: list[tuple[int, dict, int]] = []  # (index, record as sent, prompt tokens)
    for i, r in enumerate(records):
        n = len(r["problem"]) // 2 + CHAT_OVERHEAD  # no tokenizer (a server): a generous estimate
        if count is not None:
            n = count(r["problem"]) + per_image * len(r.get("images") or []) + CHAT_OVERHEAD
        if limit is not None and n > limit:
            fitted = fit_prompt(r["problem"], n, limit - CHAT_OVERHEAD - per_image * len(r.get("images") or []),
                                overlong)
            if fitted is None:
                res[i] = {"skipped": f"prompt of {n} tokens over the solver's limit of {limit}"}
                continue
            r, n = {**r, "problem": fitted}, limit
        todo.append((i, r, n))
    todo.sort(key=lambda x: (x[2], len(x[1]["problem"]), x[1]["id"]))
    batches, cur = [], []
    for item in todo:
        longest = max([item[2]] + [c[2] for c in cur])
        if cur and (len(cur) >= batch_size or (max_batch_tokens and (len(cur) + 1) * k * longest > max_batch_tokens)):
            batches.append(cur)
            cur = []
        cur.append(item)
    if cur:
        batches.append(cur)
    for b, part in enumerate(batches):
        chats = [record_to_chat(r, template=PROMPT) for _, r, _ in part]
        params = SamplingParams(n=k, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed + b)
        comps = backend.generate(chats, params)
        for (i, r, _), cs in zip(part, comps):
            ok = [bool(grade(c.text, r["answer"], r["answer_type"], r["choices"])) for c in cs]
            res[i] = {"pass_rate": round(sum(ok) / len(ok), 4), "k": len(ok), "correct": sum(ok)}
        if on_batch:
            on_batch(len(part))
    if on_batch and len(records) > len(todo):
        on_batch(len(records) - len(todo))
    return [res[i] for i in range(len(records))]
