"""The `model` and `generation` config groups: every preset composes against core's structured schema."""

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError

from mmreason.core.config import (
    GenerationConfig,
    ModelConfig,
    TinyModelConfig,
    compose,
    conf_dir,
    to_dataclass,
)


def presets(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def test_conf_dir_is_the_repo_conf():
    assert conf_dir() == Path(__file__).resolve().parents[2] / "conf"
    assert {"tiny", "qwen2_5_vl_7b"} <= set(presets("model"))
    assert {"hf", "openai", "vllm"} <= set(presets("generation"))


@pytest.mark.parametrize("model", presets("model"))
@pytest.mark.parametrize("generation", presets("generation"))
def test_every_preset_composes_into_the_dataclasses(model, generation, monkeypatch):
    monkeypatch.setenv("QWEN25VL_7B_PATH", "/ckpt/qwen")
    cfg = compose("eval", [f"model={model}", f"generation={generation}"])
    m, g = to_dataclass(cfg.model, ModelConfig), to_dataclass(cfg.generation, GenerationConfig)
    assert g.backend == generation
    assert m.name == model
    assert isinstance(m.tiny, TinyModelConfig)


def test_preset_values_and_overrides():
    cfg = compose("eval", ["model=tiny", "generation=openai", "model.tiny.num_hidden_layers=1", "generation.concurrency=3"])
    m, g = to_dataclass(cfg.model, ModelConfig), to_dataclass(cfg.generation, GenerationConfig)
    assert (m.path, m.dtype, m.min_pixels, m.max_pixels) == (None, "float32", 56 * 56, 112 * 112)
    assert m.tiny.num_hidden_layers == 1 and m.tiny.hidden_size == 128
    assert (g.base_url, g.concurrency, g.api_key_env) == ("http://127.0.0.1:8000/v1", 3, "OPENAI_API_KEY")


def test_unknown_keys_are_errors():
    with pytest.raises((ConfigCompositionException, ConfigKeyError), match="hiden_size"):
        compose("eval", ["model.tiny.hiden_size=64"])
    with pytest.raises(ValueError, match=r"unknown ModelConfig keys: \['dtyp'\]"):
        to_dataclass({"dtyp": "float32"}, ModelConfig)
    with pytest.raises(ValueError, match=r"unknown TinyModelConfig keys: \['hiden_size'\]"):
        to_dataclass({"tiny": {"hiden_size": 64}}, ModelConfig)
