"""Rollouts: sample n responses per prompt through `core.generation`, score them, keep the useful groups.

- `Rollouts`: a flat batch of B = groups × n responses, groups contiguous; `group_ids[i]` is the
  index of rollout i's prompt within the step.
- `collect_rollouts`: prompts from the sampler -> `backend.generate` -> rewards; with dynamic sampling
  (DAPO §3.2) groups whose rewards are all equal carry no signal and are dropped, and fresh prompts
  are drawn (up to `max_refills` extra rounds) until `prompts_per_step` groups are kept.
- `teacher_forcing_batch`: the prompts of some rollouts followed by their response tokens, ready for
  `models.response_logprobs`.
- `sampling_seed(seed, step, attempt)`: the seed of each generate call, so a resumed run samples the
  same responses as an uninterrupted one.
- `evaluate`: greedy accuracy on held-out records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mmreason.core.chat import Chat
from mmreason.core.generation import GenerationBackend, SamplingParams

from .data import PromptSampler, make_chat


@dataclass
class Rollouts:
    records: list[dict] = field(default_factory=list)  # per rollout (the prompt's record)
    chats: list[Chat] = field(default_factory=list)  # per rollout
    texts: list[str] = field(default_factory=list)
    token_ids: list[list[int]] = field(default_factory=list)
    finish: list[str] = field(default_factory=list)  # "stop" | "length"
    rewards: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)  # reward terms per rollout
    group_ids: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def extend(self, other: Rollouts, rows: list[int], group_offset: int) -> None:
        """Append rows of `other` (whole groups), renumbering their groups from `group_offset`."""
        remap: dict[int, int] = {}
        for i in rows:
            g = other.group_ids[i]
            remap.setdefault(g, group_offset + len(remap))
            self.records.append(other.records[i])
            self.chats.append(other.chats[i])
            self.texts.append(other.texts[i])
            self.token_ids.append(other.token_ids[i])
            self.finish.append(other.finish[i])
            self.rewards.append(other.rewards[i])
            self.group_ids.append(remap[g])
            for k, v in other.parts.items():
                self.parts.setdefault(k, []).append(v[i])

    @property
    def n_groups(self) -> int:
        return len(set(self.group_ids))


def sampling_seed(seed: int, step: int, attempt: int = 0) -> int:
    """A 31-bit seed for one generate call, from (run seed, step, refill attempt)."""
    return int(np.random.SeedSequence([seed, step, attempt]).generate_state(1)[0] & 0x7FFFFFFF)


def generate_groups(backend: GenerationBackend, records: list[dict], data_cfg, params: SamplingParams, reward_fn) -> Rollouts:
    """n rollouts for each record, scored; group g = records[g]."""
    chats = [make_chat(r, data_cfg) for r in records]
    completions = backend.generate(chats, params)
    out = Rollouts()
    for g, (rec, chat, comps) in enumerate(zip(records, chats, completions)):
        if len(comps) != params.n:
            raise RuntimeError(f"backend {backend.describe()} returned {len(comps)} completions, asked for {params.n}")
        for c in comps:
            out.records.append(rec)
            out.chats.append(chat)
            out.texts.append(c.text)
            out.token_ids.append(list(c.token_ids))
            out.finish.append(c.finish_reason)
            out.group_ids.append(g)
    out.rewards, out.parts = reward_fn(out.texts, out.records, [len(t) for t in out.token_ids])
    return out


def informative_groups(rollouts: Rollouts) -> list[int]:
    """Rows of the groups whose rewards are not all equal (DAPO dynamic sampling keeps these)."""
    by_group: dict[int, list[int]] = {}
    for i, g in enumerate(rollouts.group_ids):
        by_group.setdefault(g, []).append(i)
    rows = []
    for idx in by_group.values():
        r = [rollouts.rewards[i] for i in idx]
        if max(r) - min(r) > 1e-9:
            rows += idx
    return rows


def collect_rollouts(
    backend: GenerationBackend,
    sampler: PromptSampler,
    refill_sampler: PromptSampler,
    records: list[dict],
    data_cfg,
    tcfg,
    reward_fn,
    step: int,
    seed: int,
) -> tuple[Rollouts, dict[str, float]]:
    """The step's training batch and rollout metrics.

    The first round's prompts come from `sampler` (step s always gets stream[s·P:(s+1)·P], whatever
    happened before: runs with and without refills see the same prompts, so they can be compared
    pairwise); refill rounds draw from `refill_sampler`, a second stream with its own cursor.

    Metrics `reward/*`, `accuracy/mean`, `response/*` describe the first round (`prompts_per_step` fresh
    prompts, before any filtering: comparable across runs and algorithms); `batch/reward_mean` is the
    batch actually trained on.
    """
    want = tcfg.prompts_per_step
    batch = Rollouts()
    metrics: dict[str, float] = {}
    rounds = 1 + (tcfg.max_refills if tcfg.dynamic_sampling else 0)
    dropped = 0
    for attempt in range(rounds):
        idx = sampler.take(want) if attempt == 0 else refill_sampler.take(want)
        params = SamplingParams(
            n=tcfg.rollouts_per_prompt,
            temperature=tcfg.temperature,
            top_p=tcfg.top_p,
            max_new_tokens=tcfg.max_new_tokens,
            seed=sampling_seed(seed, step, attempt),
        )
        got = generate_groups(backend, [records[i] for i in idx], data_cfg, params, reward_fn)
        if attempt == 0:
            metrics.update(rollout_metrics(got))
        rows = informative_groups(got) if tcfg.dynamic_sampling else list(range(len(got)))
        dropped += got.n_groups - len({got.group_ids[i] for i in rows})
        need_rows = (want - batch.n_groups) * tcfg.rollouts_per_prompt
        batch.extend(got, rows[:need_rows], batch.n_groups)
        if batch.n_groups >= want:
            break
    metrics.update(
        {
            "batch/groups": batch.n_groups,
            "batch/reward_mean": float(np.mean(batch.rewards)) if len(batch) else 0.0,
            "batch/dropped_groups": dropped,
            "batch/rounds": attempt + 1,
        }
    )
    return batch, metrics


def rollout_metrics(r: Rollouts) -> dict[str, float]:
    lens = np.array([len(t) for t in r.token_ids], dtype=float)
    rewards = np.array(r.rewards, dtype=float)
    out = {
        "reward/mean": float(rewards.mean()),
        "reward/std": float(rewards.std()),
        "response/length_mean": float(lens.mean()),
        "response/length_max": float(lens.max()),
        "response/truncated": float(np.mean([f == "length" for f in r.finish])),
    }
    for k, v in r.parts.items():
        out[f"{k}/mean"] = float(np.mean(v))
    return out


def teacher_forcing_batch(processor, rollouts: Rollouts, rows: list[int], min_pixels=None, max_pixels=None, device=None):
    """Prompts of `rows` (left-padded, with images) + their responses (right-padded) + response_mask."""
    from mmreason.core.models import append_responses, build_batch

    enc = build_batch(processor, [rollouts.chats[i] for i in rows], True, min_pixels, max_pixels)
    tf = append_responses(enc, [rollouts.token_ids[i] for i in rows], processor.tokenizer.pad_token_id)
    if device is not None:
        tf = {k: v.to(device) for k, v in tf.items()}
    return tf


def pad_rows(values: list[torch.Tensor], width: int) -> torch.Tensor:
    """Stack 1-D tensors right-padded with 0 to `width`."""
    out = torch.zeros(len(values), width, dtype=values[0].dtype if values else torch.float32)
    for i, v in enumerate(values):
        out[i, : len(v)] = v
    return out


@torch.no_grad()
def evaluate(backend: GenerationBackend, records: list[dict], data_cfg, reward_fn, max_new_tokens: int) -> dict[str, float]:
    """Greedy accuracy (core.grading) on `records`."""
    if not records:
        return {}
    chats = [make_chat(r, data_cfg) for r in records]
    outs = backend.generate(chats, SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens))
    acc = [reward_fn.accuracy(o[0].text, r) for o, r in zip(outs, records)]
    return {"eval/accuracy": float(np.mean(acc)), "eval/n": float(len(acc))}
