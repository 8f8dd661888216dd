"""The RL step (GRPO / DAPO / VGPO and any mix of their parts) inside the shared loop (loop.py). One step:

    1. rollouts  = collect_rollouts(...)                 prompts -> n samples each -> rewards (+ dynamic sampling);
                                                         under torchrun each rank generates a share of the prompts
    2. adv       = compute_advantages(name, rewards, groups)        one scalar per rollout (whole groups per rank)
    3. old_logp  = policy log-probs before the update    recomputed only if a step makes > 1 update;
                                                         with one update per step the update's own forward
                                                         is on-policy, so old_logp = logp.detach() (ratio 1)
    4. for each mini-batch (whole groups, shuffled, the same on every rank): for each micro-batch of this rank's rows:
           out = policy(batch)                    one forward: logp, entropy, raw log-probs (+ hidden for VGPO)
           Â_{i,t} = token_weights(Â_i, ...)      none: Â_i; vgpo: Â_i·α_i·ψ_{i,t} from ρ = core.focus.visual_focus
                                                  (normalised, no grad, from the same forward's hidden states)
           Â_{i,t} ·= min(π_old/π_rollout, C)     truncated importance sampling (algorithm.tis_cap; losses.py)
           loss = policy_loss(logp, old_logp, Â, mask) (+ kl_coef·KL to the reference) - entropy_coef·H
           (loss · share of the global mini-batch's tokens · world size).backward()   -> the mini-batch's token-mean
       clip grad norm, AdamW step
    5. (loop.py) lr schedule step; push weights to a non-shared rollout engine (vllm); evaluate; log; checkpoint

`train(cfg)` runs RL or SFT (algorithm=sft, see sft.py) and returns a summary dict.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np
import torch

from mmreason.core.focus import visual_focus
from mmreason.core.models import image_token_mask

from .advantages import compute_advantages
from .config import TrainConfig
from .data import PromptSampler
from .logging_utils import Timer
from .loop import clip_and_step, run_loop
from .losses import LOSS_AGGREGATIONS, aggregate_loss, kl_penalty, policy_loss, rollout_correction
from .parallel import Dist, Policy, shard_range
from .precision import scaled_backward
from .rewards import RewardFn
from .rollout import GroupTable, Rollouts, collect_rollouts, pad_rows, stand_in, teacher_forcing_batch
from .runtime import Run, load_reference, prepare_data, start_run
from .sft import train_sft
from .token_weights import TOKEN_WEIGHTS

# ---------------------------------------------------------------------------------------------- setup


def make_rollout_backend(cfg: TrainConfig, run: Run):
    """`hf` samples from the policy object itself (updates are visible at once; under FSDP inside
    `policy.gathered()`); any other engine (`vllm`) is a separate copy, one per rank (colocated in this process;
    under torchrun vLLM's `external_launcher` executor, `generation.tensor_parallel_size` ranks sharing one engine),
    which gets the policy's weights at the start and after every update (`sync_engine`)."""
    from mmreason.core.generation import make_backend

    if cfg.generation.backend == "hf":
        return make_backend(cfg.generation, cfg.model, model=run.model, processor=run.processor)
    from mmreason.core.generation.vllm import VLLMBackend

    extra = {"sleep_level": cfg.generation.sleep_level}  # an RL engine sleeps while the policy trains
    if run.dist.active:
        tp = cfg.generation.tensor_parallel_size
        if run.dist.world % tp:
            raise ValueError(f"generation.tensor_parallel_size={tp} must divide the number of processes ({run.dist.world})")
        extra.update(distributed_executor_backend="external_launcher", seed=cfg.trainer.seed + run.dist.rank // tp)
    return VLLMBackend.from_config(cfg.generation, cfg.model, **extra)


def sync_engine(backend, policy: Policy) -> None:
    """Wake a sleeping engine's weights, load the policy's full-precision weights into it (gathered from the shards
    one tensor at a time, LoRA merged), then its KV cache."""
    backend.wake_up(["weights"])
    backend.load_weights(policy.full_weights())
    backend.wake_up(["kv_cache"])


# ---------------------------------------------------------------------------------------------- update


def _micro_weight(lengths: list[int], mini_lengths: list[int], agg: str) -> float:
    """Share of the mini-batch's loss normaliser (tokens or sequences, the aggregation's `units`) that a
    micro-batch with these response lengths holds, so that Σ_micro weight·loss(micro) = loss(mini-batch)."""
    units = LOSS_AGGREGATIONS.get(agg).units
    return float(units(lengths)) / max(1, units(mini_lengths))


def _minibatches(table: GroupTable, size: int, rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """Rows (group, index in group) in a group-shuffled order (groups stay contiguous), cut into chunks of `size`:
    the same on every rank."""
    order = [(int(g), k) for g in rng.permutation(len(table)) for k in range(len(table.lengths[int(g)]))]
    return [order[s : s + size] for s in range(0, len(order), size)]


def _passes(rows: list[tuple[int, int]], table: GroupTable, rank: int, world: int, micro: int) -> list[list[tuple[int, int]]]:
    """This rank's micro-batches of `rows` (its own rows, in order), padded with empty passes to the most any rank
    runs: every rank must take part in every forward/backward (DDP and FSDP collectives)."""
    mine = [r for r in rows if table.owner[r[0]] == rank]
    counts = [sum(table.owner[g] == q for g, _ in rows) for q in range(world)]
    n = max(math.ceil(c / micro) for c in counts)
    out = [mine[s : s + micro] for s in range(0, len(mine), micro)]
    return out + [[] for _ in range(n - len(out))]


def reference_logprobs(policy: Policy, ref: Policy | None, tf: dict, temperature: float, blocked) -> torch.Tensor:
    """log-probs under the KL reference: a frozen copy of the initial policy, or under LoRA the policy with its
    adapters disabled."""
    with torch.no_grad(), (policy.adapters_disabled() if ref is None else nullcontext()):
        return (policy if ref is None else ref)(tf, temperature=temperature, blocked_ids=blocked)["logp"]


def response_focus(model, tf: dict, hidden: torch.Tensor) -> torch.Tensor:
    """VGPO's ρ `[b, R]`: the responses' per-sequence min-max visual focus (core.focus.visual_focus, the diagnostics'
    function) from the last hidden states of the loss's own forward (no second forward)."""
    return visual_focus(hidden, image_token_mask(tf["input_ids"], model), tf["response_mask"], normalise=True)


def micro_batch_loss(policy: Policy, ref: Policy | None, tf: dict, adv: torch.Tensor, group_ids: torch.Tensor, old_logp,
                     cfg: TrainConfig, blocked, rollout_logp=None, behaviour_logp=None):
    """The policy loss of one micro-batch (its own aggregation) and its metrics.

    `adv` [b] per rollout, made per-token by `algorithm.token_weights`; `old_logp` [b, R] or None (on-policy:
    old = logp.detach(), ratio 1); `rollout_logp` [b, R] the engine's raw log-probs (or None), compared with
    `behaviour_logp`, the trainer's raw log-probs under the rollout weights (None: this forward's, on-policy)."""
    t, a = cfg.trainer, cfg.algorithm
    weighting = TOKEN_WEIGHTS.get(a.token_weights)
    mask = tf["response_mask"]
    focus = getattr(weighting, "needs_focus", False)
    out = policy(tf, temperature=t.temperature, blocked_ids=blocked, hidden=focus, entropy=True,
                 entropy_grad=a.entropy_coef != 0, raw=rollout_logp is not None and behaviour_logp is None)
    logp = out["logp"]
    rho = response_focus(policy.hf, tf, out["hidden"]) if focus else None
    adv_tok, metrics = weighting(adv, mask, group_ids, rho, a)
    if rollout_logp is not None:
        behaviour = out["raw_logp"] if behaviour_logp is None else behaviour_logp
        w, m = rollout_correction(behaviour, rollout_logp, mask, a.tis_cap)
        adv_tok = adv_tok * w
        metrics.update({f"rollout/{k}": v for k, v in m.items()})
    old = logp.detach() if old_logp is None else old_logp
    loss, m = policy_loss(
        logp, old, adv_tok, mask, kind=a.loss, clip_low=a.clip_low, clip_high=a.clip_high,
        dual_clip=a.dual_clip, agg=a.loss_agg, norm_len=t.max_new_tokens,
    )
    metrics.update({f"actor/{k}": v for k, v in m.items()})
    if a.kl_coef > 0:
        ref_logp = reference_logprobs(policy, ref, tf, t.temperature, blocked)
        kl = aggregate_loss(kl_penalty(logp, ref_logp, a.kl_type), mask, a.loss_agg, norm_len=t.max_new_tokens)
        loss = loss + a.kl_coef * kl
        metrics["actor/kl_ref"] = float(kl.detach())
    entropy = aggregate_loss(out["entropy"], mask, a.loss_agg, norm_len=t.max_new_tokens)
    if a.entropy_coef:
        loss = loss - a.entropy_coef * entropy
    metrics["actor/entropy"] = float(entropy.detach())
    metrics["actor/loss"] = float(loss.detach())
    return loss, metrics


def _rollout_logps(rollouts: Rollouts, rows: list[int], width: int, device) -> torch.Tensor | None:
    """The engine's log-probs of these rows `[b, width]`, or None when the engine gave none."""
    lps = [rollouts.logprobs[i] if rollouts.logprobs else None for i in rows]
    if any(lp is None for lp in lps):
        return None
    return pad_rows([torch.tensor(lp, dtype=torch.float32) for lp in lps], width).to(device)


def update_policy(policy: Policy, ref: Policy | None, optimizer, processor, rollouts: Rollouts, adv: torch.Tensor,
                  cfg: TrainConfig, blocked, step: int, timer: Timer, table: GroupTable | None = None,
                  dist: Dist | None = None, scaler=None, spare: Rollouts | None = None) -> dict[str, float]:
    """PPO-style updates on one step's rollouts (this rank's rows; `table` describes every rank's groups, default:
    this process holds them all); returns mean metrics over all ranks. `spare`: rollouts this rank may run a
    zero-weight pass on when it holds no row of its own."""
    t, a = cfg.trainer, cfg.algorithm
    dist = dist or Dist()
    if table is None:
        table = _local_table(rollouts)
    device = policy.device
    pix = dict(min_pixels=cfg.model.min_pixels, max_pixels=cfg.model.max_pixels, device=device)
    gids = torch.tensor(rollouts.group_ids, dtype=torch.long)
    local, seen = {}, {}  # (group, index in group) -> local row
    for i, g in enumerate(rollouts.group_ids):
        local[(g, seen.setdefault(g, 0))] = i
        seen[g] += 1
    minis = [(epoch, mini) for epoch in range(t.ppo_epochs)
             for mini in _minibatches(table, t.mini_batch_size, np.random.default_rng([t.seed, step, epoch, 7]))]

    def batch_for(rows: list[int]) -> tuple[dict, Rollouts, list[int]]:
        """The teacher-forcing batch of local rows; an empty pass runs on a stand-in row (weight 0)."""
        if rows:
            return teacher_forcing_batch(processor, rollouts, rows, **pix), rollouts, rows
        src = rollouts if len(rollouts) else spare
        return teacher_forcing_batch(processor, src, [0], **pix), src, [0]

    old_logp: list[torch.Tensor] | None = None
    behaviour: list[torch.Tensor | None] = [None] * len(rollouts)
    if len(minis) > 1:  # the policy changes between updates: freeze old (and raw, for TIS) log-probs first
        old_logp = [None] * len(rollouts)
        every = [(g, k) for g in range(len(table)) for k in range(len(table.lengths[g]))]
        with timer("old_logprob"), torch.no_grad():
            for rows in _passes(every, table, dist.rank, dist.world, t.micro_batch_size):
                tf, _, _ = batch_for([local[r] for r in rows])
                out = policy(tf, temperature=t.temperature, blocked_ids=blocked, raw=True)
                for j, r in enumerate(rows):
                    i = local[r]
                    old_logp[i] = out["logp"][j, : len(rollouts.token_ids[i])].cpu()
                    behaviour[i] = out["raw_logp"][j, : len(rollouts.token_ids[i])].cpu()

    sums: dict[str, float] = {}
    weights = 0.0
    grad_norms = []
    with timer("update"):
        for _, mini in minis:
            mini_lengths = [table.lengths[g][k] for g, k in mini]
            optimizer.zero_grad(set_to_none=True)
            passes = _passes(mini, table, dist.rank, dist.world, t.micro_batch_size)
            for p, rows in enumerate(passes):
                idx = [local[r] for r in rows]
                tf, src, src_rows = batch_for(idx)
                mask = tf["response_mask"]
                width = mask.shape[1]
                old = b_lp = None
                if old_logp is not None and rows:  # off-policy updates: frozen old (and raw behaviour) log-probs
                    old = pad_rows([old_logp[i] for i in idx], width).to(device)
                    b_lp = pad_rows([behaviour[i] for i in idx], width).to(device)
                r_lp = _rollout_logps(src, src_rows, width, device)
                src_adv = adv[src_rows] if rows else torch.zeros(len(src_rows))
                src_gid = gids[src_rows] if rows else torch.zeros(len(src_rows), dtype=torch.long)
                loss, m = micro_batch_loss(policy, ref, tf, src_adv.to(device), src_gid.to(device), old, cfg, blocked, r_lp, b_lp)
                w = _micro_weight([table.lengths[g][k] for g, k in rows], mini_lengths, a.loss_agg) if rows else 0.0
                with policy.no_sync(sync=p == len(passes) - 1):  # DDP: one all-reduce per optimizer step
                    # DDP / FSDP average gradients over ranks: × world makes the sum, the 1-process gradient
                    scaled_backward(loss * (w * dist.world), scaler)
                if rows:
                    for k, v in m.items():
                        sums[k] = sums.get(k, 0.0) + w * v
                    weights += w
            grad_norms.append(clip_and_step(optimizer, policy.parameters(), t.grad_clip, scaler))
    out = _reduce_weighted(dist, sums, weights)
    out["actor/grad_norm"] = float(np.mean(grad_norms)) if grad_norms else 0.0
    out["actor/updates"] = float(len(grad_norms))
    return out


def _local_table(rollouts: Rollouts) -> GroupTable:
    """The GroupTable of rollouts that are all this process's (group ids 0..G-1)."""
    table = GroupTable()
    for g in sorted(set(rollouts.group_ids)):
        table.owner.append(0)
        table.lengths.append([len(rollouts.token_ids[i]) for i, h in enumerate(rollouts.group_ids) if h == g])
    if table.lengths and sorted(set(rollouts.group_ids)) != list(range(len(table))):
        raise ValueError("update_policy: rollouts.group_ids must be 0..G-1")
    return table


def _reduce_weighted(dist: Dist, sums: dict[str, float], weights: float) -> dict[str, float]:
    """Σ_ranks Σ w·metric / Σ_ranks Σ w, for every metric any rank reported."""
    everyone = dist.gather((sums, weights))
    total = sum(w for _, w in everyone)
    keys = sorted({k for s, _ in everyone for k in s})
    return {k: sum(s.get(k, 0.0) for s, _ in everyone) / max(total, 1e-12) for k in keys}


# ---------------------------------------------------------------------------------------------- loop


def train(cfg: TrainConfig) -> dict:
    """Run training (RL or SFT) to `trainer.steps`; returns {"out_dir", "step", "final", "history"}."""
    if cfg.algorithm.name == "sft":
        return train_sft(cfg)
    return train_rl(cfg)


def train_rl(cfg: TrainConfig) -> dict:
    t, a = cfg.trainer, cfg.algorithm
    run: Run = start_run(cfg)
    policy, processor, dist = run.policy, run.processor, run.dist
    ref = load_reference(cfg, run)
    blocked = run.blocked
    train_recs, heldout, data_stats = prepare_data(cfg, processor)
    sampler = PromptSampler(len(train_recs), t.seed)  # first round of each step
    refill_sampler = PromptSampler(len(train_recs), t.seed + 1_000_003)  # dynamic-sampling refills
    reward_fn = RewardFn(cfg.reward, t.max_new_tokens, a.overlong_buffer, a.overlong_penalty)
    backend = make_rollout_backend(cfg, run)
    shared = cfg.generation.backend == "hf"  # the hf sampler *is* the policy; any other engine is a copy
    gathered = policy.gathered if shared else nullcontext
    tp = 1 if shared else cfg.generation.tensor_parallel_size
    notes: list[str] = []

    def step_fn(step: int, optimizer, timer: Timer) -> dict[str, float]:
        with timer("generate"), gathered():
            rollouts, metrics, table = collect_rollouts(
                backend, sampler, refill_sampler, train_recs, cfg.data, t, reward_fn, step, t.seed, dist, tp,
            )
        if not shared and not backend.sleep() and not notes:
            notes.append(f"vLLM sleep skipped: {backend.sleep_skip_reason}")
            if dist.main:
                print(notes[0], flush=True)
        if len(table):
            adv = compute_advantages(a.advantage, torch.tensor(rollouts.rewards), torch.tensor(rollouts.group_ids, dtype=torch.long),
                                     a.adv_eps) if len(rollouts) else torch.zeros(0)
            spare = None if len(rollouts) else stand_in(train_recs[0], cfg.data, processor)
            metrics.update(update_policy(policy, ref, optimizer, processor, rollouts, adv, cfg, blocked, step, timer,
                                         table, dist, run.precision.scaler, spare))
            n, total = dist.sum([float(len(rollouts)), float(adv.abs().sum())])
            metrics["adv/abs_mean"] = total / max(n, 1.0)
        metrics["time/old_logprob"] = 0.0  # replaced by the timer when old log-probs were recomputed
        return metrics

    def load_state(state: dict) -> None:
        sampler.load_state_dict(state["prompts"])
        refill_sampler.load_state_dict(state["refills"])

    def sync() -> None:
        sync_engine(backend, policy)

    try:
        return run_loop(
            run, step_fn, backend=backend, reward_fn=reward_fn, heldout=heldout, data_stats=data_stats, load_state=load_state,
            save_state=lambda: {"prompts": sampler.state_dict(), "refills": refill_sampler.state_dict()},
            after_update=None if shared else sync, before_first_step=None if shared else sync, gathered=gathered,
        )
    finally:
        backend.close()


__all__ = ["make_rollout_backend", "micro_batch_loss", "response_focus", "shard_range", "sync_engine", "train", "update_policy"]
