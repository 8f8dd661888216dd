"""Policy losses, aggregation, KL estimators and entropy against hand-computed numbers."""

import math

import pytest
import torch

from mmreason.train.losses import aggregate_loss, entropy_from_logits, kl_penalty, masked_mean, policy_loss

# Two sequences, L = 3; row 1 has one padding position holding garbage that must not leak.
#   row 0: (A=+1, r=1.5), (A=-1, r=0.5), (A=-1, r=4)
#   row 1: (A=+1, r=1.0), (A=+1, r=0.5), padding (A=100, logp=-50)
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
ADV = torch.tensor([[1.0, -1.0, -1.0], [1.0, 1.0, 100.0]])
OLD = torch.tensor([[-1.0, -1.0, -2.0], [-0.5, -1.0, -3.0]])
RATIOS = torch.tensor([[1.5, 0.5, 4.0], [1.0, 0.5, 1.0]])


def _logp(requires_grad=False):
    lp = OLD + RATIOS.log()
    lp[1, 2] = -50.0  # garbage at padding
    return lp.clone().requires_grad_(requires_grad)


def test_vanilla_clip_symmetric_with_dual_clip():
    # clip ε=0.2 both sides (clip_high ignored): per-token loss max(-A r, -A clip(r, .8, 1.2)), dual c=3 for A<0
    #   (+1, 1.5): max(-1.5, -1.2) = -1.2     (-1, 0.5): max(0.5, 0.8) = 0.8
    #   (-1, 4):   max(4, 1.2)=4 → min(4, 3) = 3  (+1, 1): -1   (+1, 0.5): max(-0.5, -0.8) = -0.5
    # token-mean = (-1.2 + 0.8 + 3 - 1 - 0.5) / 5 = 1.1 / 5 = 0.22
    loss, m = policy_loss(_logp(), OLD, ADV, MASK, kind="clip", clip_high=0.9)
    assert loss.item() == pytest.approx(0.22, abs=1e-6)
    assert m["pg_loss"] == pytest.approx(0.22, abs=1e-6)
    assert m["clipfrac_high"] == pytest.approx(1 / 5)  # r=1.5 > 1.2 with A>0
    assert m["clipfrac_low"] == pytest.approx(1 / 5)  # r=0.5 < 0.8 with A<0


def test_clip_higher_metrics_and_values():
    # ε_high = 0.28: first token → -1.28; others as above → (-1.28 + 0.8 + 3 - 1 - 0.5)/5 = 0.204
    loss, m = policy_loss(_logp(), OLD, ADV, MASK, kind="clip_higher")
    assert loss.item() == pytest.approx(0.204, abs=1e-6)
    assert m["clipfrac_high"] == pytest.approx(0.2)
    assert m["clipfrac_low"] == pytest.approx(0.2)
    assert m["clipfrac"] == pytest.approx(0.4)
    assert m["dual_clipfrac"] == pytest.approx(0.2)  # r=4 > 3 with A<0
    assert m["ratio_mean"] == pytest.approx((1.5 + 0.5 + 4 + 1 + 0.5) / 5)  # 1.5, padding excluded
    assert m["ratio_max"] == pytest.approx(4.0)
    # ppo_kl = mean(old - new) = -(ln1.5 + ln.5 + ln4 + 0 + ln.5)/5 = -ln(1.5)/5 = -0.0810930
    assert m["ppo_kl"] == pytest.approx(-math.log(1.5) / 5, abs=1e-6)
    # k3 = mean(r - 1 - ln r) = (0.094535 + 0.193147 + 1.613706 + 0 + 0.193147)/5 = 0.418907
    assert m["approx_kl"] == pytest.approx(0.418907, abs=1e-5)


def test_dual_clip_off_and_bad_value():
    # without dual clip the (-1, r=4) token costs 4: (-1.28 + 0.8 + 4 - 1 - 0.5)/5 = 0.404
    loss, m = policy_loss(_logp(), OLD, ADV, MASK, kind="clip_higher", dual_clip=None)
    assert loss.item() == pytest.approx(0.404, abs=1e-6)
    assert m["dual_clipfrac"] == 0.0
    with pytest.raises(ValueError, match="dual_clip must be > 1"):
        policy_loss(_logp(), OLD, ADV, MASK, dual_clip=0.5)


def test_gradient_only_through_unclipped_tokens():
    # clip_higher, token-mean over 5 tokens: clipped / dual-clipped tokens have zero gradient;
    # (+1, r=1): d(-r)/dlogp = -1 → -1/5 ; (+1, r=0.5): -0.5/5 = -0.1 ; padding 0
    lp = _logp(requires_grad=True)
    loss, _ = policy_loss(lp, OLD, ADV, MASK, kind="clip_higher")
    loss.backward()
    expected = torch.tensor([[0.0, 0.0, 0.0], [-0.2, -0.1, 0.0]])
    torch.testing.assert_close(lp.grad, expected)


def test_aggregation_modes_by_hand():
    # clip_higher per-token losses: row 0 [-1.28, 0.8, 3] (sum 2.52), row 1 [-1, -0.5] (sum -1.5)
    kw = dict(kind="clip_higher")
    seq, _ = policy_loss(_logp(), OLD, ADV, MASK, agg="seq-mean-token-mean", **kw)
    assert seq.item() == pytest.approx((2.52 / 3 + -1.5 / 2) / 2, abs=1e-6)  # (0.84 - 0.75)/2 = 0.045
    norm, _ = policy_loss(_logp(), OLD, ADV, MASK, agg="seq-mean-token-sum-norm", norm_len=4, **kw)
    assert norm.item() == pytest.approx((2.52 / 4 + -1.5 / 4) / 2, abs=1e-6)  # 0.1275
    norm_default, _ = policy_loss(_logp(), OLD, ADV, MASK, agg="seq-mean-token-sum-norm", **kw)
    assert norm_default.item() == pytest.approx((2.52 / 3 + -1.5 / 3) / 2, abs=1e-6)  # L = 3 → 0.17
    with pytest.raises(ValueError, match="unknown loss aggregation"):
        aggregate_loss(torch.zeros(2, 3), MASK, "sum")


def test_seq_mean_skips_empty_rows_and_all_padding_gives_zero():
    loss_mat = torch.tensor([[1.0, 3.0], [7.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    assert aggregate_loss(loss_mat, mask, "seq-mean-token-mean").item() == 2.0  # the empty row is skipped
    assert aggregate_loss(loss_mat, mask, "token-mean").item() == 2.0
    empty = torch.zeros(2, 2)
    for mode in ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"):
        assert aggregate_loss(loss_mat, empty, mode).item() == 0.0
    loss, m = policy_loss(_logp(), OLD, ADV, torch.zeros(2, 3))
    assert loss.item() == 0.0 and all(math.isfinite(v) for v in m.values())


def test_gspo_sequence_ratio_and_gradient():
    # row 0: s = exp(mean(ln1.5, ln.5, ln4)) = exp(ln3 / 3) = 3^(1/3) = 1.4422496 ; row 1: s = exp(ln.5 / 2) = 0.7071068
    # GSPO clip 3e-4/4e-4, dual 3: row 0 tokens: (+1) max(-1.44225, -1.0004) = -1.0004 ; (-1) 1.44225 twice
    #   row 1 (+1, s=.7071 < .9997, unclipped): -0.7071068 both
    # seq-mean-token-mean = ((-1.0004 + 2·1.4422496)/3 + -0.7071068)/2 = (0.6280331 - 0.7071068)/2 = -0.0395369
    s0, s1 = 3 ** (1 / 3), 0.5**0.5
    lp = _logp(requires_grad=True)
    loss, m = policy_loss(lp, OLD, ADV, MASK, kind="gspo", agg="seq-mean-token-mean")
    assert loss.item() == pytest.approx(((-1.0004 + 2 * s0) / 3 - s1) / 2, abs=1e-6)
    assert m["ratio_mean"] == pytest.approx((3 * s0 + 2 * s1) / 5, abs=1e-6)
    loss.backward()
    # row 1 loss = -s1, s1 = exp(mean of 2 token log-ratios): d/dlogp_t = -s1/2, then /2 (two sequences)
    # → both tokens -0.1767767 although their token ratios differ (1 and 0.5): the ratio is sequence-level
    assert lp.grad[1, 0].item() == pytest.approx(-s1 / 4, abs=1e-6)
    assert lp.grad[1, 1].item() == pytest.approx(-s1 / 4, abs=1e-6)
    assert lp.grad[1, 2].item() == 0.0
    # row 0: clipped token has no direct path, but s0 depends on all three tokens; the two A=-1 tokens
    # contribute (1/3)·(s0·(1/3))·2 per token → each token gets 2·s0/9 / 2 = s0/9 = 0.1602500
    torch.testing.assert_close(lp.grad[0], torch.full((3,), s0 / 9))


def test_advantage_broadcast_and_shape_errors():
    adv_b = torch.tensor([1.0, -1.0])
    a, _ = policy_loss(_logp(), OLD, adv_b, MASK)
    b, _ = policy_loss(_logp(), OLD, adv_b[:, None].expand(2, 3), MASK)
    assert a.item() == b.item()
    with pytest.raises(ValueError, match="old_logp shape"):
        policy_loss(_logp(), OLD[:, :2], ADV, MASK)
    with pytest.raises(ValueError, match="unknown policy loss"):
        policy_loss(_logp(), OLD, ADV, MASK, kind="ppo2")


def test_kl_penalty_by_hand():
    logp = torch.tensor([-1.0, -2.0, 0.0])
    ref = torch.tensor([-2.0, -1.0, -30.0])
    # diff = logp - ref = [1, -1, 30]
    torch.testing.assert_close(kl_penalty(logp, ref, "k1"), torch.tensor([1.0, -1.0, 30.0]))
    torch.testing.assert_close(kl_penalty(logp, ref, "k2"), torch.tensor([0.5, 0.5, 450.0]))
    # k3: x = ref - logp = [-1, 1, -30→-20]: e^-1 + 1 - 1 = 0.3678794 ; e - 2 = 0.7182818 ; e^-20 + 19 → clamp 10
    expected = torch.tensor([math.exp(-1), math.e - 2, 10.0])
    torch.testing.assert_close(kl_penalty(logp, ref, "k3"), expected)
    torch.testing.assert_close(kl_penalty(logp, ref, "low_var_kl"), expected)
    with pytest.raises(ValueError, match="unknown KL estimator"):
        kl_penalty(logp, ref, "full")


def test_entropy_from_logits_by_hand():
    logits = torch.tensor(
        [
            [0.0, 0.0, 0.0, 0.0],  # uniform over 4 → ln 4 = 1.3862944
            [0.0, math.log(3.0), -math.inf, -math.inf],  # p = [.25, .75, 0, 0] → 0.5623351
        ]
    )
    h = entropy_from_logits(logits)
    torch.testing.assert_close(
        h, torch.tensor([math.log(4), -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))])
    )
    assert abs(h[1].item() - 0.5623351) < 1e-6


def test_masked_mean_ignores_nan_padding():
    x = torch.tensor([[1.0, float("nan")], [3.0, 5.0]])
    mask = torch.tensor([[1, 0], [1, 1]], dtype=torch.bool)
    assert masked_mean(x, mask).item() == 3.0
    torch.testing.assert_close(masked_mean(x, mask, dim=-1), torch.tensor([1.0, 4.0]))
