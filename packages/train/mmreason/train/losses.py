"""Policy-gradient losses for GRPO / DAPO / VGPO / GSPO, as pure functions on `[B, L]` tensors.

Conventions: batch first; `mask` is the response mask `[B, L]` (float or bool, 1 = a generated token
that counts); `logp`, `old_logp`, `ref_logp` are per-token log-probabilities of the sampled tokens.
Padding never enters a mean: every reduction is masked, and an all-padding batch gives 0, not NaN.

Three registries (mmreason.core.registry; a config value may also name "package.module:function"):
- `POLICY_LOSSES` (`algorithm.loss`): `fn(logp, old_logp, A, mask, clip_low, clip_high) -> (loss [B, L],
  ratio [B, L])`, each with its own default clip range `fn.clip_range = (low, high)` (high None: = low).
  `clip` PPO (arXiv 1707.06347, Eq. 7), `clip_higher` DAPO (arXiv 2503.14476 §3.1), `gspo` GSPO's
  sequence-level ratio (arXiv 2507.18071, Eq. 5 and its s_i). `policy_loss` adds dual-clip (Ye et al.
  2020, arXiv 1912.09729, Eq. 5), aggregates and measures.
- `LOSS_AGGREGATIONS` (`algorithm.loss_agg`): `fn(loss [B, L], mask, norm_len) -> scalar`; token-mean
  (DAPO), seq-mean-token-mean (GRPO), seq-mean-token-sum-norm (Dr.GRPO). `fn.units(lengths)` counts the
  batch's share of the normaliser (tokens or sequences), so micro-batches add up to the mini-batch's loss.
- `KL_ESTIMATORS` (`algorithm.kl_type`): k1 / k2 / k3 (= low_var_kl) estimators of KL(pi || ref)
  (J. Schulman, "Approximating KL divergence").
`entropy_from_logits`: per-position entropy of the categorical distribution (core.models).
`rollout_correction`: the rollout engine's log-probs vs the trainer's, and truncated importance sampling.
"""

from __future__ import annotations

import torch

from mmreason.core.models import entropy_from_logits  # noqa: F401  (re-exported: the one definition)
from mmreason.core.registry import Registry

POLICY_LOSSES = Registry("policy loss", key="algorithm.loss")
LOSS_AGGREGATIONS = Registry("loss aggregation", key="algorithm.loss_agg")
KL_ESTIMATORS = Registry("KL estimator", key="algorithm.kl_type")
register_policy_loss = POLICY_LOSSES.register
register_loss_agg = LOSS_AGGREGATIONS.register
register_kl = KL_ESTIMATORS.register
LOG_RATIO_CLAMP = 20.0  # clamp log-ratios before exp so that exp never overflows (verl/EasyR1 do the same)


def masked_sum(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Sum of `x` over positions where `mask` is set (padding may hold NaN/inf; it is never read)."""
    x = torch.where(mask.bool(), x, torch.zeros((), dtype=x.dtype, device=x.device))
    return x.sum() if dim is None else x.sum(dim)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of `x` over valid positions; 0 where there is none (no NaN)."""
    n = mask.bool().sum() if dim is None else mask.bool().sum(dim)
    return masked_sum(x, mask, dim) / n.clamp(min=1).to(x.dtype)


def _check_shapes(where: str, mask: torch.Tensor, **tensors: torch.Tensor) -> None:
    if mask.dim() != 2:
        raise ValueError(f"losses.py:{where}: mask must be [B, L], got shape {tuple(mask.shape)}")
    for name, t in tensors.items():
        if t.shape != mask.shape:
            raise ValueError(
                f"losses.py:{where}: {name} shape {tuple(t.shape)} != mask shape {tuple(mask.shape)}"
            )


# ---------------------------------------------------------------------------------------------- aggregation


@register_loss_agg("token-mean", units=sum)
def token_mean(loss_mat: torch.Tensor, mask: torch.Tensor, norm_len: int | None = None) -> torch.Tensor:
    """Sum over all valid tokens / number of valid tokens (DAPO Eq. 8: long answers weigh per token)."""
    return masked_mean(loss_mat, mask)


@register_loss_agg("seq-mean-token-mean", units=lambda lengths: sum(1 for n in lengths if n > 0))
def seq_mean_token_mean(loss_mat: torch.Tensor, mask: torch.Tensor, norm_len: int | None = None) -> torch.Tensor:
    """Mean over tokens within each sequence, then over the sequences that have a valid token (GRPO Eq. 3)."""
    seq = masked_mean(loss_mat, mask, dim=-1)
    has = mask.bool().any(-1)
    return masked_sum(seq, has) / has.sum().clamp(min=1).to(seq.dtype)


@register_loss_agg("seq-mean-token-sum-norm", units=len)
def seq_mean_token_sum_norm(loss_mat: torch.Tensor, mask: torch.Tensor, norm_len: int | None = None) -> torch.Tensor:
    """Sum over each sequence's tokens / `norm_len`, then mean over all B sequences (Dr.GRPO arXiv 2503.20783 §3.2:
    divide by a constant, the generation budget; default L = mask.shape[-1], so pass the configured response
    budget when batches are padded to less). verl sums over sequences instead: the same up to the factor B."""
    norm = mask.shape[-1] if norm_len is None else norm_len
    if norm <= 0:
        raise ValueError(f"losses.py:aggregate_loss: norm_len must be positive, got {norm}")
    return (masked_sum(loss_mat, mask, dim=-1) / norm).mean() if mask.shape[0] else loss_mat.sum() * 0


def aggregate_loss(
    loss_mat: torch.Tensor, mask: torch.Tensor, mode: str = "token-mean", *, norm_len: int | None = None
) -> torch.Tensor:
    """Reduce a per-token loss `[B, L]` to a scalar with the aggregation `mode` (LOSS_AGGREGATIONS)."""
    _check_shapes("aggregate_loss", mask, loss_mat=loss_mat)
    return LOSS_AGGREGATIONS.get(mode)(loss_mat, mask, norm_len)


# ---------------------------------------------------------------------------------------------- policy losses


def token_log_ratio(logp: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log r_t = logp - old_logp on valid tokens, 0 at padding (old_logp detached)."""
    return torch.where(mask.bool(), logp - old_logp.detach(), torch.zeros_like(logp))


def clipped_surrogate(
    log_ratio: torch.Tensor, advantages: torch.Tensor, clip_low: float, clip_high: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO Eq. 7 as a loss: max(-A·r, -A·clip(r, 1 - clip_low, 1 + clip_high)); returns (loss, r)."""
    ratio = torch.exp(log_ratio.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    clipped = ratio.clamp(1.0 - clip_low, 1.0 + clip_high)
    return torch.maximum(-advantages * ratio, -advantages * clipped), ratio


@register_policy_loss("clip", clip_range=(0.2, None))
def ppo_clip(logp, old_logp, advantages, mask, clip_low, clip_high):
    """PPO clipped surrogate, symmetric range (clip_high is clip_low)."""
    return clipped_surrogate(token_log_ratio(logp, old_logp, mask), advantages, clip_low, clip_high)


@register_policy_loss("clip_higher", clip_range=(0.2, 0.28))
def dapo_clip_higher(logp, old_logp, advantages, mask, clip_low, clip_high):
    """DAPO's decoupled range [1 - clip_low, 1 + clip_high] (arXiv 2503.14476 Eq. 10)."""
    return clipped_surrogate(token_log_ratio(logp, old_logp, mask), advantages, clip_low, clip_high)


@register_policy_loss("gspo", clip_range=(3e-4, 4e-4))
def gspo(logp, old_logp, advantages, mask, clip_low, clip_high):
    """GSPO: r is the sequence ratio s_i = (pi/pi_old)(y_i)^(1/|y_i|) = exp(mean_t log r_t) (arXiv 2507.18071
    Eq. 5), broadcast to the sequence's tokens; the gradient flows through the mean. Meant for
    `loss_agg=seq-mean-token-mean` (each sequence counts once); clip range 3e-4 / 4e-4 as the paper."""
    seq = masked_mean(token_log_ratio(logp, old_logp, mask), mask, dim=-1)[:, None].expand_as(logp)
    return clipped_surrogate(seq, advantages, clip_low, clip_high)


def clip_range(kind: str, clip_low: float | None = None, clip_high: float | None = None) -> tuple[float, float]:
    """The (low, high) clip range a loss uses: the given values, else the loss's own `clip_range`
    (a symmetric loss, high None, ignores `clip_high`). Checked: 0 <= low < 1, high >= 0."""
    lo_default, hi_default = getattr(POLICY_LOSSES.get(kind), "clip_range", (0.2, 0.2))
    low = lo_default if clip_low is None else clip_low
    high = low if hi_default is None else (hi_default if clip_high is None else clip_high)
    if not (0 <= low < 1 and high >= 0):
        raise ValueError(f"algorithm.clip_low/clip_high: need 0 <= clip_low < 1 and clip_high >= 0, got {low}, {high}")
    return low, high


def check_dual_clip(dual_clip: float | None) -> None:
    if dual_clip is not None and dual_clip <= 1:
        raise ValueError(f"algorithm.dual_clip must be > 1 (Ye et al. 2020) or null, got {dual_clip}")


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    kind: str = "clip",
    clip_low: float | None = None,
    clip_high: float | None = None,
    dual_clip: float | None = 3.0,
    agg: str = "token-mean",
    norm_len: int | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss `kind` (POLICY_LOSSES), dual-clipped, aggregated with `agg`, and its metrics.

    Per token, with ratio r and advantage A (`[B, L]`, or `[B]` broadcast):
        L_kind = the registered loss, e.g. max(-A·r, -A·clip(r, 1 - clip_low, 1 + clip_high))   PPO Eq. 7
        L      = min(L_kind, -A·dual_clip)  if A < 0 and dual_clip set                        dual-clip PPO Eq. 5
    `clip_low`/`clip_high` None take the loss's own default (`clip_range`). Dual-clip (c = 3 by default,
    must be > 1) applies to every kind; pass `dual_clip=None` to disable it.

    Metrics (floats, over valid tokens): `pg_loss`; `clipfrac_high` (A > 0 and r > 1 + clip_high:
    the upper clip is active), `clipfrac_low` (A < 0 and r < 1 - clip_low), `clipfrac` (their sum);
    `dual_clipfrac` (A < 0 and r > dual_clip); `ppo_kl` = mean(old_logp - logp) (k1, verl's ppo_kl);
    `approx_kl` = mean(r - 1 - log r) (k3, non-negative estimate of KL(old || new), token ratio);
    `ratio_mean`, `ratio_max`.
    """
    if advantages.dim() == 1:
        advantages = advantages[:, None].expand_as(logp)
    _check_shapes("policy_loss", mask, logp=logp, old_logp=old_logp, advantages=advantages)
    fn = POLICY_LOSSES.get(kind)
    eps_low, eps_high = clip_range(kind, clip_low, clip_high)
    check_dual_clip(dual_clip)

    valid = mask.bool()
    A = advantages.detach().to(logp.dtype)
    loss_clip, ratio = fn(logp, old_logp, A, mask, eps_low, eps_high)
    if dual_clip is not None:
        loss_dual = torch.minimum(loss_clip, -A * dual_clip)  # dual-clip Eq. 5: bound the loss for A < 0
        loss_mat = torch.where(A < 0, loss_dual, loss_clip)
    else:
        loss_mat = loss_clip
    loss = aggregate_loss(loss_mat, mask, agg, norm_len=norm_len)

    with torch.no_grad():
        r = ratio.detach()
        pos, neg = A > 0, A < 0
        high = (pos & (r > 1.0 + eps_high)).to(r.dtype)
        low = (neg & (r < 1.0 - eps_low)).to(r.dtype)
        dual = (neg & (r > dual_clip)).to(r.dtype) if dual_clip is not None else torch.zeros_like(r)
        d = token_log_ratio(logp, old_logp, mask).detach().clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
        k3 = torch.expm1(d) - d
        stats = torch.stack(
            [
                loss.detach().to(r.dtype),
                masked_mean(high, mask),
                masked_mean(low, mask),
                masked_mean(high + low, mask),
                masked_mean(dual, mask),
                masked_mean(-d, mask),
                masked_mean(k3, mask),
                masked_mean(r, mask),
                torch.where(valid, r, torch.zeros_like(r)).max() if r.numel() else r.new_zeros(()),
            ]
        ).tolist()
    names = (
        "pg_loss",
        "clipfrac_high",
        "clipfrac_low",
        "clipfrac",
        "dual_clipfrac",
        "ppo_kl",
        "approx_kl",
        "ratio_mean",
        "ratio_max",
    )
    return loss, dict(zip(names, stats))


# ---------------------------------------------------------------------------------------------- KL


@register_kl("k1")
def kl_k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """logp - ref_logp (unbiased, high variance, can be negative)."""
    return logp - ref_logp


@register_kl("k2")
def kl_k2(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """0.5·(logp - ref_logp)² (biased, low variance)."""
    return 0.5 * (logp - ref_logp).square()


@register_kl("k3")
@register_kl("low_var_kl")
def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """exp(ref - logp) - (ref - logp) - 1 with ref - logp clamped to ±20 before exp and the result to
    [-10, 10], as verl's `low_var_kl` (unbiased, non-negative)."""
    x = (-(logp - ref_logp)).clamp(-20.0, 20.0)
    return (torch.expm1(x) - x).clamp(-10.0, 10.0)


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, kind: str = "low_var_kl") -> torch.Tensor:
    """Per-token estimate `[B, L]` of KL(pi || ref) from samples of pi with the estimator `kind`
    (KL_ESTIMATORS), in float32; reduce it with `aggregate_loss`."""
    return KL_ESTIMATORS.get(kind)(logp.float(), ref_logp.float())


# ---------------------------------------------------------------------------------------------- rollout mismatch


@torch.no_grad()
def rollout_correction(
    trainer_logp: torch.Tensor, rollout_logp: torch.Tensor, mask: torch.Tensor, cap: float | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    """Truncated importance sampling (TIS; F. Yao, L. Liu et al. 2025, "Your Efficient RL Framework Secretly Brings
    You Off-Policy RL Training"): the rollout engine (vLLM, bf16) samples from π_rollout, not from the trainer's
    π_old, so each token's loss is weighted by w_t = min(π_old(y_t) / π_rollout(y_t), C), detached
    (their Eq. for the token-level TIS-corrected gradient E_{y~π_rollout}[min(π_old/π_rollout, C)·∇ log π·A]).

    `trainer_logp`, `rollout_logp`: `[B, L]` log-probs of the sampled tokens under the trainer's old policy and
    the engine (both raw temperature-1 log-probs, `Completion.logprobs`); returns (w `[B, L]`, 1 at padding and when
    `cap` is None, and metrics over valid tokens: `logprob_diff_mean` = mean |Δ|, `logprob_diff_max`,
    `is_ratio_mean` = mean π_old/π_rollout (untruncated), `tis_clipfrac` = share of tokens with ratio > C).
    """
    _check_shapes("rollout_correction", mask, trainer_logp=trainer_logp, rollout_logp=rollout_logp)
    valid = mask.bool()
    d = torch.where(valid, trainer_logp.float() - rollout_logp.float(), torch.zeros((), device=mask.device))
    ratio = torch.exp(d.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    w = torch.ones_like(ratio) if cap is None else torch.where(valid, ratio.clamp(max=cap), torch.ones_like(ratio))
    stats = {
        "logprob_diff_mean": float(masked_mean(d.abs(), mask)),
        "logprob_diff_max": float(d.abs().max()) if d.numel() else 0.0,
        "is_ratio_mean": float(masked_mean(ratio, mask)),
        "tis_clipfrac": float(masked_mean((ratio > cap).float(), mask)) if cap is not None else 0.0,
    }
    return w, stats


__all__ = [
    "KL_ESTIMATORS",
    "LOSS_AGGREGATIONS",
    "POLICY_LOSSES",
    "aggregate_loss",
    "clip_range",
    "entropy_from_logits",
    "kl_penalty",
    "masked_mean",
    "masked_sum",
    "policy_loss",
    "rollout_correction",
]
