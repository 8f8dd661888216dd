"""The one config system: every entry config composes against its registered schema, and a bad key, type or
choice fails when the config is composed, naming the key (and the valid choices), before a model is built."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import OmegaConfBaseException

from mmreason.core.config import (
    GenerationConfig,
    ModelConfig,
    TinyModelConfig,
    compose,
    conf_dir,
    to_dataclass,
)

REPO = Path(__file__).resolve().parents[2]


def presets(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def test_conf_dir_is_the_repo_conf():
    assert conf_dir() == REPO / "conf"
    assert {"tiny", "qwen2_5_vl_7b"} <= set(presets("model"))
    assert {"hf", "openai", "vllm"} <= set(presets("generation"))
    assert {"grpo", "dapo", "vgpo", "sft"} <= set(presets("algorithm"))
    assert not (conf_dir() / "rollout").exists()  # `generation` alone picks the rollout engine


@pytest.mark.parametrize("model", presets("model"))
@pytest.mark.parametrize("generation", presets("generation"))
def test_every_preset_composes_into_the_dataclasses(model, generation, monkeypatch):
    monkeypatch.setenv("QWEN25VL_7B_PATH", "/ckpt/qwen")
    cfg = compose("eval", [f"model={model}", f"generation={generation}"])
    m, g = to_dataclass(cfg.model, ModelConfig), to_dataclass(cfg.generation, GenerationConfig)
    assert g.backend == generation
    assert m.name == model
    assert isinstance(m.tiny, TinyModelConfig)
    for name in ("synth", "diagnostics"):
        compose(name, [f"model={model}"] + ([f"generation={generation}"] if name == "synth" else []))


@pytest.mark.parametrize("algorithm", presets("algorithm"))
@pytest.mark.parametrize("generation", presets("generation"))
@pytest.mark.parametrize("model", presets("model"))
def test_every_train_preset_combination_composes(model, generation, algorithm, monkeypatch):
    """RL needs a rollout engine it can push weights to (hf, vllm); SFT generates with hf whatever the group."""
    from mmreason.train.config import load_config

    monkeypatch.setenv("QWEN25VL_7B_PATH", "/ckpt/qwen")
    over = [f"model={model}", f"generation={generation}", f"algorithm={algorithm}"]
    if algorithm != "sft" and generation not in ("hf", "vllm"):
        with pytest.raises(ValueError, match="unknown rollout engine"):
            compose("train", over)
        return
    tc = load_config(compose("train", over))
    assert (tc.model.name, tc.generation.backend, tc.algorithm.name) == (model, generation, algorithm)


def test_preset_values_and_overrides():
    cfg = compose("eval", ["model=tiny", "generation=openai", "model.tiny.num_hidden_layers=1", "generation.concurrency=3"])
    m, g = to_dataclass(cfg.model, ModelConfig), to_dataclass(cfg.generation, GenerationConfig)
    assert (m.path, m.dtype, m.min_pixels, m.max_pixels) == (None, "float32", 56 * 56, 112 * 112)
    assert m.tiny.num_hidden_layers == 1 and m.tiny.hidden_size == 128
    assert (g.base_url, g.concurrency, g.api_key_env) == ("http://127.0.0.1:8000/v1", 3, "OPENAI_API_KEY")


def test_to_dataclass_names_unknown_keys_and_wrong_types():
    with pytest.raises(OmegaConfBaseException, match="Key 'dtyp' not in 'ModelConfig'"):
        to_dataclass({"dtyp": "float32"}, ModelConfig)
    with pytest.raises(OmegaConfBaseException, match="Key 'hiden_size' not in 'TinyModelConfig'"):
        to_dataclass({"tiny": {"hiden_size": 64}}, ModelConfig)
    with pytest.raises(OmegaConfBaseException, match="full_key: tiny.hidden_size"):
        to_dataclass({"tiny": {"hidden_size": "wide"}}, ModelConfig)
    with pytest.raises(ValueError, match=r"model.dtype='fp8': unknown dtype; choose one of \['float32', 'bfloat16', 'float16'\]"):
        to_dataclass({"dtype": "fp8"}, ModelConfig)
    assert to_dataclass(None, ModelConfig) == ModelConfig()


CHOICES = [  # (entry, override, what the message says: the key and the valid choices)
    ("train", "algorithm.loss=typo", ["algorithm.loss='typo'", "unknown policy loss", "'clip', 'clip_higher', 'gspo'"]),
    ("train", "algorithm.advantage=typo", ["algorithm.advantage='typo'", "'drgrpo', 'grpo', 'rloo'"]),
    ("train", "algorithm.loss_agg=typo", ["algorithm.loss_agg='typo'", "'seq-mean-token-mean'"]),
    ("train", "algorithm.kl_type=typo", ["algorithm.kl_type='typo'", "'k1', 'k2', 'k3', 'low_var_kl'"]),
    ("train", "algorithm.token_weights=typo", ["algorithm.token_weights='typo'", "'none', 'vgpo'"]),
    ("train", "algorithm.loss=no_such_pkg.mod:fn", ["algorithm.loss", "cannot import 'no_such_pkg.mod'"]),
    ("train", "reward.format_pattern=typo", ["reward.format_pattern='typo'", "'boxed', 'think_boxed'"]),
    ("train", "trainer.lr_schedule=typo", ["trainer.lr_schedule='typo'", "'constant', 'cosine', 'linear'"]),
    ("train", "algorithm.vgpo.schedule=typo", ["algorithm.vgpo", "schedule 'typo'"]),
    ("synth", "stage=typo", ["stage='typo'", "unknown stage", "'all', 'kg', 'qa'"]),
    ("synth", "synth.kg.extractors=[structural,typo]", ["synth.kg.extractors='typo'", "'structural', 'llm'"]),
    ("synth", "synth.generate.generator=typo", ["synth.generate.generator='typo'", "'template', 'llm'"]),
    ("synth", "synth.score.difficulty.overlong=typo", ["synth.score.difficulty.overlong='typo'", "'skip', 'truncate'"]),
    ("eval", "eval.benchmarks=[mathvista,typo]", ["eval.benchmarks='typo'", "unknown benchmark", "'mathvista'"]),
    ("eval", "eval.judge={mode: typo}", ["eval.judge.mode='typo'", "'fallback', 'all'"]),
    ("eval", "generation.backend=typo", ["generation.backend='typo'", "'hf', 'openai', 'vllm'"]),
    ("diagnostics", "model.tiny.arch=typo", ["model.tiny.arch='typo'", "'qwen2_vl'"]),
    ("pipeline", "stages=[synth,typo]", ["stages='typo'", "'synth', 'sft', 'rl', 'eval'"]),
]


@pytest.mark.parametrize("entry,override,said", CHOICES, ids=[c[1] for c in CHOICES])
def test_choices_outside_a_registry_fail_at_compose_naming_the_choices(entry, override, said):
    with pytest.raises(ValueError) as e:
        compose(entry, [override])
    for text in said:
        assert text in str(e.value), (text, str(e.value))


KEYS_AND_TYPES = [  # (entry, override, the key named in the error)
    ("train", "trainer.stpes=3", "Key 'stpes' not in 'TrainerConfig'"),
    ("train", "trainer.steps=many", "full_key: trainer.steps"),
    ("train", "algorithm.vgpo.beta=strong", "full_key: algorithm.vgpo.beta"),
    ("train", "rollout.sync_weights=true", "Key 'rollout' not in 'TrainConfig'"),  # the dead rollout group is gone
    ("train", "seed=1", "Key 'seed' not in 'TrainConfig'"),  # trainer.seed is the one seed
    ("synth", "synth.score.k=3", "Key 'k' not in 'ScoreConfig'"),
    ("synth", "synth.seed=abc", "full_key: synth.seed"),
    ("synth", "synth.kg.ingest.pdf.dpi=high", "full_key: synth.kg.ingest.pdf.dpi"),
    ("synth", "synth.kg.ingest.max_mb=5", "Key 'max_mb' not in 'IngestConfig'"),
    ("train", "data.skip_invalid=maybe", "full_key: data.skip_invalid"),
    ("train", "data.max_image_pixels=big", "full_key: data.max_image_pixels"),
    ("train", "reward.lenient=sometimes", "full_key: reward.lenient"),
    ("eval", "eval.batch_size=big", "full_key: eval.batch_size"),
    ("eval", "eval.benchmark=[synth]", "Key 'benchmark' not in 'EvalConfig'"),
    ("diagnostics", "diagnostics.n_bin=3", "Key 'n_bin' not in 'DiagnosticsConfig'"),
    ("pipeline", "overrides.train=[x]", "Key 'train' not in 'StageOverrides'"),
]


@pytest.mark.parametrize("entry,override,said", KEYS_AND_TYPES, ids=[k[1] for k in KEYS_AND_TYPES])
def test_unknown_keys_and_wrong_types_fail_at_compose_naming_the_key(entry, override, said):
    with pytest.raises(ConfigCompositionException) as e:
        compose(entry, [override])
    assert said in str(e.value) + str(e.value.__cause__), str(e.value) + str(e.value.__cause__)


def test_entry_points_fail_fast_before_building_a_model(tmp_path):
    """`python -m mmreason.<stage>` with a bad choice exits non-zero, listing the valid choices, and builds
    nothing: the model cache (where the tiny model would be built) stays empty."""
    cache = tmp_path / "cache"
    env = dict(os.environ, MMREASON_CACHE=str(cache), HYDRA_FULL_ERROR="0")
    runs = {
        "train": ("algorithm.loss=typo", "'clip', 'clip_higher', 'gspo'"),
        "synth": ("synth.kg.extractors=[typo]", "'structural', 'llm'"),
        "eval": ("eval.benchmarks=[typo]", "'mathvista'"),
        "pipeline": ("overrides.rl=['algorithm.loss=typo']", "'clip', 'clip_higher', 'gspo'"),
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", f"mmreason.{name}", bad, f"hydra.run.dir={tmp_path / name}", f"out_dir={tmp_path / 'p'}"]
            if name == "pipeline" else [sys.executable, "-m", f"mmreason.{name}", bad, f"hydra.run.dir={tmp_path / name}"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for name, (bad, _) in runs.items()
    }
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode != 0, (name, out[-2000:])
        assert runs[name][1] in out, (name, out[-2000:])
    assert not cache.exists() or not any(cache.rglob("*")), "a model was built"
    assert not (tmp_path / "p" / "synth").exists()  # the pipeline ran no stage


def test_new_data_reward_and_ingest_keys_reach_the_dataclasses():
    """The validation / strict-grading / reader keys are typed fields with the documented defaults, and the
    reader defaults are the ones `synth.ingest` applies when called without options."""
    from mmreason.synth.config import synth_settings
    from mmreason.synth.ingest import INGEST_DEFAULTS
    from mmreason.train.config import load_config

    tc = load_config(compose("train", []))
    assert (tc.data.skip_invalid, tc.data.max_image_pixels, tc.reward.lenient) == (False, 8192 * 8192, False)
    tc = load_config(compose("train", ["data.skip_invalid=true", "data.max_image_pixels=100", "reward.lenient=true"]))
    assert (tc.data.skip_invalid, tc.data.max_image_pixels, tc.reward.lenient) == (True, 100, True)
    s, _ = synth_settings(compose("synth", []))
    assert s["kg"]["ingest"] == INGEST_DEFAULTS
    s, _ = synth_settings(compose("synth", ["synth.kg.ingest.pdf.dpi=72", "synth.kg.ingest.max_file_mb=0.5"]))
    assert s["kg"]["ingest"] == {"max_file_mb": 0.5, "pdf": {**INGEST_DEFAULTS["pdf"], "dpi": 72}}
