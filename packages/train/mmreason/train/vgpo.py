"""VGPO: Visually-Guided Policy Optimization (arXiv 2604.09349), token and trajectory weights.

For response token t of rollout i (T_i valid tokens) and h = its last-layer hidden state:
    ρ_{i,t}  = cos(h_{i,t}, μ_v), μ_v = mean last-layer hidden state over the sample's image tokens,
               detached, then min-max normalised over the valid tokens of the sequence (before Eq. 5):
               `mmreason.core.focus.visual_focus(..., normalise=True)`, the function eval's diagnostics use raw
    C_{i,t}  = β·s(x_t), x_t = t / (T_i - 1), s = linear x | exponential x^p | step [x ≥ 0.5]  (Eq. 5)
    G_{i,t}  = 1 for the top-κ tokens by ρ among those with index ≥ ⌊γ·T_i⌋, at least one  (Eq. 6)
    ρ'_{i,t} = ρ_{i,t}·(1 + G_{i,t}·C_{i,t})                                               (Eq. 6)
    ŵ_{i,t}  = min-max of ρ' over the sequence's valid tokens                              (Eq. 7)
    ψ_{i,t}  = clamp(1 + ŵ_{i,t} - mean_t ŵ_i, 0.1, 2.0)                                   (Eq. 8)
    φ_i      = Σ_t ŵ_{i,t};  φ̂ = min-max of φ over the rollouts of the same prompt           (Eq. 9-10)
    α_i      = clamp(1 + φ̂_i - mean_group φ̂, 0.9, 2.0)                                      (Eq. 11)
    Â_{i,t}  = Â_i·α_i·ψ_{i,t}, Â_i the GRPO group advantage                    (Eq. 8 and Eq. 11 together)

Equation numbers follow the comments of the official code (Eq. 5 compensation … Eq. 11 α).

Deliberate differences from the official code (github.com/wzb-bupt/VGPO, `dp_actor.py` and
`core_algos.compute_trajectory_visual_weighting`):
- Groups are the rollouts of the same prompt, given as a group-id tensor. The official code takes
  consecutive blocks of `rollout_n` rows of each micro-batch, which is wrong once the batch has been
  reordered (seqlen balancing) or a micro-batch does not hold whole groups.
- ρ is min-max normalised per sequence over its valid tokens. The official code normalises over the
  whole micro-batch (B × L_resp positions, padding included), so the padding's cosine and the other
  rollouts leak into every sequence's ρ. The gate is the same either way (both are increasing
  affine maps of the cosine, which keep its ranking); ŵ, hence ψ and α, are the same only when
  compensation is off (min-max is invariant to an increasing affine map; ρ·(1+GC) is not).
- Padding never enters a min, a max, a mean or a top-k: every reduction is masked.
- Vectorised over the batch (the official code loops per token with `.item()`); see
  benchmarks/bench_vgpo_weights.py.
- Only the last hidden state is needed (the official code asks the model for all layers).
- Position index t is the rank of the token among the sequence's valid tokens (cumsum of the mask);
  for the usual right-padded response mask this is the position itself. x_t = t/(T_i - 1) runs
  from 0 at the first to 1 at the last valid token, as the official `(pos - min)/(max - min)`
  (the paper writes t/T with 1-based t); a 1-token sequence has x = 0.
- Min-max divides by the exact range (the official code adds 1e-8 to it: a relative difference of
  about 1e-8), and ρ is computed in float32 whatever the model's dtype (the official code keeps it).
Degenerate cases: a sequence whose ρ' (or ρ) is constant, including a 1-token sequence, gets ŵ = 0
hence ψ = 1; a group of size 1, or whose φ are all equal, gets α = 1; a fully masked row gets ρ = 0,
ψ = 1, α = 1, advantage 0, and is left out of its group's min/max/mean; nothing produces NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mmreason.core.focus import masked_minmax

from .advantages import group_index

SCHEDULES = ("linear", "exponential", "step")
QUANTILES = (0.1, 0.5, 0.9)  # of ψ and α in the diagnostics
# the official code's names (`visual_compensation_type` in verl/workers/actor/config.py): its "step-function",
# C = β where (t - t_min)/(t_max - t_min) >= step_ratio else 0 (dp_actor._compute_visual_compensation_factor),
# is our `step` (x_t >= step_at, x_t = t/(T-1), the same normalised position)
SCHEDULE_ALIASES = {"step-function": "step"}


@dataclass
class VGPOConfig:
    """Every VGPO switch (`algorithm.vgpo`, used by `algorithm.token_weights=vgpo`); defaults from the paper
    and the official `train_vgpo_7B.sh`. The switches are independent: φ is always Σ ŵ with ŵ built from ρ'
    under the compensation/gating switches (the official code, with intra off, uses the min-max of the
    raw ρ; set `compensation=false` to get that)."""

    intra: bool = True  # token weights ψ (Eq. 7-8); false: ψ = 1
    inter: bool = True  # trajectory weights α (Eq. 9-11); false: α = 1
    compensation: bool = True  # late-token compensation C = β·s(x) (Eq. 5); false: C = 0, so ρ' = ρ
    gating: bool = True  # C only on the top-κ late tokens by ρ (Eq. 6); false: on every token (ablation "VAC without gate")
    schedule: str = "linear"  # s(x): linear x | exponential x^exponent | step [x >= step_at] (alias: step-function,
    #                           the official code's name)
    beta: float = 0.3  # compensation strength β
    gamma: float = 0.5  # the "late" part starts at token ⌊γ·T⌋
    kappa: float = 0.2  # share κ of late tokens that pass the gate (at least one)
    start_ratio: float = 0.0  # C = 0 before this fraction of the response; linear/exponential rescale the rest
    exponent: float = 2.0  # the exponential schedule's power
    step_at: float = 0.5  # the step schedule's threshold
    psi_min: float = 0.1  # ψ clamp (paper: [0.1, 2])
    psi_max: float = 2.0  # ψ clamp upper bound
    alpha_min: float = 0.9  # α clamp (paper: [0.9, 2])
    alpha_max: float = 2.0  # α clamp upper bound
    diag_top: float = 0.4  # share of tokens counted as "visual" (top by ρ) in the diagnostics (official logging)

    def __post_init__(self) -> None:
        problems = []
        self.schedule = SCHEDULE_ALIASES.get(self.schedule, self.schedule)
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule {self.schedule!r} not in {SCHEDULES}")
        if not 0.0 <= self.gamma <= 1.0:
            problems.append(f"gamma {self.gamma} not in [0, 1]")
        if not 0.0 < self.kappa <= 1.0:
            problems.append(f"kappa {self.kappa} not in (0, 1]")
        if not 0.0 <= self.start_ratio < 1.0:
            problems.append(f"start_ratio {self.start_ratio} not in [0, 1)")
        if not 0.0 < self.diag_top <= 1.0:
            problems.append(f"diag_top {self.diag_top} not in (0, 1]")
        if self.psi_min > self.psi_max or self.alpha_min > self.alpha_max:
            problems.append("clamp ranges need min <= max")
        if problems:
            raise ValueError("algorithm.vgpo: " + "; ".join(problems))


# ---------------------------------------------------------------- masked helpers


def _valid_rank(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index t of each valid token among its sequence's valid tokens `[B, L]` and T `[B]` (long)."""
    m = mask.bool()
    return m.long().cumsum(-1) - 1, m.sum(-1)


def _row_topk_threshold(x: torch.Tensor, eligible: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Per row, the k-th largest eligible value `[B, 1]` (k ≥ 1 `[B]`; +inf where no eligible entry)."""
    vals = torch.where(eligible, x, torch.full_like(x, -math.inf))
    srt = vals.sort(dim=-1, descending=True).values
    kth = srt.gather(-1, (k.clamp(min=1) - 1).clamp(max=x.shape[-1] - 1)[:, None])
    return torch.where(eligible.any(-1, keepdim=True), kth, torch.full_like(kth, math.inf))


def _check(where: str, mask: torch.Tensor, **tensors: torch.Tensor) -> None:
    if mask.dim() != 2:
        raise ValueError(f"vgpo.py:{where}: mask must be [B, L], got shape {tuple(mask.shape)}")
    for name, t in tensors.items():
        if t.shape[:2] != mask.shape:
            raise ValueError(
                f"vgpo.py:{where}: {name} shape {tuple(t.shape)} does not start with {tuple(mask.shape)}"
            )


# ---------------------------------------------------------------- compensation and gate


def compensation(
    mask: torch.Tensor,
    beta: float = 0.3,
    schedule: str = "linear",
    start_ratio: float = 0.0,
    *,
    exponent: float = 2.0,
    step_at: float = 0.5,
) -> torch.Tensor:
    """C `[B, L]` = β·s(x_t), x_t = t/(T-1) (Eq. 5); 0 before `start_ratio` and at padding.

    linear: s = u, exponential: s = u^exponent with u = (x - start)/(1 - start); step (or the official name
    step-function): s = [x ≥ step_at].
    """
    schedule = SCHEDULE_ALIASES.get(schedule, schedule)
    if schedule not in SCHEDULES:
        raise ValueError(f"vgpo.py:compensation: schedule {schedule!r} not in {SCHEDULES}")
    if not 0.0 <= start_ratio < 1.0:
        raise ValueError(f"vgpo.py:compensation: start_ratio {start_ratio} not in [0, 1)")
    t, T = _valid_rank(mask)
    x = t.double() / (T - 1).clamp(min=1).double()[:, None]
    u = ((x - start_ratio) / (1.0 - start_ratio)).clamp(0.0, 1.0)
    if schedule == "linear":
        s = u
    elif schedule == "exponential":
        s = u.pow(exponent)
    else:
        s = (x >= step_at).double()
    c = beta * s * ((x >= start_ratio) & mask.bool())
    return c.float()


def late_gate(rho: torch.Tensor, mask: torch.Tensor, gamma: float = 0.5, kappa: float = 0.2) -> torch.Tensor:
    """G `[B, L]` (Eq. 6): 1 for the top-κ share (at least one) by ρ among valid tokens t ≥ ⌊γ·T⌋.

    k = max(1, ⌊κ·(T - ⌊γT⌋)⌋); ties with the k-th value all pass (as the official `>= threshold`).
    """
    _check("late_gate", mask, rho=rho)
    t, T = _valid_rank(mask)
    start = torch.floor(T.double() * gamma).long()  # ⌊γT⌋ in float64, as Python's int(T*γ)
    late = mask.bool() & (t >= start[:, None])
    k = torch.floor((T - start).double() * kappa).long().clamp(min=1)
    thr = _row_topk_threshold(rho.float(), late, k)
    return (late & (rho.float() >= thr)).float()


# ---------------------------------------------------------------- weights


@torch.no_grad()
def vgpo_weights(
    rho: torch.Tensor,
    mask: torch.Tensor,
    group_ids: torch.Tensor,
    cfg: VGPOConfig | None = None,
    *,
    diagnostics: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """Token weights ψ `[B, L]` (1 at padding), trajectory weights α `[B]` and diagnostics.

    `rho` is the normalised visual focus (`mmreason.core.focus.visual_focus(..., normalise=True)`, `[B, L]`), `group_ids` `[B]` the
    prompt id of each rollout. Diagnostics (floats, one host sync; `diagnostics=False` skips them
    and returns an empty dict) over valid tokens / non-empty rows:
    - `visual_pct_first_half` / `visual_pct_second_half`: per sequence, the top `diag_top` share of
      tokens by ρ (ties included) are "visual"; count those in the first ⌊T/2⌋ tokens and in the rest,
      each divided by T, averaged over sequences (the two sum to ≈ diag_top); `visual_late_early_ratio`
      = second / first (official logging `visual_token_percentage_*`).
    - `gate_pass_rate` (mean G), `gate_pass_rate_early` / `_late` (first / last ⌊T/3⌋ tokens of the
      sequences with T ≥ 3, as the official logging), `compensation_mean` (mean G·C).
    - `w_mean`, `psi_mean/min/max`, `alpha_mean/min/max`, `n_valid_tokens`; the distributions of ψ (over
      valid tokens) and α (over non-empty rows) as quantiles `psi_p10/p50/p90`, `alpha_p10/p50/p90`; `rho_mean`,
      `rho_std` of the normalised ρ over valid tokens (the trainer averages all of these over micro-batches).
    """
    cfg = cfg or VGPOConfig()
    _check("vgpo_weights", mask, rho=rho)
    if group_ids.shape != mask.shape[:1]:
        raise ValueError(
            f"vgpo.py:vgpo_weights: group_ids shape {tuple(group_ids.shape)} != [B] = {mask.shape[:1]}"
        )
    m = mask.bool()
    rho = torch.where(m, rho.detach().float(), torch.zeros((), device=rho.device))
    mf = m.float()

    comp = (
        compensation(
            mask, cfg.beta, cfg.schedule, cfg.start_ratio, exponent=cfg.exponent, step_at=cfg.step_at
        )
        if cfg.compensation
        else torch.zeros_like(rho)
    )
    gate = late_gate(rho, mask, cfg.gamma, cfg.kappa) if cfg.gating else mf
    rho_c = rho * (1.0 + gate * comp)  # Eq. 6
    w = masked_minmax(rho_c, mask)  # Eq. 7
    T = m.sum(-1)
    nonempty = T > 0
    w_mean = w.sum(-1) / T.clamp(min=1)

    if cfg.intra:  # Eq. 8
        psi = torch.where(m, (1.0 + w - w_mean[:, None]).clamp(cfg.psi_min, cfg.psi_max), torch.ones_like(w))
    else:
        psi = torch.ones_like(w)

    if cfg.inter:  # Eq. 9-11 within each prompt's group; empty rows do not take part
        phi = w.sum(-1)
        inv, counts = group_index(group_ids)
        n_groups = len(counts)
        gmax = phi.new_full((n_groups,), -math.inf).scatter_reduce(0, inv[nonempty], phi[nonempty], "amax")
        gmin = phi.new_full((n_groups,), math.inf).scatter_reduce(0, inv[nonempty], phi[nonempty], "amin")
        rng = (gmax - gmin)[inv]
        ok = torch.isfinite(rng) & (rng > 0) & nonempty
        phi_hat = torch.where(
            ok, (phi - gmin[inv]) / torch.where(ok, rng, torch.ones_like(rng)), torch.zeros_like(phi)
        )
        cnt = phi.new_zeros(n_groups).index_add_(0, inv, nonempty.float())
        gsum = phi.new_zeros(n_groups).index_add_(0, inv, phi_hat * nonempty)
        gmean = (gsum / cnt.clamp(min=1))[inv]
        alpha = torch.where(
            nonempty, (1.0 + phi_hat - gmean).clamp(cfg.alpha_min, cfg.alpha_max), torch.ones_like(phi)
        )
    else:
        alpha = rho.new_ones(mask.shape[0])

    return psi, alpha, (_diagnostics(rho, m, gate, comp, w, psi, alpha, cfg) if diagnostics else {})


def _diagnostics(
    rho: torch.Tensor,
    m: torch.Tensor,
    gate: torch.Tensor,
    comp: torch.Tensor,
    w: torch.Tensor,
    psi: torch.Tensor,
    alpha: torch.Tensor,
    cfg: VGPOConfig,
) -> dict[str, float]:
    t, T = _valid_rank(m)
    rows = T > 0
    n_rows = rows.sum().clamp(min=1).float()
    n_tok = m.sum().clamp(min=1).float()
    zero = rho.new_zeros(())

    k = torch.floor(T.double() * cfg.diag_top).long().clamp(min=1)
    visual = m & (rho >= _row_topk_threshold(rho, m, k))
    first = t < (T // 2)[:, None]
    Tf = T.clamp(min=1).float()
    pct_first = ((visual & first).sum(-1) / Tf * rows).sum() / n_rows
    pct_second = ((visual & ~first).sum(-1) / Tf * rows).sum() / n_rows

    third = (T // 3)[:, None]
    long_rows = (T >= 3)[:, None]
    early = m & long_rows & (t < third)
    late = m & long_rows & (t >= (T[:, None] - third))
    g = gate * m

    def mean_on(x: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
        return (x * sel).sum() / sel.sum().clamp(min=1)

    def extreme(x: torch.Tensor, sel: torch.Tensor, fn: str) -> torch.Tensor:
        if not bool(sel.any()):
            return zero
        return getattr(x[sel], fn)()

    def quantiles(name: str, x: torch.Tensor, sel: torch.Tensor) -> dict[str, torch.Tensor]:
        q = torch.quantile(x[sel].float(), x.new_tensor(QUANTILES)) if bool(sel.any()) else zero.repeat(len(QUANTILES))
        return {f"{name}_p{round(100 * p)}": v for p, v in zip(QUANTILES, q)}

    rho_mean = (rho * m).sum() / n_tok

    stats = {
        "visual_pct_first_half": pct_first,
        "visual_pct_second_half": pct_second,
        "visual_late_early_ratio": pct_second / (pct_first + 1e-8),
        "gate_pass_rate": g.sum() / n_tok,
        "gate_pass_rate_early": mean_on(g, early),
        "gate_pass_rate_late": mean_on(g, late),
        "compensation_mean": (g * comp).sum() / n_tok,
        "w_mean": (w * m).sum() / n_tok,
        "psi_mean": (psi * m).sum() / n_tok,
        "psi_min": extreme(psi, m, "min"),
        "psi_max": extreme(psi, m, "max"),
        "alpha_mean": (alpha * rows).sum() / n_rows,
        "alpha_min": extreme(alpha, rows, "min"),
        "alpha_max": extreme(alpha, rows, "max"),
        **quantiles("psi", psi, m),
        **quantiles("alpha", alpha, rows),
        "rho_mean": rho_mean,
        "rho_std": (((rho - rho_mean) ** 2 * m).sum() / n_tok).sqrt(),
        "n_valid_tokens": m.sum().float(),
    }
    values = torch.stack([v.float() for v in stats.values()]).tolist()
    return dict(zip(stats, values))


def vgpo_advantages(
    adv: torch.Tensor, psi: torch.Tensor, alpha: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Â_{i,t} = Â_i·α_i·ψ_{i,t} on valid tokens, 0 at padding (Eq. 8 and 11 applied together): `[B], [B,L], [B], [B,L] -> [B,L]`."""
    _check("vgpo_advantages", mask, psi=psi)
    if adv.shape != mask.shape[:1] or alpha.shape != mask.shape[:1]:
        raise ValueError(
            f"vgpo.py:vgpo_advantages: adv {tuple(adv.shape)} and alpha {tuple(alpha.shape)} must be [B] = {mask.shape[:1]}"
        )
    out = adv.detach().float()[:, None] * alpha.float()[:, None] * psi.float()
    return torch.where(mask.bool(), out, torch.zeros_like(out))


__all__ = [
    "SCHEDULES",
    "VGPOConfig",
    "compensation",
    "late_gate",
    "vgpo_advantages",
    "vgpo_weights",
]
