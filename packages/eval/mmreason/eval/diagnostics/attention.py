"""The diagnostics' math: pure functions on tensors (no model, no I/O).

Shapes: B samples, S sequence positions (left-padded prompt, then the right-padded response block
of R positions, as `mmreason.core.models.append_responses` builds it), T response steps, H heads.

Step t is the attention row of response token t (the query at its position; it sees the prompt,
earlier response tokens and itself). Its attention is split over three disjoint key sets that
together cover every non-padding key:

- `image`:     `<|image_pad|>` positions (`image_token_mask`),
- `question`:  the other prompt tokens (chat template, system, question text, vision start/end),
- `generated`: response tokens (earlier ones and the token itself; later ones are causally masked).

Padding keys (prompt left padding, response right padding) are in none of the sets: eager attention
gives them exactly zero weight (the additive mask is the dtype's minimum, exp underflows to 0), so
the three shares sum to 1 without renormalisation. `attention_shares` does not renormalise; the
runner records the largest |1 - sum| it sees so a leak would show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

KEY_SETS = ("image", "question", "generated")


def key_masks(
    attention_mask: torch.Tensor, image_mask: torch.Tensor, response_mask: torch.Tensor
) -> torch.Tensor:
    """`[B, 3, S]` bool masks of the image / question / generated keys (KEY_SETS order).

    `attention_mask` and `image_mask` are `[B, S]`; `response_mask` `[B, R]` covers the last R
    positions. The three masks are disjoint and their union is `attention_mask`.
    """
    B, S = attention_mask.shape
    R = response_mask.shape[1]
    if image_mask.shape != (B, S) or response_mask.shape[0] != B or R > S:
        raise ValueError(
            f"diagnostics.key_masks: attention_mask {tuple(attention_mask.shape)}, image_mask "
            f"{tuple(image_mask.shape)}, response_mask {tuple(response_mask.shape)} do not line up"
        )
    real = attention_mask.bool()
    generated = torch.zeros_like(real)
    generated[:, S - R :] = response_mask.bool()
    generated &= real
    image = image_mask.bool() & real & ~generated
    question = real & ~image & ~generated
    return torch.stack([image, question, generated], dim=1)


def attention_shares(
    attn: Sequence[torch.Tensor], key_masks: torch.Tensor, query_positions: torch.Tensor
) -> torch.Tensor:
    """Share of attention each query pays to each key set, averaged over heads then layers.

    `attn`: per layer `[B, H, Q, K]` attention probabilities; `key_masks` `[B, M, K]` (M key sets);
    `query_positions` `[T]` or `[B, T]` indices into Q. Returns float32 `[B, T, M]`:
    share[b, t, m] = mean_layers mean_heads Σ_{k ∈ set m} attn[b, h, q_t, k].
    """
    if len(attn) == 0:
        raise ValueError("diagnostics.attention_shares: no attention layers given")
    B, _, Q, K = attn[0].shape
    if key_masks.shape[0] != B or key_masks.shape[-1] != K:
        raise ValueError(
            f"diagnostics.attention_shares: key_masks {tuple(key_masks.shape)} vs attention {tuple(attn[0].shape)}"
        )
    qpos = query_positions.long()
    if qpos.dim() == 1:
        qpos = qpos[None].expand(B, -1)
    if qpos.numel() and (int(qpos.min()) < 0 or int(qpos.max()) >= Q):
        raise ValueError(f"diagnostics.attention_shares: query positions outside [0, {Q})")
    km = key_masks.to(device=attn[0].device, dtype=torch.float32)
    total = None
    for layer in attn:
        if layer.shape[0] != B or layer.shape[-1] != K or layer.shape[-2] != Q:
            raise ValueError(
                f"diagnostics.attention_shares: layer shape {tuple(layer.shape)} != {tuple(attn[0].shape)}"
            )
        rows = layer.float().mean(1)  # [B, Q, K], mean over heads
        rows = rows.gather(1, qpos.to(rows.device)[..., None].expand(-1, -1, K))  # [B, T, K]
        shares = torch.einsum("btk,bmk->btm", rows, km)
        total = shares if total is None else total + shares
    return total / len(attn)


def uniform_shares(key_masks: torch.Tensor, query_positions: torch.Tensor) -> torch.Tensor:
    """Reference shares `[B, T, M]` if every query attended uniformly to the keys it can see (keys at
    or before it, in any set): |set ∩ [0, q]| / |all sets ∩ [0, q]|. A random-init model sits near
    this; the image share then decays only because generated keys pile up (dilution), so compare
    the measured late/early ratio with this baseline's, not only with 1."""
    B, _, K = key_masks.shape
    qpos = query_positions.long().to(key_masks.device)
    if qpos.dim() == 1:
        qpos = qpos[None].expand(B, -1)
    counts = key_masks.float().cumsum(-1)  # [B, M, K]: keys of each set at or before k
    seen = counts.gather(-1, qpos[:, None, :].expand(-1, key_masks.shape[1], -1))  # [B, M, T]
    return (seen / seen.sum(1, keepdim=True).clamp(min=1.0)).transpose(1, 2)


def _rank(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of each valid step among its row's valid steps `[B, T]`, and the count `[B]`."""
    m = mask.bool()
    return m.long().cumsum(-1) - 1, m.sum(-1)


def late_early_ratio(shares_image: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Late/early visual accumulation ratio `[B]` (VGPO §2 observation): Σ image share over the last
    ⌊T/2⌋ valid steps / Σ over the first ⌊T/2⌋ (the middle step of an odd T counts in neither, so
    both halves have the same length). NaN when T < 2 or the early sum is 0."""
    if shares_image.shape != response_mask.shape:
        raise ValueError(
            f"diagnostics.late_early_ratio: shares {tuple(shares_image.shape)} != mask {tuple(response_mask.shape)}"
        )
    m = response_mask.bool()
    t, T = _rank(m)
    half = (T // 2)[:, None]
    x = torch.where(m, shares_image.double(), torch.zeros((), dtype=torch.float64, device=m.device))
    early = (x * (m & (t < half))).sum(-1)
    late = (x * (m & (t >= T[:, None] - half))).sum(-1)
    ok = (T >= 2) & (early > 0)
    return torch.where(
        ok, late / torch.where(ok, early, torch.ones_like(early)), torch.full_like(early, math.nan)
    )


def progress_bins(values: Sequence[float], n_bins: int) -> list[float]:
    """Mean of a per-step series in `n_bins` equal bins of normalised step x_t = (t + ½)/T ∈ (0, 1);
    NaN for an empty bin (T < n_bins). Lets responses of different lengths share one x axis."""
    if n_bins < 1:
        raise ValueError(f"diagnostics.progress_bins: n_bins must be >= 1, got {n_bins}")
    T = len(values)
    sums = [0.0] * n_bins
    counts = [0] * n_bins
    for t, v in enumerate(values):
        b = min(n_bins - 1, int((t + 0.5) / T * n_bins))
        sums[b] += float(v)
        counts[b] += 1
    return [s / c if c else math.nan for s, c in zip(sums, counts)]


__all__ = [
    "KEY_SETS",
    "attention_shares",
    "key_masks",
    "late_early_ratio",
    "progress_bins",
    "uniform_shares",
]
