"""Structured configs (Hydra ConfigStore) for what core builds: `model` and `generation`.

Every field is documented here; YAML presets in `conf/model/*.yaml` and `conf/generation/*.yaml`
only override values. `compose(config_name, overrides)` composes a config from the repo's `conf/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore


def conf_dir() -> Path:
    """The repo's `conf/` (env `MMREASON_CONF_DIR` overrides)."""
    env = os.environ.get("MMREASON_CONF_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[4] / "conf"


def cache_dir() -> Path:
    """Where built artefacts (the tiny model) are cached (env `MMREASON_CACHE`, else ~/.cache/mmreason)."""
    env = os.environ.get("MMREASON_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mmreason"


@dataclass
class TinyModelConfig:
    """Shape of the offline tiny Qwen2-VL. Defaults fit vLLM's CPU limits (head size = hidden/heads = 32,
    sum(mrope_section) = head size / 2; see shared VLLM_CPU.md)."""

    arch: str = "qwen2_vl"  # qwen2_vl | qwen2_5_vl | qwen3_vl (the same tokenizer and shape knobs)
    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    mrope_section: list[int] = field(default_factory=lambda: [4, 6, 6])
    vision_depth: int = 2
    vision_embed_dim: int = 32
    vision_num_heads: int = 2
    vocab_size: int = 1024  # BPE merges learned up to this size (specials included)
    max_position_embeddings: int = 4096
    tie_word_embeddings: bool = True
    seed: int = 0  # random init


@dataclass
class ModelConfig:
    """Which policy to load. `name: tiny` builds (or reuses from the cache) the offline tiny VLM;
    otherwise `path` is a local Hugging Face directory of Qwen2-VL, Qwen2.5-VL or Qwen3-VL."""

    name: str = "tiny"
    path: str | None = None
    dtype: str = "float32"  # float32 | bfloat16 | float16
    device: str = "auto"  # auto -> cuda if available else cpu
    attn_implementation: str = "eager"  # eager | sdpa | flash_attention_2
    min_pixels: int = 56 * 56  # images are resized into [min_pixels, max_pixels] (Qwen2-VL smart_resize)
    max_pixels: int = 112 * 112
    freeze_vision: bool = False  # freeze the vision tower (and merger) in training
    tiny: TinyModelConfig = field(default_factory=TinyModelConfig)


@dataclass
class GenerationConfig:
    """Which generation backend and its knobs; sampling params (n, temperature…) are per call."""

    backend: str = "hf"  # hf | openai | vllm
    batch_size: int = 16  # hf: chats per generate call
    # openai-compatible server
    base_url: str = "http://127.0.0.1:8000/v1"
    api_model: str | None = None  # model name sent to the server (default: the server's first model)
    api_key_env: str = "OPENAI_API_KEY"  # the key is read from this env var, never from config
    concurrency: int = 8
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5
    # vllm in-process
    gpu_memory_utilization: float = 0.5
    max_model_len: int = 4096
    tensor_parallel_size: int = 1
    enforce_eager: bool = False
    limit_images: int = 4  # images per prompt
    extra: dict[str, Any] = field(default_factory=dict)  # passed to vllm.LLM(**extra)


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(group="model", name="model_schema", node=ModelConfig)
    cs.store(group="generation", name="generation_schema", node=GenerationConfig)


register_configs()


def compose(config_name: str, overrides: list[str] | None = None):
    """Compose `conf/<config_name>.yaml` with overrides (for tests and notebooks)."""
    from hydra import compose as _compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return _compose(config_name=config_name, overrides=overrides or [])


def to_dataclass(cfg: Any, cls: type):
    """OmegaConf node (or dict) -> the dataclass, keeping only known fields; None -> defaults."""
    from omegaconf import OmegaConf

    if cfg is None:
        return cls()
    if isinstance(cfg, cls):
        return cfg
    d = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else dict(cfg)
    if cls is ModelConfig and isinstance(d.get("tiny"), dict):
        d["tiny"] = to_dataclass(d["tiny"], TinyModelConfig)  # unknown keys named there too
    known = {f for f in cls.__dataclass_fields__}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)} (known: {sorted(known)})")
    return cls(**d)
