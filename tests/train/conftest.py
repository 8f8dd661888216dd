"""Helpers for the train tests: small configs composed from the repo's conf/ and run in-process."""

import os

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")

# a tiny, fast setting: 2 prompts × 4 rollouts, 8 tokens, few records, no console
FAST = [
    "data.train_size=64",
    "data.heldout_size=16",
    "trainer.eval_size=8",
    "trainer.prompts_per_step=2",
    "trainer.rollouts_per_prompt=4",
    "trainer.mini_batch_size=8",
    "trainer.micro_batch_size=4",
    "trainer.max_new_tokens=8",
    "logger.console=false",
    # the untrained model never answers right: a user reward (tests/train/reward_fns.py) gives signal
    'reward.functions=[{fn: "reward_fns:length_parity", weight: 1.0}]',
]


def make_cfg(out_dir, *overrides):
    """A validated TrainConfig from conf/train.yaml + FAST + overrides, writing into out_dir."""
    from mmreason.core.config import compose
    from mmreason.train.config import load_config

    return load_config(compose("train", [*FAST, f"trainer.out_dir={out_dir}", *overrides]))


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
