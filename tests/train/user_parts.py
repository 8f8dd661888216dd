"""User algorithm parts, named in config as "user_parts:<function>" (tests/train is on the path): no registration."""

import torch

from mmreason.train.advantages import group_mean_std
from mmreason.train.losses import clipped_surrogate, token_log_ratio


def mean_centred(rewards: torch.Tensor, group_ids: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """r_i - group mean: Dr.GRPO's estimator, written as user code."""
    mean, _, size = group_mean_std(rewards, group_ids)
    return torch.where(size > 1, rewards - mean, torch.zeros_like(rewards))


def plain_ppo(logp, old_logp, advantages, mask, clip_low, clip_high):
    """PPO's clipped surrogate, written as user code; its default clip range is PPO's symmetric 0.2."""
    return clipped_surrogate(token_log_ratio(logp, old_logp, mask), advantages, clip_low, clip_high)


plain_ppo.clip_range = (0.2, None)
