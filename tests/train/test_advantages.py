"""Group advantage estimators: hand-computed values, singleton groups, a loop reference, registry."""

import math

import pytest
import torch

from mmreason.train.advantages import ADVANTAGES, compute_advantages, register_advantage

# Three groups, interleaved (ids need not be adjacent nor small):
#   id 10: rewards [1, 0, 0, 1] at rows 0, 2, 4, 6
#   id 7:  rewards [1, 2, 3]    at rows 1, 3, 5
#   id 42: reward  [0.5]        at row 7 (singleton)
#   id 3:  rewards [1, 1]       at rows 8, 9 (all equal)
REWARDS = torch.tensor([1.0, 1.0, 0.0, 2.0, 0.0, 3.0, 1.0, 0.5, 1.0, 1.0])
IDS = torch.tensor([10, 7, 10, 7, 10, 7, 10, 42, 3, 3])


def test_grpo_by_hand():
    # id 10: mean 0.5; unbiased std = sqrt(4·0.25/3) = sqrt(1/3) = 0.5773503 → ±0.5/(0.5773503+1e-6)
    a = 0.5 / (math.sqrt(1 / 3) + 1e-6)  # 0.8660239
    # id 7: mean 2, unbiased std = sqrt((1+0+1)/2) = 1 → (r-2)/(1+1e-6)
    b = 1 / (1 + 1e-6)
    expected = torch.tensor([a, -b, -a, 0.0, -a, b, a, 0.0, 0.0, 0.0])
    got = compute_advantages("grpo", REWARDS, IDS)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert abs(a - 0.8660239) < 1e-6


def test_drgrpo_by_hand():
    # r - group mean: id 10 → ±0.5; id 7 → -1, 0, 1; singleton and all-equal → 0
    expected = torch.tensor([0.5, -1.0, -0.5, 0.0, -0.5, 1.0, 0.5, 0.0, 0.0, 0.0])
    torch.testing.assert_close(compute_advantages("drgrpo", REWARDS, IDS), expected)


def test_rloo_by_hand():
    # id 10: r=1 → 1 - (0+0+1)/3 = 2/3 ; r=0 → 0 - (1+0+1)/3 = -2/3
    # id 7: 1 - (2+3)/2 = -1.5 ; 2 - (1+3)/2 = 0 ; 3 - (1+2)/2 = 1.5 ; singleton → 0 ; [1,1] → 0
    t = 2 / 3
    expected = torch.tensor([t, -1.5, -t, 0.0, -t, 1.5, t, 0.0, 0.0, 0.0])
    torch.testing.assert_close(compute_advantages("rloo", REWARDS, IDS), expected)


def _loop_reference(name, rewards, ids, eps=1e-6):
    """verl-style per-group Python loop (singleton → 0, our documented choice)."""
    out = torch.zeros_like(rewards)
    for g in ids.unique():
        idx = (ids == g).nonzero().flatten()
        r = rewards[idx]
        if len(r) == 1:
            continue
        if name == "grpo":
            out[idx] = (r - r.mean()) / (torch.std(r) + eps)
        elif name == "drgrpo":
            out[idx] = r - r.mean()
        else:
            out[idx] = r - (r.sum() - r) / (len(r) - 1)
    return out


@pytest.mark.parametrize("name", ["grpo", "drgrpo", "rloo"])
def test_matches_loop_reference_on_random_groups(name):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 9, (64,), generator=g) * 1000  # sparse ids, random group sizes incl. singletons
    rewards = torch.randint(0, 3, (64,), generator=g).float() / 2
    torch.testing.assert_close(compute_advantages(name, rewards, ids), _loop_reference(name, rewards, ids))


def test_grpo_group_mean_is_zero_and_no_nan_for_constant_groups():
    rewards = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    ids = torch.tensor([0, 0, 0, 1, 1, 1])
    for name in ADVANTAGES.names():
        out = compute_advantages(name, rewards, ids)
        assert torch.isfinite(out).all()
        assert torch.equal(out, torch.zeros(6))


def test_integer_rewards_and_no_grad():
    r = torch.tensor([1, 0], dtype=torch.long)
    out = compute_advantages("drgrpo", r, torch.tensor([0, 0]))
    assert out.dtype == torch.float32 and torch.equal(out, torch.tensor([0.5, -0.5]))
    rf = torch.tensor([1.0, 0.0], requires_grad=True)
    assert not compute_advantages("grpo", rf, torch.tensor([0, 0])).requires_grad


def test_bad_input_errors():
    with pytest.raises(ValueError, match=r"algorithm.advantage='ppo': unknown advantage estimator; choose one of \['drgrpo', 'grpo', 'rloo'"):
        compute_advantages("ppo", REWARDS, IDS)
    with pytest.raises(ValueError, match="group_ids shape"):
        compute_advantages("grpo", REWARDS, IDS[:3])
    with pytest.raises(ValueError, match="integer"):
        compute_advantages("grpo", REWARDS, IDS.float())
    with pytest.raises(ValueError, match="NaN"):
        compute_advantages("grpo", torch.tensor([1.0, float("nan")]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="1-D"):
        compute_advantages("grpo", REWARDS[None], IDS[None])


def test_register_advantage_decorator():
    name = "_test_constant_one"
    try:

        @register_advantage(name)
        def one(rewards, group_ids, eps=1e-6):
            return torch.ones_like(rewards)

        assert torch.equal(compute_advantages(name, REWARDS, IDS), torch.ones(10))
        with pytest.raises(ValueError, match="already registered"):
            register_advantage(name)(one)
    finally:
        ADVANTAGES.unregister(name)
