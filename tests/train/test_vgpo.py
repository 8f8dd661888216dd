"""VGPO weights: hand-computed values on a 2-prompt x 4-rollout batch, each switch, masks, degenerate input.

Config defaults unless said: β = 0.3, γ = 0.5, κ = 0.2, linear schedule, ψ ∈ [0.1, 2], α ∈ [0.9, 2].
Position x_t = t/(T-1), so for T = 4: C = 0.3·[0, 1/3, 2/3, 1] = [0, .1, .2, .3];
T = 5: C = [0, .075, .15, .225, .3]; T = 3: C = [0, .15, .3].
Gate: start = ⌊0.5·T⌋, k = max(1, ⌊0.2·(T - start)⌋) = 1 for every T here; ties with the k-th value pass.
"""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from mmreason.core.focus import image_token_mean, masked_minmax, visual_focus
from mmreason.train.advantages import compute_advantages
from mmreason.train.vgpo import VGPOConfig, compensation, late_gate, vgpo_advantages, vgpo_weights

ROOT = Path(__file__).resolve().parents[2]


def focus(resp, image_states, image_mask, mask):
    """Training's ρ (normalised) for response hidden states `resp` after a prompt of `image_states`."""
    hidden = torch.cat([image_states.expand(resp.shape[0], -1, -1), resp], dim=1)
    img = torch.cat([image_mask.expand(resp.shape[0], -1).bool(), torch.zeros(mask.shape, dtype=torch.bool)], dim=1)
    return visual_focus(hidden, img, mask, normalise=True)

# 2-D hidden states; the image mean is (1, 0), so cos = 1 for (3, 0), 0 for (0, 2), -1 for (-1, 0).
VEC = {1: (3.0, 0.0), 0: (0.0, 2.0), -1: (-1.0, 0.0)}
PAD = (-1.0, 0.0)  # cos -1 at padding: it would change the min of any sequence if it leaked
# cosines of the valid tokens; rows interleave the two prompts: a* = prompt 0, b* = prompt 1
COS = {
    "a1": [1, 0, 0, 1],
    "b1": [0, 1, 0, 0, 1],
    "a2": [0, 0, 0, 0],  # constant ρ
    "b2": [1],  # a single token
    "a3": [1, 1, 0, 0],
    "b3": [1, 0, 0, 1, 1],
    "a4": [0, 1, 0],
    "b4": [1, -1, 0, 0, 0],
}
ORDER = ["a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"]
GROUPS = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])


def _batch():
    L = 5
    hidden = torch.tensor([[VEC[c] for c in COS[k]] + [PAD] * (L - len(COS[k])) for k in ORDER])
    mask = torch.tensor([[1.0] * len(COS[k]) + [0.0] * (L - len(COS[k])) for k in ORDER])
    image_states = torch.tensor([[2.0, 1.0], [0.0, -1.0], [9.0, 9.0]]).expand(8, 3, 2)
    image_mask = torch.tensor([1, 1, 0]).expand(8, 3)  # third position is text, not an image token
    return hidden, mask, image_states, image_mask


def test_image_token_mean_and_visual_focus_by_hand():
    hidden, mask, image_states, image_mask = _batch()
    mu = image_token_mean(image_states, image_mask)
    torch.testing.assert_close(mu, torch.tensor([[1.0, 0.0]]).expand(8, 2))
    rho = focus(hidden, image_states, image_mask, mask)
    # min-max of the cosines over valid tokens: {0,1}-cosines stay; b4 [1,-1,0,0,0] → [1, 0, .5, .5, .5];
    # a4 [0,1,0] stays [0,1,0] (with the padding's -1 leaking in it would be [.5, 1, .5]); b2 (1 token) → 0
    expected = torch.tensor(
        [
            [1, 0, 0, 1, 0],
            [0, 1, 0, 0, 1],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [1, 0, 0, 1, 1],
            [0, 1, 0, 0, 0],
            [1, 0, 0.5, 0.5, 0.5],
        ],
        dtype=torch.float32,
    )
    torch.testing.assert_close(rho, expected)


def test_visual_focus_detached_and_no_image_tokens_give_zero():
    hidden = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], requires_grad=True)
    mu = image_token_mean(torch.ones(1, 2, 2), torch.zeros(1, 2))  # no image tokens → zero vector
    assert torch.equal(mu, torch.zeros(1, 2))
    rho = focus(hidden, torch.ones(1, 2, 2), torch.zeros(1, 2), torch.ones(1, 2))
    assert not rho.requires_grad and torch.equal(rho, torch.zeros(1, 2))


def test_compensation_schedules_by_hand():
    mask = torch.tensor([[1.0] * 5, [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0.0] * 5])
    lin = compensation(mask, 0.3, "linear")
    torch.testing.assert_close(
        lin,
        torch.tensor([[0, 0.075, 0.15, 0.225, 0.3], [0, 0.15, 0.3, 0, 0], [0.0] * 5, [0.0] * 5]),
    )
    # exponential: 0.3·x², x = [0, .25, .5, .75, 1] → [0, .01875, .075, .16875, .3]
    exp_ = compensation(mask, 0.3, "exponential")
    torch.testing.assert_close(exp_[0], torch.tensor([0, 0.01875, 0.075, 0.16875, 0.3]))
    # step: β once x ≥ 0.5
    torch.testing.assert_close(compensation(mask, 0.3, "step")[0], torch.tensor([0, 0, 0.3, 0.3, 0.3]))
    # start_ratio 0.5: u = (x - .5)/.5 → linear [0, 0, 0, .15, .3], exponential [0, 0, 0, .075, .3]
    torch.testing.assert_close(compensation(mask, 0.3, "linear", 0.5)[0], torch.tensor([0, 0, 0, 0.15, 0.3]))
    torch.testing.assert_close(
        compensation(mask, 0.3, "exponential", 0.5)[0], torch.tensor([0, 0, 0, 0.075, 0.3])
    )
    with pytest.raises(ValueError, match="schedule"):
        compensation(mask, 0.3, "cosine")


def test_compensation_uses_rank_among_valid_tokens():
    # a hole in the mask: valid tokens at positions 0, 2, 3 have ranks 0, 1, 2 → x = 0, .5, 1
    mask = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    torch.testing.assert_close(compensation(mask, 0.3), torch.tensor([[0, 0, 0.15, 0.3]]))


def test_late_gate_by_hand():
    rho = torch.tensor(
        [
            [0.9, 1.0, 0.2, 0.3, 0.8, 0.1, 0.5, 0.4, 0.7, 0.6],  # T=10: late = t 5..9, k = ⌊.4·5⌋ = 2
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # constant: every late token ties
            [0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # T=1 → the one token passes
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],  # T=0 → nothing
        ]
    )
    mask = torch.zeros(4, 10)
    mask[:2] = 1
    mask[2, 0] = 1
    g = late_gate(rho, mask, gamma=0.5, kappa=0.4)
    # row 0: early high values (1.0, 0.9, 0.8) never pass; the top-2 of [.1, .5, .4, .7, .6] are t8 (.7), t9 (.6)
    torch.testing.assert_close(g[0], torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 1.0]))
    torch.testing.assert_close(g[1], torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 1.0]))
    torch.testing.assert_close(g[2], torch.tensor([1.0] + [0] * 9))
    assert g[3].sum() == 0
    # κ = 0.2: k = max(1, ⌊1.0⌋) = 1 → only t8
    torch.testing.assert_close(
        late_gate(rho, mask, 0.5, 0.2)[0], torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 0.0])
    )


def test_masked_minmax_degenerate():
    x = torch.tensor([[2.0, 4.0, 100.0], [3.0, 3.0, -50.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    # row 0: padding 100 ignored → [0, 1, 0]; row 1: constant → 0; row 2: empty → 0
    torch.testing.assert_close(masked_minmax(x, mask), torch.tensor([[0, 1, 0], [0, 0, 0], [0, 0, 0.0]]))


# Hand computation of the 2 x 4 batch (ρ from test_image_token_mean_and_visual_focus_by_hand):
# a1 ρ [1,0,0,1]: gate t3 (late t2,t3 = [0,1]); ρ' = [1,0,0,1.3]; ŵ = [1/1.3, 0, 0, 1] = [.769231, 0, 0, 1]
#    mean ŵ = 1.769231/4 = .442308 → ψ = [1.326923, .557692, .557692, 1.557692]; φ = 1.769231
# a2 ρ = 0: ŵ = 0, ψ = 1, φ = 0
# a3 ρ [1,1,0,0]: late [0,0] tie → both gated but ρ = 0 there; ŵ = ρ; mean .5 → ψ [1.5,1.5,.5,.5]; φ = 2
# a4 ρ [0,1,0] (T=3, C = [0,.15,.3]): start 1, late [1,0] → gate t1; ρ' = [0,1.15,0]; ŵ = [0,1,0];
#    mean 1/3 → ψ = [.666667, 1.666667, .666667]; φ = 1
# group 0: φ = [1.769231, 0, 2, 1] → φ̂ = [.884615, 0, 1, .5], mean .596154
#    α = 1 + φ̂ - .596154 = [1.288462, .403846 → clamp .9, 1.403846, .903846]
# b1 ρ [0,1,0,0,1] (T=5): late t2..4 = [0,0,1] → gate t4; ρ' = [0,1,0,0,1.3]; ŵ = [0, .769231, 0, 0, 1]
#    mean .353846 → ψ = [.646154, 1.415385, .646154, .646154, 1.646154]; φ = 1.769231
# b2 (1 token): ρ = 0 → ŵ = 0, ψ = 1, φ = 0
# b3 ρ [1,0,0,1,1]: late [0,1,1] → tie, gate t3, t4; ρ' = [1, 0, 0, 1.225, 1.3];
#    ŵ = [.769231, 0, 0, .942308, 1], mean .542308 → ψ = [1.226923, .457692, .457692, 1.4, 1.457692];
#    φ = 2.711538
# b4 ρ [1,0,.5,.5,.5]: late all .5 → all gated; ρ' = [1, 0, .575, .6125, .65]; ŵ = ρ' (min 0, max 1);
#    mean .5675 → ψ = [1.4325, .4325, 1.0075, 1.045, 1.0825]; φ = 2.8375
# group 1: φ = [1.769231, 0, 2.711538, 2.8375] → φ̂ = [.623517, 0, .955608, 1], mean .644781
#    α = [.978736, .355219 → .9, 1.310827, 1.355219]
PSI_HAND = torch.tensor(
    [
        [1.326923, 0.557692, 0.557692, 1.557692, 1.0],
        [0.646154, 1.415385, 0.646154, 0.646154, 1.646154],
        [1.0, 1.0, 1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0, 1.0, 1.0],
        [1.5, 1.5, 0.5, 0.5, 1.0],
        [1.226923, 0.457692, 0.457692, 1.4, 1.457692],
        [0.666667, 1.666667, 0.666667, 1.0, 1.0],
        [1.4325, 0.4325, 1.0075, 1.045, 1.0825],
    ]
)
ALPHA_HAND = torch.tensor([1.288462, 0.978736, 0.9, 0.9, 1.403846, 1.310827, 0.903846, 1.355219])


def _rho_mask():
    hidden, mask, image_states, image_mask = _batch()
    return focus(hidden, image_states, image_mask, mask), mask


def test_vgpo_2x4_batch_by_hand():
    rho, mask = _rho_mask()
    psi, alpha, diag = vgpo_weights(rho, mask, GROUPS, VGPOConfig())
    torch.testing.assert_close(psi, PSI_HAND, rtol=0, atol=2e-6)
    torch.testing.assert_close(alpha, ALPHA_HAND, rtol=0, atol=2e-6)
    # gate passes: a1 1, b1 1, a2 2 (ties of 0), b2 1, a3 2, b3 2, a4 1, b4 3 = 13 of 31 valid tokens
    assert diag["gate_pass_rate"] == pytest.approx(13 / 31)
    assert diag["psi_min"] == pytest.approx(0.4325) and diag["psi_max"] == pytest.approx(1.666667, abs=1e-6)
    assert diag["alpha_min"] == pytest.approx(0.9) and diag["alpha_max"] == pytest.approx(1.403846, abs=1e-6)
    assert diag["n_valid_tokens"] == 31
    # α quantiles (linear interpolation at q·(n-1) over the 8 sorted α: .9 .9 .903846 .978736 1.288462 1.310827
    # 1.355219 1.403846): p10 at 0.7 → .9; p50 at 3.5 → (.978736 + 1.288462)/2; p90 at 6.3 → 1.355219 + .3·.048627
    assert diag["alpha_p10"] == pytest.approx(0.9, abs=1e-6)
    assert diag["alpha_p50"] == pytest.approx(1.133599, abs=1e-6)
    assert diag["alpha_p90"] == pytest.approx(1.369807, abs=1e-6)
    assert diag["psi_min"] <= diag["psi_p10"] <= diag["psi_p50"] <= diag["psi_p90"] <= diag["psi_max"]
    assert 0.0 < diag["rho_mean"] < 1.0 and diag["rho_std"] > 0.0  # normalised ρ of the valid tokens

    # GRPO advantages: prompt 0 rewards [1, 0, 1, 0] → ±0.5/(sqrt(1/3)+1e-6) = ±0.866024;
    # prompt 1 rewards [1, 0, 0, 0]: mean .25, unbiased std .5 → [1.499997, -.5, -.5, -.5]
    rewards = torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    adv = compute_advantages("grpo", rewards, GROUPS)
    token_adv = vgpo_advantages(adv, psi, alpha, mask)
    a, b1 = 0.5 / (math.sqrt(1 / 3) + 1e-6), 0.75 / (0.5 + 1e-6)
    assert token_adv[0, 3].item() == pytest.approx(a * 1.288462 * 1.557692, abs=1e-5)  # 1.738134
    assert token_adv[1, 4].item() == pytest.approx(b1 * 0.978736 * 1.646154, abs=1e-5)  # 2.416732
    assert token_adv[7, 1].item() == pytest.approx(-0.5 * 1.355219 * 0.4325, abs=1e-5)  # -0.293066
    assert token_adv[6, 3].item() == 0.0 and token_adv[0, 4].item() == 0.0  # padding


def _one_row(cfg, rho=(0.5, 1.0, 0.5, 1.0)):
    rho_t = torch.tensor([list(rho)])
    return vgpo_weights(rho_t, torch.ones(1, 4), torch.tensor([0]), cfg)[0][0]


def test_gating_switch():
    # ρ = [.5, 1, .5, 1], C = [0, .1, .2, .3]; gate: late [.5, 1] → t3
    # gated:   ρ' = [.5, 1, .5, 1.3]   → ŵ = [0, .625, 0, 1],    mean .40625 → ψ = [.59375, 1.21875, .59375, 1.59375]
    # ungated: ρ' = [.5, 1.1, .6, 1.3] → ŵ = [0, .75, .125, 1], mean .46875 → ψ = [.53125, 1.28125, .65625, 1.53125]
    torch.testing.assert_close(_one_row(VGPOConfig()), torch.tensor([0.59375, 1.21875, 0.59375, 1.59375]))
    torch.testing.assert_close(
        _one_row(VGPOConfig(gating=False)), torch.tensor([0.53125, 1.28125, 0.65625, 1.53125])
    )


def test_compensation_switch_and_schedules():
    # compensation off: ŵ = minmax(ρ) = [0, 1, 0, 1], mean .5 → ψ = [.5, 1.5, .5, 1.5] (gating irrelevant)
    for gating in (True, False):
        torch.testing.assert_close(
            _one_row(VGPOConfig(compensation=False, gating=gating)), torch.tensor([0.5, 1.5, 0.5, 1.5])
        )
    # exponential, ungated: C = .3·[0, 1/9, 4/9, 1] = [0, .033333, .133333, .3]; ρ' = [.5, 1.033333, .566667, 1.3]
    # ŵ = [0, .666667, .083333, 1], mean .4375 → ψ = [.5625, 1.229167, .645833, 1.5625]
    torch.testing.assert_close(
        _one_row(VGPOConfig(gating=False, schedule="exponential")),
        torch.tensor([0.5625, 1.229167, 0.645833, 1.5625]),
    )
    # start_ratio .5, linear, ungated: x = [0, 1/3, 2/3, 1] → C = [0, 0, .1, .3]; ρ' = [.5, 1, .55, 1.3]
    # ŵ = [0, .625, .0625, 1], mean .421875 → ψ = [.578125, 1.203125, .640625, 1.578125]
    torch.testing.assert_close(
        _one_row(VGPOConfig(gating=False, start_ratio=0.5)),
        torch.tensor([0.578125, 1.203125, 0.640625, 1.578125]),
    )
    # step, ungated: C = [0, 0, .3, .3]; ρ' = [.5, 1, .65, 1.3] → ŵ = [0, .625, .1875, 1], mean .453125
    torch.testing.assert_close(
        _one_row(VGPOConfig(gating=False, schedule="step")),
        torch.tensor([0.546875, 1.171875, 0.734375, 1.546875]),
    )


def test_intra_and_inter_switches():
    rho, mask = _rho_mask()
    psi_off, alpha_on, _ = vgpo_weights(rho, mask, GROUPS, VGPOConfig(intra=False))
    assert torch.equal(psi_off, torch.ones_like(psi_off))
    torch.testing.assert_close(alpha_on, ALPHA_HAND, rtol=0, atol=2e-6)  # φ still from ŵ
    psi_on, alpha_off, _ = vgpo_weights(rho, mask, GROUPS, VGPOConfig(inter=False))
    assert torch.equal(alpha_off, torch.ones(8))
    torch.testing.assert_close(psi_on, PSI_HAND, rtol=0, atol=2e-6)
    psi1, alpha1, _ = vgpo_weights(rho, mask, GROUPS, VGPOConfig(intra=False, inter=False))
    adv = torch.arange(8.0) - 3
    torch.testing.assert_close(vgpo_advantages(adv, psi1, alpha1, mask), adv[:, None] * mask)  # plain GRPO


def test_clamp_ranges():
    # gated row above: 1 + ŵ - mean = [.59375, 1.21875, .59375, 1.59375] → clamp [.6, 1.5]
    torch.testing.assert_close(
        _one_row(VGPOConfig(psi_min=0.6, psi_max=1.5)), torch.tensor([0.6, 1.21875, 0.6, 1.5])
    )
    rho, mask = _rho_mask()
    _, alpha, _ = vgpo_weights(rho, mask, GROUPS, VGPOConfig(alpha_min=1.0, alpha_max=1.3))
    # unclamped α = [1.288462, .978736, .403846, .355219, 1.403846, 1.310827, .903846, 1.355219]
    torch.testing.assert_close(
        alpha, torch.tensor([1.288462, 1.0, 1.0, 1.0, 1.3, 1.3, 1.0, 1.3]), rtol=0, atol=2e-6
    )


def test_padding_never_leaks():
    rho, mask = _rho_mask()
    psi, alpha, _ = vgpo_weights(rho, mask, GROUPS)
    # garbage at padding and 3 extra padding columns: identical weights on the valid tokens
    rho_g = torch.cat([rho, torch.full((8, 3), 7.0)], dim=1)
    rho_g[mask.bool().logical_not().nonzero(as_tuple=True)] = -5.0
    mask_g = torch.cat([mask, torch.zeros(8, 3)], dim=1)
    psi_g, alpha_g, _ = vgpo_weights(rho_g, mask_g, GROUPS)
    torch.testing.assert_close(psi_g[:, :5], psi)
    assert torch.equal(psi_g[:, 5:], torch.ones(8, 3))
    torch.testing.assert_close(alpha_g, alpha)


def test_groups_are_ids_not_consecutive_blocks():
    rho, mask = _rho_mask()
    perm = torch.tensor([5, 2, 7, 0, 3, 6, 1, 4])
    psi, alpha, _ = vgpo_weights(rho, mask, GROUPS)
    psi_p, alpha_p, _ = vgpo_weights(rho[perm], mask[perm], GROUPS[perm])
    torch.testing.assert_close(psi_p, psi[perm])
    torch.testing.assert_close(alpha_p, alpha[perm])
    # with consecutive blocks (the official assumption) the same rows would get other α
    _, alpha_blocks, _ = vgpo_weights(rho, mask, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]))
    assert not torch.allclose(alpha_blocks, alpha)


def test_degenerate_rows_and_groups():
    rho = torch.tensor(
        [
            [0.7, 0.0, 0.0],  # 1 valid token → ψ = 1
            [0.0, 0.0, 0.0],  # constant cosines: visual_focus gives ρ = 0 → ρ' = 0 → ŵ = 0, ψ = 1
            [9.0, 9.0, 9.0],  # fully masked → ψ = 1, α = 1, advantage 0
            [1.0, 0.0, 0.5],  # group of size 1 → α = 1
            [0.0, 1.0, 0.0],  # group 7: two rows with the same ρ → equal φ → α = 1
            [0.0, 1.0, 0.0],
        ]
    )
    mask = torch.tensor(
        [[1, 0, 0], [1, 1, 1], [0, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1]], dtype=torch.float32
    )
    groups = torch.tensor([0, 0, 0, 3, 7, 7])
    psi, alpha, diag = vgpo_weights(rho, mask, groups)
    assert torch.equal(psi[:3], torch.ones(3, 3))
    # group 0: rows 0, 1 have φ = 0 and 0 (row 2 is empty and left out) → α = 1
    assert torch.equal(alpha, torch.ones(6))
    assert all(math.isfinite(v) for v in diag.values())
    # a constant but non-zero ρ (visual_focus never yields one) is constant ρ' only without compensation;
    # with it, the late tokens are boosted: T=3, gate both late ties, ρ' = .4·[1, 1.15, 1.3] → ŵ = [0, .5, 1]
    const = torch.full((1, 3), 0.4)
    psi_c = vgpo_weights(const, torch.ones(1, 3), torch.tensor([0]), VGPOConfig(compensation=False))[0]
    assert torch.equal(psi_c, torch.ones(1, 3))
    psi_c = vgpo_weights(const, torch.ones(1, 3), torch.tensor([0]))[0]
    torch.testing.assert_close(psi_c, torch.tensor([[0.5, 1.0, 1.5]]))
    out = vgpo_advantages(torch.tensor([1.0, -1.0, 5.0, 2.0, 1.0, -1.0]), psi, alpha, mask)
    assert torch.equal(out[2], torch.zeros(3)) and torch.isfinite(out).all()


def test_all_masked_batch_no_nan():
    rho = torch.rand(4, 6)
    psi, alpha, diag = vgpo_weights(rho, torch.zeros(4, 6), torch.tensor([0, 0, 1, 1]))
    assert torch.equal(psi, torch.ones(4, 6)) and torch.equal(alpha, torch.ones(4))
    assert all(v == 0.0 for k, v in diag.items() if k != "visual_late_early_ratio")
    assert all(math.isfinite(v) for v in diag.values())
    empty = vgpo_weights(torch.zeros(0, 6), torch.zeros(0, 6), torch.zeros(0, dtype=torch.long))
    assert empty[0].shape == (0, 6) and empty[1].shape == (0,)


def test_diagnostics_by_hand():
    rho = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.2, 0.4, 0.6, 1.0, 0.8]])
    mask = torch.tensor([[1.0, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    psi, alpha, d = vgpo_weights(rho, mask, torch.tensor([0, 1]))
    # visual = top 40% by ρ: row 0 k = ⌊1.6⌋ = 1, ties at 1 → t0, t3: first half (t < 2) 1/4, second 1/4
    #   row 1 k = ⌊2.4⌋ = 2 → t4 (1.0), t5 (.8): first half (t < 3) 0/6, second 2/6
    assert d["visual_pct_first_half"] == pytest.approx((0.25 + 0) / 2)
    assert d["visual_pct_second_half"] == pytest.approx((0.25 + 1 / 3) / 2)
    assert d["visual_late_early_ratio"] == pytest.approx((0.25 + 1 / 3) / 0.25, rel=1e-6)
    # gate: row 0 late [0, 1] → t3; row 1 late t3..5 [.6, 1, .8], k = 1 → t4. 2 of 10 tokens
    assert d["gate_pass_rate"] == pytest.approx(0.2)
    # early = first ⌊T/3⌋ (row 0: t0; row 1: t0, t1) → 0/3; late = last ⌊T/3⌋ (row 0: t3; row 1: t4, t5) → 2/3
    assert d["gate_pass_rate_early"] == 0.0
    assert d["gate_pass_rate_late"] == pytest.approx(2 / 3)
    # Σ G·C: row 0 t3 x = 1 → .3; row 1 t4 x = 4/5 → .24; / 10 tokens = .054
    assert d["compensation_mean"] == pytest.approx(0.054)
    valid = mask.bool()
    assert d["psi_mean"] == pytest.approx(psi[valid].mean().item())
    assert d["psi_min"] == pytest.approx(psi[valid].min().item())
    assert d["alpha_mean"] == pytest.approx(alpha.mean().item())
    assert vgpo_weights(rho, mask, torch.tensor([0, 1]), diagnostics=False)[2] == {}


def test_config_validation_and_shape_errors():
    with pytest.raises(ValueError, match="schedule"):
        VGPOConfig(schedule="cosine")
    with pytest.raises(ValueError, match="kappa"):
        VGPOConfig(kappa=0.0)
    with pytest.raises(ValueError, match="group_ids"):
        vgpo_weights(torch.zeros(2, 3), torch.ones(2, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="adv"):
        vgpo_advantages(torch.zeros(3), torch.ones(2, 3), torch.ones(2), torch.ones(2, 3))


def _load_bench():
    spec = importlib.util.spec_from_file_location(
        "bench_vgpo_weights", ROOT / "benchmarks" / "bench_vgpo_weights.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "cfg",
    [
        VGPOConfig(),
        VGPOConfig(gating=False),
        VGPOConfig(schedule="exponential", start_ratio=0.3),
        VGPOConfig(schedule="step", gamma=0.3, kappa=0.5),
        VGPOConfig(compensation=False, intra=False),
    ],
    ids=["default", "ungated", "exp-start", "step", "no-comp"],
)
def test_matches_official_style_loop(cfg):
    """The vectorised weights equal the per-token loop of the benchmark on random ragged batches."""
    bench = _load_bench()
    torch.manual_seed(0)
    image_states, resp, mask, groups = bench.make_batch(3, 4, 24, 8, seed=1)
    mask[0] = 0  # an empty row
    mask[1, 1:] = 0  # a 1-token row
    groups = groups[torch.randperm(12)]  # groups interleaved
    mu = image_token_mean(image_states, torch.ones(image_states.shape[:2]))
    rho = focus(resp, image_states, torch.ones(image_states.shape[:2]), mask)
    torch.testing.assert_close(rho, bench.reference_visual_focus(resp, mu, mask), rtol=0, atol=1e-5)
    psi, alpha, _ = vgpo_weights(rho, mask, groups, cfg)
    psi_ref, alpha_ref = bench.reference_vgpo_weights(rho, mask, groups, cfg)
    torch.testing.assert_close(psi, psi_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(alpha, alpha_ref, rtol=0, atol=1e-5)
