"""The RL step (GRPO / DAPO / VGPO and any mix of their parts) inside the shared loop (loop.py). One step:

    1. rollouts  = collect_rollouts(...)                 prompts -> n samples each -> rewards (+ dynamic sampling)
    2. adv       = compute_advantages(name, rewards, groups)        one scalar per rollout
    3. old_logp  = policy log-probs before the update    recomputed only if a step makes > 1 update;
                                                         with one update per step the update's own forward
                                                         is on-policy, so old_logp = logp.detach() (ratio 1)
    4. for each mini-batch (whole groups, shuffled): for each micro-batch:
           logp, hidden = response_logprobs(policy, batch)            one forward
           Â_{i,t} = token_weights(Â_i, ...)      none: Â_i; vgpo: Â_i·α_i·ψ_{i,t} from ρ = core.focus.visual_focus
                                                  (normalised, no grad, from the same forward's hidden states)
           loss = policy_loss(logp, old_logp, Â, mask) (+ kl_coef·KL to the reference)
           (loss · share of the mini-batch's tokens).backward()   -> exactly the mini-batch's token-mean
       clip grad norm, AdamW step
    5. (loop.py) lr schedule step; push weights to a non-shared rollout engine (vllm); evaluate; log; checkpoint

`train(cfg)` runs RL or SFT (algorithm=sft, see sft.py) and returns a summary dict.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mmreason.core.focus import visual_focus
from mmreason.core.models import image_token_mask, load_policy, response_logprobs

from .advantages import compute_advantages
from .config import TrainConfig
from .data import PromptSampler
from .logging_utils import Timer
from .loop import clip_and_step, run_loop
from .losses import LOSS_AGGREGATIONS, aggregate_loss, kl_penalty, policy_loss
from .rewards import RewardFn
from .rollout import Rollouts, collect_rollouts, pad_rows, teacher_forcing_batch
from .runtime import Run, prepare_data, start_run, trainable
from .sft import train_sft
from .token_weights import TOKEN_WEIGHTS

# ---------------------------------------------------------------------------------------------- setup


def make_rollout_backend(cfg: TrainConfig, model, processor):
    """`hf` samples from the policy object itself (updates are visible at once); any other engine (`vllm`)
    is a separate copy that gets the policy's weights now and after every update (`train_rl`)."""
    from mmreason.core.generation import make_backend

    if cfg.generation.backend == "hf":
        return make_backend(cfg.generation, cfg.model, model=model, processor=processor)
    backend = make_backend(cfg.generation, cfg.model)
    backend.load_weights(model.state_dict())  # start from the policy (a resumed run's weights)
    return backend


# ---------------------------------------------------------------------------------------------- update


def _micro_weight(lengths: list[int], mini_lengths: list[int], agg: str) -> float:
    """Share of the mini-batch's loss normaliser (tokens or sequences, the aggregation's `units`) that a
    micro-batch with these response lengths holds, so that Σ_micro weight·loss(micro) = loss(mini-batch)."""
    units = LOSS_AGGREGATIONS.get(agg).units
    return float(units(lengths)) / max(1, units(mini_lengths))


def _minibatches(rollouts: Rollouts, size: int, rng: np.random.Generator) -> list[list[int]]:
    """Rollout rows in a group-shuffled order (groups stay contiguous), cut into chunks of `size`."""
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(rollouts.group_ids):
        groups.setdefault(g, []).append(i)
    order = [i for g in rng.permutation(sorted(groups)) for i in groups[int(g)]]
    return [order[s : s + size] for s in range(0, len(order), size)]


def policy_forward(model, tf: dict, temperature: float, blocked: list[int], with_focus: bool):
    """logp [b, R] (with grad) and, if asked, the normalised visual focus ρ [b, R] from the same forward's
    last hidden states (no grad)."""
    if not with_focus:
        return response_logprobs(model, tf, temperature, blocked_ids=blocked), None
    logp, hidden = response_logprobs(model, tf, temperature, return_hidden=True, blocked_ids=blocked)
    rho = visual_focus(hidden, image_token_mask(tf["input_ids"], model), tf["response_mask"], normalise=True)
    return logp, rho


def micro_batch_loss(model, ref_model, tf: dict, adv: torch.Tensor, group_ids: torch.Tensor, old_logp, cfg: TrainConfig, blocked):
    """The policy loss of one micro-batch (its own aggregation) and its metrics.

    `adv` [b] per rollout, made per-token by `algorithm.token_weights`; `old_logp` [b, R] or None
    (on-policy: old = logp.detach(), ratio 1)."""
    t, a = cfg.trainer, cfg.algorithm
    weighting = TOKEN_WEIGHTS.get(a.token_weights)
    mask = tf["response_mask"]
    logp, focus = policy_forward(model, tf, t.temperature, blocked, getattr(weighting, "needs_focus", False))
    adv_tok, metrics = weighting(adv, mask, group_ids, focus, a)
    old = logp.detach() if old_logp is None else old_logp
    loss, m = policy_loss(
        logp, old, adv_tok, mask, kind=a.loss, clip_low=a.clip_low, clip_high=a.clip_high,
        dual_clip=a.dual_clip, agg=a.loss_agg, norm_len=t.max_new_tokens,
    )
    metrics = {**metrics, **{f"actor/{k}": v for k, v in m.items()}}
    if a.kl_coef > 0:
        with torch.no_grad():
            ref = response_logprobs(ref_model, tf, t.temperature, blocked_ids=blocked)
        kl = aggregate_loss(kl_penalty(logp, ref, a.kl_type), mask, a.loss_agg, norm_len=t.max_new_tokens)
        loss = loss + a.kl_coef * kl
        metrics["actor/kl_ref"] = float(kl.detach())
    metrics["actor/loss"] = float(loss.detach())
    return loss, metrics


def update_policy(model, ref_model, optimizer, processor, rollouts: Rollouts, adv: torch.Tensor, cfg: TrainConfig, blocked, step: int, timer: Timer) -> dict[str, float]:
    """PPO-style updates on one step's rollouts; returns mean metrics."""
    t, a = cfg.trainer, cfg.algorithm
    device = next(model.parameters()).device
    B = len(rollouts)
    gids = torch.tensor(rollouts.group_ids)
    n_updates = t.ppo_epochs * math.ceil(B / t.mini_batch_size)
    pix = dict(min_pixels=cfg.model.min_pixels, max_pixels=cfg.model.max_pixels, device=device)
    params = trainable(model)

    old_logp: list[torch.Tensor] | None = None
    if n_updates > 1:  # the policy changes between updates: freeze old log-probs first
        old_logp = [None] * B
        with timer("old_logprob"), torch.no_grad():
            for s in range(0, B, t.micro_batch_size):
                rows = list(range(s, min(B, s + t.micro_batch_size)))
                tf = teacher_forcing_batch(processor, rollouts, rows, **pix)
                lp = response_logprobs(model, tf, t.temperature, blocked_ids=blocked).cpu()
                for j, i in enumerate(rows):
                    old_logp[i] = lp[j, : len(rollouts.token_ids[i])]

    sums: dict[str, float] = {}
    weights = 0.0

    def add(metrics: dict[str, float], w: float) -> None:
        nonlocal weights
        for k, v in metrics.items():
            sums[k] = sums.get(k, 0.0) + w * v
        weights += w

    grad_norms = []
    with timer("update"):
        for epoch in range(t.ppo_epochs):
            rng = np.random.default_rng([cfg.trainer.seed, step, epoch, 7])
            for mini in _minibatches(rollouts, t.mini_batch_size, rng):
                mini_lengths = [len(rollouts.token_ids[i]) for i in mini]
                optimizer.zero_grad(set_to_none=True)
                for s in range(0, len(mini), t.micro_batch_size):
                    rows = mini[s : s + t.micro_batch_size]
                    tf = teacher_forcing_batch(processor, rollouts, rows, **pix)
                    mask = tf["response_mask"]
                    old = None if old_logp is None else pad_rows([old_logp[i] for i in rows], mask.shape[1]).to(device)
                    loss, m = micro_batch_loss(model, ref_model, tf, adv[rows].to(device), gids[rows].to(device), old, cfg, blocked)
                    w = _micro_weight([len(rollouts.token_ids[i]) for i in rows], mini_lengths, a.loss_agg)
                    (loss * w).backward()  # Σ_micro w·loss(micro) = loss(mini-batch)
                    add(m, w)
                grad_norms.append(clip_and_step(optimizer, params, t.grad_clip))
    out = {k: v / max(weights, 1e-12) for k, v in sums.items()}
    out["actor/grad_norm"] = float(np.mean(grad_norms)) if grad_norms else 0.0
    out["actor/updates"] = float(len(grad_norms))
    return out


# ---------------------------------------------------------------------------------------------- loop


def train(cfg: TrainConfig) -> dict:
    """Run training (RL or SFT) to `trainer.steps`; returns {"out_dir", "step", "final", "history"}."""
    if cfg.algorithm.name == "sft":
        return train_sft(cfg)
    return train_rl(cfg)


def train_rl(cfg: TrainConfig) -> dict:
    t, a = cfg.trainer, cfg.algorithm
    run: Run = start_run(cfg)
    model, processor = run.model, run.processor
    ref_model = None
    if a.kl_coef > 0:  # the reference is the initial policy, also on resume
        ref_model, _ = load_policy(cfg.model)
        ref_model.requires_grad_(False)
    blocked = run.blocked
    train_recs, heldout, data_stats = prepare_data(cfg, processor)
    sampler = PromptSampler(len(train_recs), t.seed)  # first round of each step
    refill_sampler = PromptSampler(len(train_recs), t.seed + 1_000_003)  # dynamic-sampling refills
    reward_fn = RewardFn(cfg.reward, t.max_new_tokens, a.overlong_buffer, a.overlong_penalty)
    backend = make_rollout_backend(cfg, model, processor)

    def step_fn(step: int, optimizer, timer: Timer) -> dict[str, float]:
        with timer("generate"):
            rollouts, metrics = collect_rollouts(backend, sampler, refill_sampler, train_recs, cfg.data, t, reward_fn, step, t.seed)
        if len(rollouts):
            adv = compute_advantages(a.advantage, torch.tensor(rollouts.rewards), torch.tensor(rollouts.group_ids), a.adv_eps)
            metrics.update(update_policy(model, ref_model, optimizer, processor, rollouts, adv, cfg, blocked, step, timer))
            metrics["adv/abs_mean"] = float(adv.abs().mean())
        metrics["time/old_logprob"] = 0.0  # replaced by the timer when old log-probs were recomputed
        return metrics

    def load_state(state: dict) -> None:
        sampler.load_state_dict(state["prompts"])
        refill_sampler.load_state_dict(state["refills"])

    shared = cfg.generation.backend == "hf"  # the hf sampler *is* the policy; any other engine is a copy
    try:
        return run_loop(
            run, step_fn, backend=backend, reward_fn=reward_fn, heldout=heldout, data_stats=data_stats, load_state=load_state,
            save_state=lambda: {"prompts": sampler.state_dict(), "refills": refill_sampler.state_dict()},
            after_update=None if shared else lambda: backend.load_weights(model.state_dict()),
        )
    finally:
        backend.close()
