"""Vectorised VGPO weights vs a per-token loop written like the official code.

    python benchmarks/bench_vgpo_weights.py [--prompts 8 --rollouts 8 --length 512 --hidden 128
                                            --threads 1 --device cpu --repeats 20 --seed 0]

The reference (`reference_visual_focus`, `reference_vgpo_weights`) follows the structure of the
official VGPO actor (github.com/wzb-bupt/VGPO, `verl/workers/actor/dp_actor.py` and
`verl/trainer/core_algos.py`): Python loops over sequences and tokens, `.item()` per token, the
`(x - min) / (max - min + 1e-8)` normalisations, `int(T·γ)` / `max(1, int(n·κ))` gate sizes and a
sorted `>= threshold` top-k. It computes *our* semantics where the brief departs from the official code
(per-sequence min-max of ρ over valid tokens, groups from group ids, see `mmreason.train.vgpo`), so
both must agree to float precision; the script asserts that before it prints the timings.
Both run in this script, on the same inputs, with the same torch thread count.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import torch
import torch.nn.functional as F

from mmreason.core.focus import image_token_mean, visual_focus
from mmreason.train.vgpo import VGPOConfig, vgpo_weights


def reference_visual_focus(
    hidden: torch.Tensor, image_mean: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Official `_compute_visual_attention_weights` shape: a cosine per token with `.item()`, then min-max."""
    B, L, _ = hidden.shape
    out = torch.zeros(B, L)
    for b in range(B):
        sims = []
        for t in range(L):
            if mask[b, t].item() > 0:
                sim = F.cosine_similarity(
                    hidden[b, t].float().unsqueeze(0), image_mean[b].float().unsqueeze(0), dim=1
                )
                sims.append((t, sim.item()))
        if not sims:
            continue
        lo = min(s for _, s in sims)
        hi = max(s for _, s in sims)
        for t, s in sims:
            out[b, t] = (s - lo) / (hi - lo + 1e-8) if hi > lo else 0.0
    return out


def reference_vgpo_weights(
    rho: torch.Tensor, mask: torch.Tensor, group_ids: torch.Tensor, cfg: VGPOConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token loops like the official actor (Eq. 5-11); returns ψ `[B, L]` and α `[B]`."""
    B, L = rho.shape
    psi = torch.ones(B, L)
    alpha = torch.ones(B)
    w = torch.zeros(B, L)
    phi = [0.0] * B
    for b in range(B):
        positions = [t for t in range(L) if mask[b, t].item() > 0]
        T = len(positions)
        if T == 0:
            continue
        # compensation factor (official `_compute_visual_compensation_factor`)
        comp = [0.0] * T
        if cfg.compensation:
            for j in range(T):
                x = j / (T - 1 + 1e-8) if T > 1 else 0.0
                x = round(x, 12)  # the official `+ 1e-8` only; keep x = 1.0 exact at the last token
                if x < cfg.start_ratio:
                    continue
                u = min(max((x - cfg.start_ratio) / (1.0 - cfg.start_ratio), 0.0), 1.0)
                if cfg.schedule == "linear":
                    comp[j] = cfg.beta * u
                elif cfg.schedule == "exponential":
                    comp[j] = cfg.beta * u**cfg.exponent
                else:
                    comp[j] = cfg.beta if x >= cfg.step_at else 0.0
        # gate (official top-k% loop over the late range)
        gate = [1.0] * T
        if cfg.gating:
            gate = [0.0] * T
            values = rho[b, positions]
            start = int(T * cfg.gamma)
            if start < T:
                rng = values[start:]
                k = max(1, int(len(rng) * cfg.kappa))
                threshold = torch.sort(rng, descending=True)[0][k - 1].item()
                for j in range(start, T):
                    if rho[b, positions[j]].item() >= threshold:
                        gate[j] = 1.0
        # ρ' and per-sequence min-max (Eq. 6-7)
        rho_c = [rho[b, p].item() * (1.0 + gate[j] * comp[j]) for j, p in enumerate(positions)]
        lo, hi = min(rho_c), max(rho_c)
        w_seq = [(v - lo) / (hi - lo + 1e-8) if hi > lo else 0.0 for v in rho_c]
        for j, p in enumerate(positions):
            w[b, p] = w_seq[j]
        phi[b] = sum(w_seq)
        # ψ (Eq. 8)
        if cfg.intra:
            avg = sum(w_seq) / T
            for j, p in enumerate(positions):
                psi[b, p] = min(max(1.0 + w_seq[j] - avg, cfg.psi_min), cfg.psi_max)
    # α per group of the same prompt (Eq. 9-11)
    if cfg.inter:
        groups: dict[int, list[int]] = defaultdict(list)
        for b in range(B):
            if mask[b].sum().item() > 0:
                groups[int(group_ids[b].item())].append(b)
        for rows in groups.values():
            scores = [phi[b] for b in rows]
            lo, hi = min(scores), max(scores)
            norm = [(s - lo) / (hi - lo + 1e-8) if hi > lo else 0.0 for s in scores]
            avg = sum(norm) / len(norm)
            for b, s in zip(rows, norm):
                alpha[b] = min(max(1.0 + s - avg, cfg.alpha_min), cfg.alpha_max)
    return psi, alpha


def make_batch(prompts: int, rollouts: int, length: int, hidden: int, seed: int, device: str = "cpu"):
    """Random last-layer states with a shared visual direction, random response lengths, group ids."""
    g = torch.Generator().manual_seed(seed)
    B = prompts * rollouts
    image_states = torch.randn(B, 16, hidden, generator=g) + 2.0
    resp = torch.randn(B, length, hidden, generator=g) + torch.rand(B, length, 1, generator=g) * 2.0
    lengths = torch.randint(length // 4, length + 1, (B,), generator=g)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).float()
    group_ids = torch.arange(prompts).repeat_interleave(rollouts)
    to = lambda t: t.to(device)  # noqa: E731
    return to(image_states), to(resp), to(mask), to(group_ids)


def _time(fn, repeats: int, sync) -> list[float]:
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--rollouts", type=int, default=8)
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--ref-repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = args.device
    sync = (lambda: torch.cuda.synchronize()) if dev.startswith("cuda") else (lambda: None)
    cfg = VGPOConfig()
    image_states, resp, mask, group_ids = make_batch(
        args.prompts, args.rollouts, args.length, args.hidden, args.seed, dev
    )
    image_mean = image_token_mean(image_states, torch.ones(image_states.shape[:2], device=dev))
    hidden = torch.cat([image_states, resp], dim=1)  # image positions, then the response
    image_mask = torch.zeros(hidden.shape[:2], dtype=torch.bool, device=dev)
    image_mask[:, : image_states.shape[1]] = True

    # correctness first: vectorised == per-token loop
    rho = visual_focus(hidden, image_mask, mask, normalise=True)
    rho_ref = reference_visual_focus(resp.cpu(), image_mean.cpu(), mask.cpu())
    torch.testing.assert_close(rho.cpu(), rho_ref, rtol=0, atol=1e-5)
    psi, alpha, diag = vgpo_weights(rho, mask, group_ids, cfg)
    psi_ref, alpha_ref = reference_vgpo_weights(rho.cpu(), mask.cpu(), group_ids.cpu(), cfg)
    torch.testing.assert_close(psi.cpu(), psi_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(alpha.cpu(), alpha_ref, rtol=0, atol=1e-5)
    max_err = max((psi.cpu() - psi_ref).abs().max().item(), (alpha.cpu() - alpha_ref).abs().max().item())

    rows = []
    for name, vec, ref in [
        (
            "visual_focus",
            lambda: visual_focus(hidden, image_mask, mask, normalise=True),
            lambda: reference_visual_focus(resp, image_mean, mask),
        ),
        (
            "vgpo_weights",
            lambda: vgpo_weights(rho, mask, group_ids, cfg, diagnostics=False),
            lambda: reference_vgpo_weights(rho, mask, group_ids, cfg),
        ),
        (
            "  + diagnostics",
            lambda: vgpo_weights(rho, mask, group_ids, cfg, diagnostics=True),
            lambda: reference_vgpo_weights(rho, mask, group_ids, cfg),
        ),
    ]:
        _time(vec, 2, sync)  # warm-up
        t_vec = statistics.median(_time(vec, args.repeats, sync))
        t_ref = statistics.median(_time(ref, args.ref_repeats, sync))
        rows.append((name, t_ref, t_vec))

    B, L = mask.shape
    print(
        f"VGPO weights, B={B} ({args.prompts} prompts x {args.rollouts} rollouts), L={L}, H={args.hidden}, "
        f"{int(mask.sum())} valid tokens, device={dev}, torch threads={args.threads}"
    )
    print(f"agreement: max |vectorised - loop| over psi, alpha = {max_err:.2e} (asserted <= 1e-5)")
    print(f"{'step':<16}{'loop (official style)':>24}{'vectorised':>14}{'speed-up':>12}")
    # "+ diagnostics": the vectorised side also computes the diagnostics dict (the loop computes none)
    for name, t_ref, t_vec in rows:
        print(f"{name:<16}{t_ref * 1e3:>21.1f} ms{t_vec * 1e3:>11.3f} ms{t_ref / t_vec:>11.0f}x")
    print("diagnostics:", {k: round(v, 4) for k, v in diag.items()})
    return {f"{name}_speedup": t_ref / t_vec for name, t_ref, t_vec in rows}


if __name__ == "__main__":
    main()
