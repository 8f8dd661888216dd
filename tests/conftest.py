"""Shared test setup: offline, no wandb network, one tiny policy per session."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import importlib.util  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402

if importlib.util.find_spec("vllm") is not None:
    # Only in .venv-vllm (make test-vllm). vLLM reads these at import: in-process engine (fast start,
    # in-process weight push), no torch.compile, a small CPU KV cache, no usage stats, caches in a temp dir.
    _TMP = tempfile.mkdtemp(prefix="mmreason-vllm-test-")
    for _k, _v in {
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "TORCH_COMPILE_DISABLE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "VLLM_CACHE_ROOT": os.path.join(_TMP, "vllm"),
        "TORCHINDUCTOR_CACHE_DIR": os.path.join(_TMP, "inductor"),
        "VLLM_RPC_BASE_PATH": _TMP,
    }.items():
        os.environ.setdefault(_k, _v)


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
