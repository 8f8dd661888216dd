"""Policy-gradient losses for GRPO / DAPO / VGPO / GSPO, as pure functions on `[B, L]` tensors.

Conventions: batch first; `mask` is the response mask `[B, L]` (float or bool, 1 = a generated token
that counts); `logp`, `old_logp`, `ref_logp` are per-token log-probabilities of the sampled tokens.
Padding never enters a mean: every reduction is masked, and an all-padding batch gives 0, not NaN.

- `policy_loss`: PPO clipped surrogate (Schulman et al. 2017, arXiv 1707.06347, Eq. 7) with
  clip-higher (DAPO, arXiv 2503.14476 §3.1), dual-clip for negative advantages (Ye et al. 2020,
  arXiv 1912.09729, Eq. 5) and GSPO's sequence-level ratio (arXiv 2507.18071: the objective of Eq. 5 and its s_i).
- `aggregate_loss`: token-mean (DAPO), seq-mean-token-mean (GRPO), seq-mean-token-sum-norm (Dr.GRPO).
- `kl_penalty`: k1 / k2 / k3 estimators of KL(pi || ref) (J. Schulman, "Approximating KL divergence").
- `entropy_from_logits`: per-position entropy of the categorical distribution.
"""

from __future__ import annotations

import torch

LOSS_KINDS = ("clip", "clip_higher", "gspo")
AGG_MODES = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm")
# Default clip ranges per kind: PPO 0.2 symmetric; DAPO clip-higher 0.2/0.28; GSPO 3e-4/4e-4 (the ranges the GSPO paper sets for its Eq. 5).
DEFAULT_CLIP = {"clip": (0.2, 0.2), "clip_higher": (0.2, 0.28), "gspo": (3e-4, 4e-4)}
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


def aggregate_loss(
    loss_mat: torch.Tensor, mask: torch.Tensor, mode: str = "token-mean", *, norm_len: int | None = None
) -> torch.Tensor:
    """Reduce a per-token loss `[B, L]` to a scalar.

    - `token-mean`: sum over all valid tokens / number of valid tokens (DAPO Eq. 8: long answers
      weigh per token, not per sequence).
    - `seq-mean-token-mean`: mean over tokens within each sequence, then mean over the sequences that
      have at least one valid token (GRPO, arXiv 2402.03300 Eq. 3).
    - `seq-mean-token-sum-norm`: sum over tokens of each sequence / `norm_len`, then mean over all B
      sequences (Dr.GRPO arXiv 2503.20783 §3.2: divide by a constant, not the length).
      `norm_len` is that constant, the generation budget; default `L = mask.shape[-1]`, so pass
      the configured max response length when batches are padded to less than that. (verl's
      version sums over sequences instead of averaging: the same up to the constant factor B.)
    """
    _check_shapes("aggregate_loss", mask, loss_mat=loss_mat)
    if mode == "token-mean":
        return masked_mean(loss_mat, mask)
    if mode == "seq-mean-token-mean":
        seq = masked_mean(loss_mat, mask, dim=-1)
        has = mask.bool().any(-1)
        return masked_sum(seq, has) / has.sum().clamp(min=1).to(seq.dtype)
    if mode == "seq-mean-token-sum-norm":
        norm = mask.shape[-1] if norm_len is None else norm_len
        if norm <= 0:
            raise ValueError(f"losses.py:aggregate_loss: norm_len must be positive, got {norm}")
        return (masked_sum(loss_mat, mask, dim=-1) / norm).mean() if mask.shape[0] else loss_mat.sum() * 0
    raise ValueError(f"losses.py:aggregate_loss: unknown mode {mode!r}; known: {AGG_MODES}")


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
    """Clipped policy-gradient loss and its metrics.

    Per token, with ratio r = exp(logp - old_logp) and advantage A (`[B, L]`, or `[B]` broadcast):
        L_clip = max(-A·r, -A·clip(r, 1 - clip_low, 1 + clip_high))     PPO Eq. 7 (as a loss)
        L      = min(L_clip, -A·dual_clip)  if A < 0 and dual_clip set   dual-clip PPO Eq. 5
    kinds:
    - `clip`: vanilla PPO, symmetric range; `clip_high` is ignored (= clip_low). Default 0.2.
    - `clip_higher`: DAPO's decoupled range, defaults clip_low 0.2, clip_high 0.28.
    - `gspo`: r is the per-sequence ratio exp(mean_t(logp - old_logp)) (GSPO s_i, used in its Eq. 5), broadcast to the
      sequence's tokens; gradient flows through the mean. Defaults 3e-4 / 4e-4 (the GSPO paper). GSPO is
      meant to be used with `agg="seq-mean-token-mean"`, which makes each sequence count once.
    `clip_low`/`clip_high` None take the kind's default above. Dual-clip (c = 3 by default, must be
    > 1) applies to every kind; pass `dual_clip=None` to disable it.
    Log-ratios are clamped to ±20 before exp (as verl/EasyR1) so r never overflows.

    Metrics (floats, over valid tokens): `pg_loss`; `clipfrac_high` (A > 0 and r > 1 + clip_high:
    the upper clip is active), `clipfrac_low` (A < 0 and r < 1 - clip_low), `clipfrac` (their sum);
    `dual_clipfrac` (A < 0 and r > dual_clip); `ppo_kl` = mean(old_logp - logp) (k1, verl's ppo_kl);
    `approx_kl` = mean(r - 1 - log r) (k3, non-negative estimate of KL(old || new), token ratio);
    `ratio_mean`, `ratio_max`.
    """
    if advantages.dim() == 1:
        advantages = advantages[:, None].expand_as(logp)
    _check_shapes("policy_loss", mask, logp=logp, old_logp=old_logp, advantages=advantages)
    if kind not in LOSS_KINDS:
        raise ValueError(f"losses.py:policy_loss: unknown kind {kind!r}; known: {LOSS_KINDS}")
    lo_default, hi_default = DEFAULT_CLIP[kind]
    eps_low = lo_default if clip_low is None else clip_low
    eps_high = eps_low if kind == "clip" else (hi_default if clip_high is None else clip_high)
    if not (0 <= eps_low < 1 and eps_high >= 0):
        raise ValueError(
            f"losses.py:policy_loss: need 0 <= clip_low < 1 and clip_high >= 0, got {eps_low}, {eps_high}"
        )
    if dual_clip is not None and dual_clip <= 1:
        raise ValueError(f"losses.py:policy_loss: dual_clip must be > 1 (Ye et al. 2020), got {dual_clip}")

    valid = mask.bool()
    A = advantages.detach().to(logp.dtype)
    token_log_ratio = torch.where(valid, logp - old_logp.detach(), torch.zeros_like(logp))
    if kind == "gspo":
        # GSPO s_i = (pi/pi_old)(y_i)^(1/|y_i|) = exp(mean_t log r_t)
        log_ratio = masked_mean(token_log_ratio, mask, dim=-1)[:, None].expand_as(logp)
    else:
        log_ratio = token_log_ratio
    ratio = torch.exp(log_ratio.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    clipped = ratio.clamp(1.0 - eps_low, 1.0 + eps_high)
    loss_clip = torch.maximum(-A * ratio, -A * clipped)  # PPO Eq. 7 negated
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
        d = token_log_ratio.detach().clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
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


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, kind: str = "low_var_kl") -> torch.Tensor:
    """Per-token estimate of KL(pi || ref) from samples of pi (Schulman, "Approximating KL divergence").

    - `k1`: logp - ref_logp                        (unbiased, high variance, can be negative)
    - `k2`: 0.5·(logp - ref_logp)²                 (biased, low variance)
    - `k3` / `low_var_kl`: exp(ref - logp) - (ref - logp) - 1, with ref - logp clamped to ±20 before
      exp and the result clamped to [-10, 10], as verl's `low_var_kl` (unbiased, non-negative).
    Returns `[B, L]`; reduce it with `aggregate_loss`.
    """
    diff = logp.float() - ref_logp.float()
    if kind == "k1":
        return diff
    if kind == "k2":
        return 0.5 * diff.square()
    if kind in ("k3", "low_var_kl"):
        x = (-diff).clamp(-20.0, 20.0)
        return (torch.expm1(x) - x).clamp(-10.0, 10.0)
    raise ValueError(f"losses.py:kl_penalty: unknown kind {kind!r}; known: k1, k2, k3, low_var_kl")


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """H = -Σ p·log p over the last dim (p = softmax), float32, `[..., V] -> [...]`; -inf logits give 0·log 0 = 0."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    p = logp.exp()
    return -torch.where(p > 0, p * logp, torch.zeros_like(p)).sum(-1)


__all__ = [
    "AGG_MODES",
    "DEFAULT_CLIP",
    "LOSS_KINDS",
    "aggregate_loss",
    "entropy_from_logits",
    "kl_penalty",
    "masked_mean",
    "masked_sum",
    "policy_loss",
]
