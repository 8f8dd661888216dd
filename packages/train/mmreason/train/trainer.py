"""The RL loop (GRPO / DAPO / VGPO) on the transformers backend. One step:

    1. rollouts  = collect_rollouts(...)                 prompts -> n samples each -> rewards (+ dynamic sampling)
    2. adv       = compute_advantages(name, rewards, groups)        one scalar per rollout
    3. old_logp  = policy log-probs before the update    recomputed only if a step makes > 1 update;
                                                         with one update per step the update's own forward
                                                         is on-policy, so old_logp = logp.detach() (ratio 1)
    4. for each mini-batch (whole groups, shuffled): for each micro-batch:
           logp, hidden = response_logprobs(policy, batch)            one forward
           VGPO: ρ = visual_focus(hidden[response], mean of hidden[image tokens])   (no grad, same forward)
                 ψ, α = vgpo_weights(ρ, mask, groups);  Â_{i,t} = Â_i·α_i·ψ_{i,t}
           loss = policy_loss(logp, old_logp, Â, mask) (+ kl_coef·KL to the reference)
           (loss · share of the mini-batch's tokens).backward()   -> exactly the mini-batch's token-mean
       clip grad norm, AdamW step
    5. lr schedule step; push weights to the rollout engine (vllm); log; evaluate; checkpoint

`train(cfg)` runs RL or SFT (algorithm=sft, see sft.py) and returns a summary dict.
"""

from __future__ import annotations

import math
import random
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from mmreason.core.models import blocked_token_ids, image_token_mask, load_policy, response_logprobs

from .advantages import compute_advantages
from .checkpoint import clean_checkpoints, resolve_resume, restore_trainer_state, save_checkpoint
from .config import TrainConfig
from .data import PromptSampler, filter_long_prompts, load_records
from .logging_utils import RunLogger, Timer
from .losses import aggregate_loss, kl_penalty, policy_loss
from .rewards import RewardFn
from .rollout import Rollouts, collect_rollouts, evaluate, pad_rows, teacher_forcing_batch
from .vgpo import image_token_mean, vgpo_advantages, vgpo_weights, visual_focus

# ---------------------------------------------------------------------------------------------- setup


def setup_torch(cfg: TrainConfig) -> None:
    """Seeds, threads and determinism switches (before the model is built)."""
    t = cfg.trainer
    if t.num_threads:
        torch.set_num_threads(int(t.num_threads))
    if t.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    random.seed(t.seed)
    np.random.seed(t.seed)
    torch.manual_seed(t.seed)


def resolve_out_dir(cfg: TrainConfig) -> Path:
    out = cfg.trainer.out_dir
    if not out:
        try:
            from hydra.core.hydra_config import HydraConfig

            out = HydraConfig.get().runtime.output_dir
        except Exception:
            out = "outputs/train"
    p = Path(out).expanduser()
    p.mkdir(parents=True, exist_ok=True)
    return p


def lr_factor(step: int, total: int, schedule: str = "constant", warmup: int = 0, min_ratio: float = 0.0) -> float:
    """LR multiplier at `step` (0-based): linear warm-up, then constant / cosine / linear decay to min_ratio."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "cosine":
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "linear":
        return min_ratio + (1 - min_ratio) * (1 - progress)
    raise ValueError(f"trainer.lr_schedule={schedule!r}: expected constant, cosine or linear")


def make_optimizer(model, cfg: TrainConfig):
    t = cfg.trainer
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=t.lr, betas=tuple(t.betas), weight_decay=t.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, t.steps, t.lr_schedule, t.warmup_steps, t.min_lr_ratio)
    )
    return opt, sched


def load_for_run(cfg: TrainConfig, ckpt: Path | None):
    """(model, processor) from the config, or from a checkpoint's model/ when resuming."""
    import dataclasses

    mcfg = cfg.model if ckpt is None else dataclasses.replace(cfg.model, path=str(ckpt / "model"))
    model, processor = load_policy(mcfg)
    model.train()
    return model, processor


def make_rollout_backend(cfg: TrainConfig, model, processor):
    """`hf` shares the policy object (updates are visible at once); `vllm` gets weights pushed (sync_weights)."""
    from mmreason.core.generation import make_backend

    if cfg.generation.backend == "hf":
        return make_backend(cfg.generation, cfg.model, model=model, processor=processor)
    if cfg.generation.backend == "vllm":
        backend = make_backend(cfg.generation, cfg.model)
        backend.load_weights(model.state_dict())  # start from the policy (a resumed run's weights)
        return backend
    raise ValueError(f"generation.backend={cfg.generation.backend!r}: rollouts need hf or vllm")


def prepare_data(cfg: TrainConfig, processor, log=print) -> tuple[list[dict], list[dict], dict[str, float]]:
    """(train, heldout, stats): every record checked before step 1 (data.skip_invalid drops and counts bad
    ones: stats data/invalid_train, data/invalid_heldout; data/too_long counts prompts over the limit)."""
    invalid: dict = {}
    train, heldout = load_records(cfg.data, invalid)
    skip = invalid["train"].append if cfg.data.skip_invalid else None
    train, dropped = filter_long_prompts(train, processor, cfg.data, cfg.trainer.max_prompt_length, skip)
    heldout = heldout[: cfg.trainer.eval_size]
    heldout, _ = filter_long_prompts(heldout, processor, cfg.data, 1 << 62, invalid["heldout"].append if skip else None)
    for split, errs in invalid.items():
        if errs:
            log(f"data: dropped {len(errs)} invalid {split} records (data.skip_invalid=true); first: {errs[0]}")
    if dropped:
        log(f"data: dropped {dropped} prompts longer than trainer.max_prompt_length={cfg.trainer.max_prompt_length}")
    if not train:
        raise ValueError("data: no training record left (invalid, or longer than trainer.max_prompt_length)")
    stats = {"data/invalid_train": len(invalid["train"]), "data/invalid_heldout": len(invalid["heldout"]),
             "data/too_long": dropped}
    return train, heldout, stats


# ---------------------------------------------------------------------------------------------- update


def _micro_weight(mask: torch.Tensor, mini_tokens: int, mini_seqs: int, agg: str) -> float:
    """Share of the mini-batch's loss normaliser that this micro-batch holds, so that the sum over
    micro-batches of weight·loss(micro) equals loss(mini-batch) for every aggregation mode."""
    if agg == "token-mean":
        return float(mask.sum()) / max(1, mini_tokens)
    if agg == "seq-mean-token-mean":
        return float(mask.bool().any(-1).sum()) / max(1, mini_seqs)
    return mask.shape[0] / max(1, mini_seqs)  # seq-mean-token-sum-norm: mean over all sequences


def _minibatches(rollouts: Rollouts, size: int, rng: np.random.Generator) -> list[list[int]]:
    """Rollout rows in a group-shuffled order (groups stay contiguous), cut into chunks of `size`."""
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(rollouts.group_ids):
        groups.setdefault(g, []).append(i)
    order = [i for g in rng.permutation(sorted(groups)) for i in groups[int(g)]]
    return [order[s : s + size] for s in range(0, len(order), size)]


def policy_forward(model, tf: dict, temperature: float, blocked: list[int], vgpo_cfg):
    """logp [b, R] (with grad) and, for VGPO, ρ [b, R] from the same forward's last hidden state."""
    if vgpo_cfg is None:
        return response_logprobs(model, tf, temperature, blocked_ids=blocked), None
    logp, hidden = response_logprobs(model, tf, temperature, return_hidden=True, blocked_ids=blocked)
    with torch.no_grad():
        mask = tf["response_mask"]
        mu = image_token_mean(hidden.detach(), image_token_mask(tf["input_ids"], model))
        rho = visual_focus(hidden[:, -mask.shape[1] :], mu, mask)  # the response tokens' own hidden states
    return logp, rho


def micro_batch_loss(model, ref_model, tf: dict, adv: torch.Tensor, group_ids: torch.Tensor, old_logp, cfg: TrainConfig, blocked):
    """The policy loss of one micro-batch (its own aggregation) and its metrics.

    `adv` [b] per rollout; `old_logp` [b, R] or None (on-policy: old = logp.detach(), ratio 1)."""
    t, a = cfg.trainer, cfg.algorithm
    vgpo_cfg = cfg.vgpo_config()
    mask = tf["response_mask"]
    logp, rho = policy_forward(model, tf, t.temperature, blocked, vgpo_cfg)
    metrics: dict[str, float] = {}
    if rho is not None:  # VGPO: Â_{i,t} = Â_i·α_i·ψ_{i,t}
        psi, alpha, diag = vgpo_weights(rho, mask, group_ids, vgpo_cfg)
        adv_tok = vgpo_advantages(adv, psi, alpha, mask)
        metrics = {f"vgpo/{k}": v for k, v in diag.items()}
    else:
        adv_tok = adv[:, None].expand_as(logp)
    old = logp.detach() if old_logp is None else old_logp
    loss, m = policy_loss(
        logp, old, adv_tok, mask, kind=a.loss, clip_low=a.clip_low, clip_high=a.clip_high,
        dual_clip=a.dual_clip, agg=a.loss_agg, norm_len=t.max_new_tokens,
    )
    metrics.update({f"actor/{k}": v for k, v in m.items()})
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
    params = [p for p in model.parameters() if p.requires_grad]

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
                mini_tokens = sum(len(rollouts.token_ids[i]) for i in mini)
                optimizer.zero_grad(set_to_none=True)
                for s in range(0, len(mini), t.micro_batch_size):
                    rows = mini[s : s + t.micro_batch_size]
                    tf = teacher_forcing_batch(processor, rollouts, rows, **pix)
                    mask = tf["response_mask"]
                    old = None if old_logp is None else pad_rows([old_logp[i] for i in rows], mask.shape[1]).to(device)
                    loss, m = micro_batch_loss(model, ref_model, tf, adv[rows].to(device), gids[rows].to(device), old, cfg, blocked)
                    w = _micro_weight(mask, mini_tokens, len(mini), a.loss_agg)
                    (loss * w).backward()  # Σ_micro w·loss(micro) = loss(mini-batch)
                    add(m, w)
                clip = t.grad_clip if t.grad_clip and t.grad_clip > 0 else float("inf")
                grad_norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip)))
                optimizer.step()
    out = {k: v / max(weights, 1e-12) for k, v in sums.items()}
    out["actor/grad_norm"] = float(np.mean(grad_norms)) if grad_norms else 0.0
    out["actor/updates"] = float(len(grad_norms))
    return out


# ---------------------------------------------------------------------------------------------- loop


def train(cfg: TrainConfig) -> dict:
    """Run training (RL or SFT) to `trainer.steps`; returns {"out_dir", "step", "final", "history"}."""
    if cfg.algorithm.name == "sft":
        from .sft import train_sft

        return train_sft(cfg)
    return train_rl(cfg)


def train_rl(cfg: TrainConfig) -> dict:
    t = cfg.trainer
    setup_torch(cfg)
    out_dir = resolve_out_dir(cfg)
    clean_checkpoints(out_dir, t.save_limit)  # what a killed run left behind (temp and half-pruned dirs)
    ckpt = resolve_resume(t.resume, out_dir)
    model, processor = load_for_run(cfg, ckpt)
    ref_model = None
    if cfg.algorithm.kl_coef > 0:  # the reference is the initial policy, also on resume
        ref_model, _ = load_policy(cfg.model)
        ref_model.requires_grad_(False)
    blocked = blocked_token_ids(processor)
    train_recs, heldout, data_stats = prepare_data(cfg, processor)
    sampler = PromptSampler(len(train_recs), t.seed)  # first round of each step
    refill_sampler = PromptSampler(len(train_recs), t.seed + 1_000_003)  # dynamic-sampling refills
    optimizer, scheduler = make_optimizer(model, cfg)
    start = 0
    if ckpt is not None:
        start, data_state = restore_trainer_state(ckpt, optimizer, scheduler)
        sampler.load_state_dict(data_state["prompts"])
        refill_sampler.load_state_dict(data_state["refills"])
    reward_fn = RewardFn(cfg.reward, t.max_new_tokens, cfg.algorithm.overlong_buffer, cfg.algorithm.overlong_penalty)
    backend = make_rollout_backend(cfg, model, processor)
    sync = cfg.generation.backend != "hf" and cfg.rollout.sync_weights
    log = RunLogger(cfg.logger, out_dir, t.steps, start, _as_dict(cfg))
    if ckpt is not None:
        log.message(f"resumed from {ckpt} at step {start}")
    history: list[dict] = []
    timer = Timer()
    try:
        for step in range(start, t.steps):
            t0 = time.perf_counter()
            with timer("generate"):
                rollouts, metrics = collect_rollouts(backend, sampler, refill_sampler, train_recs, cfg.data, t, reward_fn, step, t.seed)
            if len(rollouts):
                adv = compute_advantages(
                    cfg.algorithm.advantage, torch.tensor(rollouts.rewards), torch.tensor(rollouts.group_ids), cfg.algorithm.adv_eps
                )
                metrics.update(update_policy(model, ref_model, optimizer, processor, rollouts, adv, cfg, blocked, step, timer))
                metrics["adv/abs_mean"] = float(adv.abs().mean())
            metrics["actor/lr"] = optimizer.param_groups[0]["lr"]
            if step == start:
                metrics.update(data_stats)
            with warnings.catch_warnings():  # a step whose groups were all dropped made no update; the schedule still counts it
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
                scheduler.step()
            if sync:
                with timer("sync_weights"):
                    backend.load_weights(model.state_dict())
            done = step + 1
            if heldout and (done == t.steps or (t.eval_every and done % t.eval_every == 0)):
                with timer("eval"):
                    metrics.update(evaluate(backend, heldout, cfg.data, reward_fn, t.max_new_tokens))
            metrics.update({"time/old_logprob": 0.0, **timer.pop()})  # 0: old log-probs reused (one update per step)
            metrics["time/step"] = time.perf_counter() - t0
            log.log(done, metrics)
            history.append({"step": done, **metrics})
            if done == t.steps or (t.save_every and done % t.save_every == 0):
                save_checkpoint(
                    out_dir, done, model, processor, optimizer, scheduler,
                    {"prompts": sampler.state_dict(), "refills": refill_sampler.state_dict()}, t.save_limit,
                    meta={"algorithm": cfg.algorithm.name, "metrics": metrics},
                )
    finally:
        log.close()
        backend.close()
    return {"out_dir": str(out_dir), "step": t.steps, "history": history, "final": history[-1] if history else {}}


def _as_dict(cfg: TrainConfig) -> dict:
    import dataclasses

    return dataclasses.asdict(cfg)
