"""Typed configs for `python -m mmreason.train` (Hydra composes conf/train.yaml; these give types,
defaults and the meaning of every key; the YAML files repeat the meaning next to each value).

`load_config(cfg)` turns the composed OmegaConf tree into a `TrainConfig`, refusing unknown keys with
a message that names them (a typo in an override fails loudly instead of being ignored).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mmreason.core.config import GenerationConfig, ModelConfig, TinyModelConfig

from .vgpo import VGPOConfig

RL_ALGORITHMS = ("grpo", "dapo", "vgpo")
ALGORITHMS = RL_ALGORITHMS + ("sft",)
LR_SCHEDULES = ("constant", "cosine", "linear")


@dataclass
class TrainerConfig:
    """The loop: batch shapes, optimiser, sampling, checkpoints. Sizes are in rollouts unless named."""

    steps: int = 200  # training steps (one step = one batch of rollouts + its updates)
    prompts_per_step: int = 8  # prompts (groups) per step; SFT: records per step
    rollouts_per_prompt: int = 4  # n: samples per prompt, one group
    mini_batch_size: int = 32  # rollouts per optimizer step (whole groups); >= batch -> one update per step
    micro_batch_size: int = 16  # rollouts per forward/backward (gradient accumulation inside a mini-batch)
    ppo_epochs: int = 1  # passes over each step's rollouts
    lr: float = 3e-4
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float = 1.0  # max global grad norm (<= 0: no clipping, norm still logged)
    lr_schedule: str = "constant"  # constant | cosine | linear (decay to min_lr_ratio·lr at `steps`)
    warmup_steps: int = 0  # linear warm-up from 0 over this many steps
    min_lr_ratio: float = 0.0
    temperature: float = 1.0  # rollout sampling temperature (also applied to the trainer's log-probs)
    top_p: float = 1.0
    max_new_tokens: int = 16  # response budget
    max_prompt_length: int = 1024  # prompts longer than this (tokens, images included) are dropped
    dynamic_sampling: bool = False  # drop groups whose rewards are all equal, refill (DAPO §3.2)
    max_refills: int = 3  # extra rollout rounds per step to refill dropped groups
    save_every: int = 0  # checkpoint every N steps (0: only at the end)
    save_limit: int = 2  # keep the last N checkpoints (0: keep all)
    resume: str | None = None  # null | auto (latest in out_dir/checkpoints) | a checkpoint dir
    out_dir: str | None = None  # null: Hydra's run dir (./outputs/train outside Hydra)
    seed: int = 0
    eval_every: int = 0  # greedy accuracy on the held-out split every N steps (0: only at the end if eval_size)
    eval_size: int = 128  # held-out records per evaluation (0: no evaluation)
    deterministic: bool = False  # torch.use_deterministic_algorithms (exact resume on GPU)
    num_threads: int | None = None  # torch CPU threads (1 for bit-exact CPU runs)


@dataclass
class AlgorithmConfig:
    """What is optimised. RL: advantage estimator, PPO-style loss, optional KL, VGPO weights. SFT: its own keys."""

    name: str = "grpo"  # grpo | dapo | vgpo | sft
    lr: float = 3e-4  # default for trainer.lr (trainer.lr: ${algorithm.lr})
    steps: int = 200  # default for trainer.steps
    dynamic_sampling: bool = False  # default for trainer.dynamic_sampling
    # RL
    advantage: str = "grpo"  # grpo | drgrpo | rloo (advantages.py)
    adv_eps: float = 1e-6
    loss: str = "clip"  # clip | clip_higher | gspo (losses.py)
    clip_low: float = 0.2
    clip_high: float = 0.2
    dual_clip: float | None = None  # dual-clip c for negative advantages (null: off)
    loss_agg: str = "token-mean"  # token-mean | seq-mean-token-mean | seq-mean-token-sum-norm
    kl_coef: float = 0.0  # > 0: add kl_coef·KL(pi || ref) with a frozen copy of the initial policy
    kl_type: str = "low_var_kl"  # k1 | k2 | k3 | low_var_kl
    overlong_buffer: int = 0  # DAPO soft overlong punishment: last N tokens of the budget are penalised
    overlong_penalty: float = 1.0  # max penalty at the full budget
    vgpo: dict[str, Any] | None = None  # VGPOConfig fields (vgpo.py); used when name == vgpo
    # SFT
    batch_size: int | None = None  # records per step (null: trainer.prompts_per_step)
    epochs: float | None = None  # if set, steps = ceil(epochs · records / batch)
    response_template: str = "\\boxed{{{answer}}}"  # assistant target built from the record
    response_field: str | None = None  # use this record column as the target instead
    stop_accuracy: float | None = None  # stop when held-out greedy accuracy reaches this


@dataclass
class DataConfig:
    """Where records come from: the toy generator (core/toy.py) or a dataset on disk."""

    name: str = "toy_colour"
    source: str = "toy"  # toy | path
    task: str = "colour"  # toy: colour | largest_colour | count
    train_size: int = 2048  # toy: records in the train split
    heldout_size: int = 256  # toy: records in the held-out split
    train_seed: int = 0  # toy: the splits are different seeds
    heldout_seed: int = 10_000
    image_size: list[int] = field(default_factory=lambda: [56, 112])  # toy: min/max image side (px)
    path: str | None = None  # path: save_to_disk dir, .parquet or .jsonl (images as paths or bytes)
    eval_path: str | None = None  # path: held-out split (same formats); null: no evaluation
    split: str = "train"  # DatasetDict split to read from a save_to_disk dir
    eval_split: str = "validation"  # DatasetDict split of eval_path (synth writes train / validation / test)
    limit: int | None = None  # use only the first N records
    skip_invalid: bool = False  # false: an invalid record stops the run before step 1 (file, row, field, reason);
    #                             true: invalid records are dropped, logged and counted (metrics data/invalid_*)
    max_image_pixels: int = 8192 * 8192  # an image with more pixels (width × height, read from its header) is invalid
    system: str | None = None  # system prompt
    prompt_template: str = "{problem}\nAnswer with the option letter in \\boxed{{}}."  # {problem} = record text


@dataclass
class RewardConfig:
    """reward = accuracy·grade + format·[format ok] + Σ weight·fn(response, record) (+ overlong penalty)."""

    accuracy: float = 1.0
    format: float = 0.0
    format_pattern: str = "boxed"  # boxed: \boxed{..} present | think_boxed: <think>..</think> then \boxed{..}
    functions: list[dict[str, Any]] = field(default_factory=list)  # [{fn: "pkg.mod:func", weight: 1.0}]
    timeout: float = 1.0  # seconds per grade call
    lenient: bool = False  # core.grading's lenient rule (grade.py docstring); false: strict, cannot be gamed


@dataclass
class RolloutConfig:
    """How rollouts are produced; the backend itself is `generation` (hf | vllm)."""

    name: str = "hf"
    sync_weights: bool = True  # vllm: push the policy's weights to the engine after every update


@dataclass
class LoggerConfig:
    console: bool = True  # rich table lines + progress bar
    jsonl: bool = True  # out_dir/metrics.jsonl, one line per step
    wandb: bool = False
    project: str = "mmreason"
    run_name: str | None = None
    mode: str = "offline"  # wandb mode: online | offline | disabled (env WANDB_MODE wins)
    log_every: int = 1  # console lines every N steps (JSONL always gets every step)


@dataclass
class TrainConfig:
    seed: int = 0
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    data: DataConfig = field(default_factory=DataConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)

    def vgpo_config(self) -> VGPOConfig | None:
        if self.algorithm.name != "vgpo":
            return None
        return _build(VGPOConfig, dict(self.algorithm.vgpo or {}), "algorithm.vgpo")


def _build(cls: type, d: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"config: unknown keys under {where!r}: {unknown} (known: {sorted(known)})")
    return cls(**d)


def load_config(cfg: Any) -> TrainConfig:
    """Composed config (OmegaConf or dict) -> TrainConfig, validated."""
    from omegaconf import DictConfig, OmegaConf

    d = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    d.pop("hydra", None)
    sections = {
        "trainer": TrainerConfig,
        "algorithm": AlgorithmConfig,
        "data": DataConfig,
        "reward": RewardConfig,
        "rollout": RolloutConfig,
        "logger": LoggerConfig,
        "generation": GenerationConfig,
    }
    out: dict[str, Any] = {"seed": int(d.pop("seed", 0))}
    for name, cls in sections.items():
        out[name] = _build(cls, dict(d.pop(name, None) or {}), name)
    m = dict(d.pop("model", None) or {})
    if isinstance(m.get("tiny"), dict):
        m["tiny"] = _build(TinyModelConfig, m["tiny"], "model.tiny")
    out["model"] = _build(ModelConfig, m, "model")
    if d:
        raise ValueError(f"config: unknown top-level keys {sorted(d)}")
    tc = TrainConfig(**out)
    validate(tc)
    return tc


def validate(c: TrainConfig) -> None:
    t, a = c.trainer, c.algorithm
    problems = []
    if a.name not in ALGORITHMS:
        problems.append(f"algorithm.name={a.name!r} not in {ALGORITHMS}")
    if t.lr_schedule not in LR_SCHEDULES:
        problems.append(f"trainer.lr_schedule={t.lr_schedule!r} not in {LR_SCHEDULES}")
    for key in ("steps", "prompts_per_step", "rollouts_per_prompt", "mini_batch_size", "micro_batch_size", "ppo_epochs"):
        if getattr(t, key) < 1:
            problems.append(f"trainer.{key} must be >= 1, got {getattr(t, key)}")
    if t.resume not in (None, "auto") and not str(t.resume):
        problems.append("trainer.resume must be null, 'auto' or a checkpoint path")
    if a.name == "vgpo":
        c.vgpo_config()  # raises on bad keys/values
        n = t.rollouts_per_prompt
        inter = (a.vgpo or {}).get("inter", True)
        if inter and (t.micro_batch_size % n or t.mini_batch_size % n):
            problems.append(
                f"algorithm=vgpo: trajectory weights α compare the rollouts of a group inside one forward, so "
                f"trainer.micro_batch_size ({t.micro_batch_size}) and mini_batch_size ({t.mini_batch_size}) must be "
                f"multiples of rollouts_per_prompt ({n}) (or set algorithm.vgpo.inter=false)"
            )
    if c.data.source not in ("toy", "path"):
        problems.append(f"data.source={c.data.source!r} not in ('toy', 'path')")
    if c.data.source == "path" and not c.data.path:
        problems.append("data.source=path needs data.path")
    if problems:
        raise ValueError("config: " + "; ".join(problems))
