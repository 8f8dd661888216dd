"""Rollouts: sample n responses per prompt through `core.generation`, score them, keep the useful groups.

- `Rollouts`: a flat batch of B = groups × n responses, groups contiguous; `group_ids[i]` is the
  index of rollout i's prompt within the step (global: the same on every rank).
- `collect_rollouts`: prompts from the sampler -> `backend.generate` -> rewards; with dynamic sampling
  (DAPO §3.2) groups whose rewards are all equal carry no signal and are dropped, and fresh prompts
  are drawn (up to `max_refills` extra rounds) until `prompts_per_step` groups are kept. Under torchrun each
  rank generates a contiguous share of each round's prompts; the groups' rewards and lengths are gathered,
  so every rank makes the same keep/drop decisions and knows every group's lengths (`GroupTable`).
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
    logprobs: list[list[float] | None] = field(default_factory=list)  # the engine's raw log-probs (Completion.logprobs)

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
            self.logprobs.append(other.logprobs[i] if other.logprobs else None)
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
            out.logprobs.append(c.logprobs)
    out.rewards, out.parts = reward_fn(out.texts, out.records, [len(t) for t in out.token_ids])
    return out


def informative(rewards: list[float]) -> bool:
    """A group whose rewards are not all equal (DAPO dynamic sampling keeps these: the others have advantage 0)."""
    return max(rewards) - min(rewards) > 1e-9


@dataclass
class GroupTable:
    """The step's kept groups as every rank sees them: group g (0..G-1, the `group_ids` of the rollouts) was
    generated and is trained by rank `owner[g]`, its rollouts have `lengths[g]` response tokens."""

    owner: list[int] = field(default_factory=list)
    lengths: list[list[int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.owner)


def _group_summaries(r: Rollouts) -> list[dict]:
    """Per group of `r` (in order): what the other ranks need to decide and to weigh (rewards, lengths, finish)."""
    out: dict[int, dict] = {}
    for i, g in enumerate(r.group_ids):
        d = out.setdefault(g, {"rows": [], "rewards": [], "lengths": [], "finish": [], "parts": {}})
        d["rows"].append(i)
        d["rewards"].append(r.rewards[i])
        d["lengths"].append(len(r.token_ids[i]))
        d["finish"].append(r.finish[i])
        for k, v in r.parts.items():
            d["parts"].setdefault(k, []).append(v[i])
    return list(out.values())


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
    dist=None,
    gen_group: int = 1,
) -> tuple[Rollouts, dict[str, float], GroupTable]:
    """This rank's share of the step's training batch, the rollout metrics and the step's `GroupTable`.

    The first round's prompts come from `sampler` (step s always gets stream[s·P:(s+1)·P], whatever
    happened before: runs with and without refills see the same prompts, so they can be compared
    pairwise); refill rounds draw from `refill_sampler`, a second stream with its own cursor. Every rank draws
    the same indices; rank r generates prompts `shard_range(P, r, world)` of each round with sampling seed
    `sampling_seed(seed, step, round) + lo·n` (the backends seed prompt i of a call with seed + i·n), so a prompt's
    samples are the same for any number of ranks. `gen_group` ranks (a tensor-parallel vLLM engine) generate
    their joint share together; each keeps its own part.

    Metrics `reward/*`, `accuracy/mean`, `response/*` describe the first round (`prompts_per_step` fresh
    prompts, before any filtering: comparable across runs and algorithms); `batch/reward_mean` is the
    batch actually trained on. All are over every rank's rollouts.
    """
    from .parallel import Dist, shard_range

    dist = dist or Dist()
    want, n = tcfg.prompts_per_step, tcfg.rollouts_per_prompt
    batch, table = Rollouts(), GroupTable()
    metrics: dict[str, float] = {}
    kept_rewards: list[float] = []
    rounds = 1 + (tcfg.max_refills if tcfg.dynamic_sampling else 0)
    dropped = 0
    for attempt in range(rounds):
        idx = sampler.take(want) if attempt == 0 else refill_sampler.take(want)
        lo, hi = shard_range(len(idx), dist.rank, dist.world)  # the prompts this rank owns
        glo, ghi = shard_range(len(idx), dist.rank // gen_group, dist.world // gen_group)  # its engine generates
        params = SamplingParams(
            n=n,
            temperature=tcfg.temperature,
            top_p=tcfg.top_p,
            max_new_tokens=tcfg.max_new_tokens,
            seed=sampling_seed(seed, step, attempt) + glo * n,
        )
        got = generate_groups(backend, [records[i] for i in idx[glo:ghi]], data_cfg, params, reward_fn)
        mine = [s for s in _group_summaries(got) if lo <= glo + got.group_ids[s["rows"][0]] < hi]
        everyone = [(rank, s) for rank, groups in enumerate(dist.gather(mine)) for s in groups]  # global prompt order
        if attempt == 0:
            metrics.update(rollout_metrics([s for _, s in everyone]))
        useful = [x for x in everyone if not tcfg.dynamic_sampling or informative(x[1]["rewards"])]
        dropped += len(everyone) - len(useful)
        for rank, s in useful[: want - len(table)]:
            if rank == dist.rank:
                batch.extend(got, s["rows"], len(table))
            table.owner.append(rank)
            table.lengths.append(s["lengths"])
            kept_rewards += s["rewards"]
        if len(table) >= want:
            break
    metrics.update(
        {
            "batch/groups": len(table),
            "batch/reward_mean": float(np.mean(kept_rewards)) if kept_rewards else 0.0,
            "batch/dropped_groups": dropped,
            "batch/rounds": attempt + 1,
        }
    )
    return batch, metrics, table


def rollout_metrics(groups: list[dict]) -> dict[str, float]:
    """Reward, accuracy and length statistics over groups' summaries (`_group_summaries`)."""
    lens = np.array([n for g in groups for n in g["lengths"]], dtype=float)
    rewards = np.array([r for g in groups for r in g["rewards"]], dtype=float)
    out = {
        "reward/mean": float(rewards.mean()),
        "reward/std": float(rewards.std()),
        "response/length_mean": float(lens.mean()),
        "response/length_max": float(lens.max()),
        "response/truncated": float(np.mean([f == "length" for g in groups for f in g["finish"]])),
    }
    for k in groups[0]["parts"] if groups else ():
        out[f"{k}/mean"] = float(np.mean([v for g in groups for v in g["parts"][k]]))
    return out


def stand_in(record: dict, data_cfg, processor) -> Rollouts:
    """A one-row batch (the record's prompt, an end-of-turn response) that a rank holding no rollout of the step runs
    its zero-weight passes on: DDP and FSDP need every rank in every forward/backward. No model call."""
    tok = processor.tokenizer
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    out = Rollouts()
    out.extend(Rollouts([record], [make_chat(record, data_cfg)], [""], [[eos]], ["stop"], [0.0], {}, [0], [None]), [0], 0)
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
def evaluate(backend: GenerationBackend, records: list[dict], data_cfg, reward_fn, max_new_tokens: int,
             dist=None) -> dict[str, float]:
    """Greedy accuracy (core.grading) on `records`; under torchrun each rank answers a contiguous share."""
    from .parallel import Dist, shard_range

    dist = dist or Dist()
    if not records:
        return {}
    lo, hi = shard_range(len(records), dist.rank, dist.world)
    mine = records[lo:hi]
    acc = []
    if mine:
        chats = [make_chat(r, data_cfg) for r in mine]
        outs = backend.generate(chats, SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens))
        acc = [reward_fn.accuracy(o[0].text, r) for o, r in zip(outs, mine)]
    right, n = dist.sum([float(sum(acc)), float(len(acc))])
    return {"eval/accuracy": right / n, "eval/n": n}
