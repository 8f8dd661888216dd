"""Group-relative advantage estimators for outcome rewards (one scalar reward per rollout).

Rollouts of the same prompt form a group, given as a LongTensor of group ids `[B]` (any integers; the
rollouts of a group need not be adjacent). Every estimator maps `(rewards[B], group_ids[B], eps) -> [B]`
and is vectorised over groups with `index_add_`, no Python loop.

Estimators (registry `ADVANTAGES`, `algorithm.advantage`; add more with `@register_advantage("name")`,
or name a function `fn(rewards, group_ids, eps) -> [B]` as `algorithm.advantage=my_pkg.module:fn`):
- `grpo`:   (r_i - mean_g) / (std_g + eps)        DeepSeekMath arXiv 2402.03300, Eq. in §4.1.2
- `drgrpo`: r_i - mean_g                           Dr.GRPO arXiv 2503.20783 (no std division)
- `rloo`:   r_i - mean of the other rollouts       RLOO arXiv 2402.14740

`std_g` is the *unbiased* sample standard deviation (divisor n-1), as `torch.std` computes by default;
verl (`compute_grpo_outcome_advantage`) and EasyR1 both call `torch.std` on the group's scores, so
the numbers match theirs.

Groups of size 1 get advantage 0 under every estimator (there is no baseline to compare with, so no
learning signal). This differs on purpose from verl, which uses mean 0 / std 1 for a singleton group
(advantage = raw reward), and from EasyR1, which asserts group size > 1.
"""

from __future__ import annotations

import torch

from mmreason.core.registry import Registry

ADVANTAGES = Registry("advantage estimator", key="algorithm.advantage")
register_advantage = ADVANTAGES.register  # @register_advantage("name") on fn(rewards, group_ids, eps) -> [B]


def group_index(group_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Map arbitrary group ids `[B]` to dense indices `[B]` in 0..G-1 and the group sizes `[G]`."""
    _, inverse, counts = torch.unique(group_ids, return_inverse=True, return_counts=True)
    return inverse, counts


def _check(rewards: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    if rewards.dim() != 1:
        raise ValueError(f"advantages.py: rewards must be 1-D [B], got shape {tuple(rewards.shape)}")
    if group_ids.shape != rewards.shape:
        raise ValueError(
            f"advantages.py: group_ids shape {tuple(group_ids.shape)} != rewards shape {tuple(rewards.shape)}"
        )
    if group_ids.dtype.is_floating_point or group_ids.dtype == torch.bool:
        raise ValueError(f"advantages.py: group_ids must be an integer tensor, got {group_ids.dtype}")
    if not torch.isfinite(rewards.float()).all():
        raise ValueError("advantages.py: rewards contain NaN or inf")
    return rewards if rewards.dtype.is_floating_point else rewards.float()


def _group_sum(x: torch.Tensor, inverse: torch.Tensor, n_groups: int) -> torch.Tensor:
    return torch.zeros(n_groups, dtype=x.dtype, device=x.device).index_add_(0, inverse, x)


def group_mean_std(
    rewards: torch.Tensor, group_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-rollout group mean, unbiased group std (0 for singletons) and group size, each `[B]`."""
    inverse, counts = group_index(group_ids)
    n = counts.to(rewards.dtype)
    mean = _group_sum(rewards, inverse, len(counts)) / n
    dev2 = (rewards - mean[inverse]) ** 2
    var = _group_sum(dev2, inverse, len(counts)) / (n - 1).clamp(min=1)  # torch.std default: divisor n-1
    return mean[inverse], var.sqrt()[inverse], counts[inverse]


@register_advantage("grpo")
def grpo_advantage(rewards: torch.Tensor, group_ids: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """A_i = (r_i - mean_g) / (std_g + eps), std unbiased (GRPO, arXiv 2402.03300 §4.1.2)."""
    mean, std, size = group_mean_std(rewards, group_ids)
    return torch.where(size > 1, (rewards - mean) / (std + eps), torch.zeros_like(rewards))


@register_advantage("drgrpo")
def drgrpo_advantage(rewards: torch.Tensor, group_ids: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """A_i = r_i - mean_g (Dr.GRPO, arXiv 2503.20783: drop the std normalisation); eps unused."""
    mean, _, size = group_mean_std(rewards, group_ids)
    return torch.where(size > 1, rewards - mean, torch.zeros_like(rewards))


@register_advantage("rloo")
def rloo_advantage(rewards: torch.Tensor, group_ids: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """A_i = r_i - (sum_g - r_i) / (n_g - 1) (RLOO leave-one-out baseline, arXiv 2402.14740); eps unused."""
    inverse, counts = group_index(group_ids)
    total = _group_sum(rewards, inverse, len(counts))[inverse]
    n = counts[inverse].to(rewards.dtype)
    baseline = (total - rewards) / (n - 1).clamp(min=1)
    return torch.where(n > 1, rewards - baseline, torch.zeros_like(rewards))


def compute_advantages(
    name: str, rewards: torch.Tensor, group_ids: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Per-rollout advantages `[B]` from the estimator `name` (registered, or "package.module:function"), no gradient."""
    fn = ADVANTAGES.get(name)
    rewards = _check(rewards, group_ids)
    with torch.no_grad():
        return fn(rewards.detach(), group_ids, eps)
