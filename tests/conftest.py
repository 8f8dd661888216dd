"""Shared test setup: offline, no wandb network, one tiny policy per session."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_policy():
    """(model, processor) of the default tiny VLM (built once into the cache)."""
    from mmreason.core.config import ModelConfig
    from mmreason.core.models import load_policy

    return load_policy(ModelConfig())


@pytest.fixture(scope="session")
def shape_images():
    """Four small RGB images with one coloured square each (sizes differ: 56..112 px)."""
    from PIL import Image, ImageDraw

    out = []
    for i, (colour, size) in enumerate([("red", 56), ("green", 70), ("blue", 84), ("yellow", 112)]):
        im = Image.new("RGB", (size, size - 14 * (i % 2)), "white")
        ImageDraw.Draw(im).rectangle([8, 8, size // 2, size // 2], fill=colour)
        out.append(im)
    return out
