"""The one config system: typed dataclasses registered in Hydra's ConfigStore, composed from `conf/`.

Every entry config (`conf/synth.yaml`, `train.yaml`, `eval.yaml`, `diagnostics.yaml`, `pipeline.yaml`)
names its schema first in its defaults list (`- train_schema`); the schema is a dataclass that its
stage registers with `register_entry` (`mmreason.<stage>.config`, see ENTRY_MODULES). Hydra then
checks every key and type while it composes (an unknown key or `trainer.steps=abc` fails there, naming
the key), and `OmegaConf.to_object` builds the dataclasses, whose `__post_init__` checks choices
against the registries (`algorithm.loss=typo` fails listing the valid losses). Both happen before a
model is built. YAML files hold values only; each field's meaning is the comment next to it here or in
the stage's config module.

This module holds the shared sections, `model` and `generation`, and the helpers:
`compose(name, overrides)` (compose + validate, for tests, notebooks and the pipeline) and
`to_dataclass(cfg, cls)` (a dict, an OmegaConf node or None -> a validated dataclass).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore

# entry config name -> the module that registers its schema (imported by `compose`)
ENTRY_MODULES = {
    "synth": "mmreason.synth.config",
    "train": "mmreason.train.config",
    "eval": "mmreason.eval.config",
    "diagnostics": "mmreason.eval.config",
    "pipeline": "mmreason.pipeline.config",
    "sweep": "mmreason.pipeline.config",
}
TINY_ARCHS = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")
DTYPES = ("float32", "bfloat16", "float16")
BACKENDS = ("hf", "openai", "vllm")


def conf_dir() -> Path:
    """The repo's `conf/` (env `MMREASON_CONF_DIR` overrides)."""
    env = os.environ.get("MMREASON_CONF_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[4] / "conf"


def cache_dir() -> Path:
    """Where built artefacts (the tiny model) are cached (env `MMREASON_CACHE`, else ~/.cache/mmreason)."""
    env = os.environ.get("MMREASON_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mmreason"


def check_choice(key: str, value: Any, choices: tuple | list, what: str = "value") -> None:
    """Raise a ValueError naming the key and the valid choices when `value` is not one of them."""
    if value not in choices:
        raise ValueError(f"{key}={value!r}: unknown {what}; choose one of {list(choices)}")


@dataclass
class TinyModelConfig:
    """Shape of the offline tiny Qwen2-VL. Defaults fit vLLM's CPU limits (head size = hidden/heads = 32,
    sum(mrope_section) = head size / 2; see shared VLLM_CPU.md)."""

    arch: str = "qwen2_vl"  # qwen2_vl | qwen2_5_vl | qwen3_vl (the same tokenizer and shape knobs)
    hidden_size: int = 128  # text decoder width
    intermediate_size: int = 256  # MLP width
    num_hidden_layers: int = 2  # decoder layers
    num_attention_heads: int = 4  # query heads (head size = hidden_size / heads)
    num_key_value_heads: int = 2  # grouped-query KV heads
    mrope_section: list[int] = field(default_factory=lambda: [4, 6, 6])  # M-RoPE split (temporal, h, w); sums to head size / 2
    vision_depth: int = 2  # vision transformer blocks
    vision_embed_dim: int = 32  # vision transformer width
    vision_num_heads: int = 2  # vision attention heads
    vocab_size: int = 1024  # BPE merges learned up to this size (specials included)
    max_position_embeddings: int = 4096  # longest sequence (prompt + image tokens + response)
    tie_word_embeddings: bool = True  # output head shares the input embedding
    seed: int = 0  # random init

    def __post_init__(self) -> None:
        check_choice("model.tiny.arch", self.arch, TINY_ARCHS, "architecture")


@dataclass
class ModelConfig:
    """Which policy to load. `name: tiny` builds (or reuses from the cache) the offline tiny VLM;
    otherwise `path` is a local Hugging Face directory of Qwen2-VL, Qwen2.5-VL or Qwen3-VL."""

    name: str = "tiny"  # a label (run names, caches); `tiny` without a path builds the offline model
    path: str | None = None  # local checkpoint directory (nothing is downloaded)
    dtype: str = "float32"  # float32 | bfloat16 | float16
    device: str = "auto"  # auto -> cuda if available else cpu
    attn_implementation: str = "eager"  # eager | sdpa | flash_attention_2
    min_pixels: int = 56 * 56  # images are resized into [min_pixels, max_pixels] (Qwen2-VL smart_resize)
    max_pixels: int = 112 * 112  # upper bound (the tiny default keeps images at 4-16 visual tokens)
    freeze_vision: bool = False  # freeze the vision tower (and merger) in training
    tiny: TinyModelConfig = field(default_factory=TinyModelConfig)

    def __post_init__(self) -> None:
        check_choice("model.dtype", self.dtype, DTYPES, "dtype")


@dataclass
class GenerationConfig:
    """Which generation backend and its knobs; sampling params (n, temperature…) are per call."""

    backend: str = "hf"  # hf (transformers) | openai (any OpenAI-compatible server) | vllm (in-process)
    batch_size: int = 16  # hf: chats per generate call
    # openai-compatible server
    base_url: str = "http://127.0.0.1:8000/v1"  # openai: the server (python -m mmreason.core.serve, vLLM, ...)
    api_model: str | None = None  # model name sent to the server (default: the server's first model)
    api_key_env: str = "OPENAI_API_KEY"  # the key is read from this env var, never from config
    concurrency: int = 8  # requests in flight
    timeout_s: float = 60.0  # per request
    max_retries: int = 3  # on connection errors and 5xx
    backoff_s: float = 0.5  # first retry delay (doubles)
    # vllm in-process
    gpu_memory_utilization: float = 0.5  # vllm: share of GPU memory for weights + KV cache
    max_model_len: int = 4096  # vllm: longest prompt + response
    tensor_parallel_size: int = 1  # vllm: GPUs per engine
    enforce_eager: bool = False  # no CUDA graphs
    limit_images: int = 4  # images per prompt
    sleep_level: int = 1  # RL rollout engine: free its GPU memory while the policy trains (vLLM sleep mode;
    #                       1: offload weights + drop the KV cache, 2: drop both, 0: never). GPU only: elsewhere
    #                       skipped, with the reason logged once
    extra: dict[str, Any] = field(default_factory=dict)  # passed to vllm.LLM(**extra)

    def __post_init__(self) -> None:
        check_choice("generation.backend", self.backend, BACKENDS, "backend")
        check_choice("generation.sleep_level", self.sleep_level, (0, 1, 2), "sleep level")


def register_entry(name: str, node: type) -> None:
    """Register `node` as the schema of `conf/<name>.yaml`, whose defaults list starts with `<name>_schema`."""
    ConfigStore.instance().store(name=f"{name}_schema", node=node)


def register_configs() -> None:
    """`model_schema` / `generation_schema` in their groups: a preset YAML may name them in its defaults list
    (every entry schema already types `model` and `generation`, so the shipped presets do not need to)."""
    cs = ConfigStore.instance()
    cs.store(group="model", name="model_schema", node=ModelConfig)
    cs.store(group="generation", name="generation_schema", node=GenerationConfig)


register_configs()


def compose(config_name: str, overrides: list[str] | None = None):
    """Compose `conf/<config_name>.yaml` with overrides and validate it (for tests, notebooks, the pipeline).

    Returns the DictConfig; unknown keys, wrong types and choices outside a registry raise here."""
    from hydra import compose as _compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if config_name in ENTRY_MODULES:
        importlib.import_module(ENTRY_MODULES[config_name])  # registers the schema
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = _compose(config_name=config_name, overrides=overrides or [])
    validate(cfg)
    return cfg


def validate(cfg: Any) -> Any:
    """The typed object of a composed config (`OmegaConf.to_object`): every dataclass's checks run."""
    from omegaconf import OmegaConf

    return OmegaConf.to_object(cfg)


def to_dataclass(cfg: Any, cls: type):
    """A dict, an OmegaConf node or None (-> defaults) as a validated `cls`; unknown keys and wrong
    types raise OmegaConf's errors (naming the key), then `cls.__post_init__` checks the values."""
    from omegaconf import OmegaConf

    if isinstance(cfg, cls):
        return cfg
    node = OmegaConf.structured(cls)
    if cfg is not None:
        node = OmegaConf.merge(node, cfg)
    return OmegaConf.to_object(node)
