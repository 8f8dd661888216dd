"""The typed config of `python -m mmreason.train` (schema `train_schema` of conf/train.yaml).

Every key is a field below with its meaning beside it; the YAML files hold values only. Hydra checks keys
and types while composing; `load_config(cfg)` builds the dataclasses, whose checks test every choice
against its registry (advantages, losses, loss aggregations, KL estimators, token weightings, rewards:
a registered name or a "package.module:function") and the values that must agree across sections.
All of it runs before a model is loaded.

Algorithm presets (conf/algorithm/*.yaml) are compositions: `vgpo` = `dapo` + `token_weights: vgpo` +
dual-clip, so `algorithm=grpo algorithm.token_weights=vgpo` is GRPO with VGPO's weights. A policy loss
owns its default clip range (`clip_low`/`clip_high` null): `algorithm.loss=gspo` clips at 3e-4/4e-4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmreason.core.config import GenerationConfig, ModelConfig, check_choice, register_entry, to_dataclass
from mmreason.core.toy import TASKS as TOY_TASKS

from .advantages import ADVANTAGES
from .lora import LoraConfig
from .losses import KL_ESTIMATORS, LOSS_AGGREGATIONS, POLICY_LOSSES, check_dual_clip, clip_range
from .rewards import REWARDS
from .token_weights import TOKEN_WEIGHTS
from .vgpo import VGPOConfig

LR_SCHEDULES = ("constant", "cosine", "linear")
PRECISIONS = ("auto", "fp32", "bf16-mixed", "fp16-mixed")
STRATEGIES = ("fsdp", "ddp")
DIST_BACKENDS = ("auto", "nccl", "gloo")
ROLLOUT_BACKENDS = ("hf", "vllm")  # hf samples from the policy object; vllm gets the weights after every update


@dataclass
class TrainerConfig:
    """The loop: batch shapes, optimiser, sampling, checkpoints. Sizes are in rollouts unless named.
    (Paper-scale values for Qwen2.5-VL-7B, VGPO: lr 1e-6, 512 prompts × 8 rollouts, top_p 0.99,
    2048 response tokens, 4096 prompt tokens.)"""

    steps: int = 200  # training steps (one step = one batch of rollouts + its updates; SFT: one batch)
    prompts_per_step: int = 8  # prompts (groups) per step, over all processes; SFT: records per step unless
    #                            algorithm.batch_size
    rollouts_per_prompt: int = 4  # n: samples per prompt, one group
    mini_batch_size: int = 32  # rollouts per optimizer step (whole groups, over all processes); >= batch -> one update
    micro_batch_size: int = 16  # rollouts per forward/backward in each process (gradient accumulation)
    ppo_epochs: int = 1  # passes over each step's rollouts
    lr: float = 3e-4  # AdamW lr (tiny model: 1e-4..3e-4 RL, 1e-3 SFT)
    weight_decay: float = 0.01  # AdamW weight decay
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # AdamW betas
    grad_clip: float = 1.0  # max global grad norm (<= 0: no clipping, norm still logged)
    lr_schedule: str = "constant"  # constant | cosine | linear (decay to min_lr_ratio·lr at `steps`)
    warmup_steps: int = 0  # linear warm-up from 0 over this many steps
    min_lr_ratio: float = 0.0  # cosine/linear decay floor, as a fraction of lr
    temperature: float = 1.0  # rollout sampling temperature (also applied to the trainer's log-probs)
    top_p: float = 1.0  # nucleus sampling
    max_new_tokens: int = 16  # response budget in tokens (the toy answer is "\boxed{A}")
    max_prompt_length: int = 1024  # prompts longer than this (tokens, images included) are dropped
    dynamic_sampling: bool = False  # drop groups whose rewards are all equal, refill (DAPO §3.2; on in dapo/vgpo)
    max_refills: int = 3  # extra rollout rounds per step to refill dropped groups
    save_every: int = 0  # checkpoint every N steps (0: only at the end)
    save_limit: int = 2  # keep the last N checkpoints (0: keep all)
    resume: str | None = None  # null | auto (latest in out_dir/checkpoints) | a checkpoint dir
    out_dir: str | None = None  # null: Hydra's run dir (./outputs/train outside Hydra); set it to resume with auto
    seed: int = 0  # run seed: data order, sampling seeds, mini-batch shuffles
    eval_every: int = 0  # greedy accuracy on the held-out split every N steps (0: only at the end if eval_size)
    eval_size: int = 128  # held-out records per evaluation (0: no evaluation)
    deterministic: bool = False  # torch.use_deterministic_algorithms (exact resume on GPU)
    num_threads: int | None = None  # torch CPU threads (1 for bit-exact CPU runs)
    # precision and scale (precision.py, parallel.py; README "Training at scale")
    precision: str = "auto"  # compute: fp32 | bf16-mixed | fp16-mixed (loss-scaled); auto: bf16-mixed if model.dtype is
    #                          bfloat16, fp16-mixed if float16, else fp32. Master weights and AdamW state are float32
    #                          always; model.dtype is how weights are stored (checkpoint model/, vLLM, KL reference)
    gradient_checkpointing: bool = False  # recompute activations in backward (transformers' non-reentrant checkpointing)
    strategy: str = "fsdp"  # under torchrun with > 1 process: fsdp (FSDP2 fully_shard per decoder layer and vision
    #                         block, params/grads/optimizer sharded) | ddp (replicas, gradients all-reduced)
    dist_backend: str = "auto"  # torch.distributed backend: auto (nccl with GPUs, else gloo) | nccl | gloo

    def __post_init__(self) -> None:
        check_choice("trainer.lr_schedule", self.lr_schedule, LR_SCHEDULES, "schedule")
        check_choice("trainer.precision", self.precision, PRECISIONS, "precision")
        check_choice("trainer.strategy", self.strategy, STRATEGIES, "strategy")
        check_choice("trainer.dist_backend", self.dist_backend, DIST_BACKENDS, "backend")
        for key in ("steps", "prompts_per_step", "rollouts_per_prompt", "mini_batch_size", "micro_batch_size", "ppo_epochs"):
            if getattr(self, key) < 1:
                raise ValueError(f"trainer.{key} must be >= 1, got {getattr(self, key)}")
        if self.resume is not None and not str(self.resume):
            raise ValueError("trainer.resume must be null, 'auto' or a checkpoint path")


@dataclass
class AlgorithmConfig:
    """What is optimised. RL: advantage estimator, policy loss, aggregation, optional KL, token weights.
    SFT (`name: sft`): its own keys at the end. Names are looked up in the registries of advantages.py,
    losses.py, token_weights.py; "package.module:function" names user code."""

    name: str = "grpo"  # the preset's name (recorded in checkpoints); `sft` trains supervised (sft.py), any other RL
    # RL
    advantage: str = "grpo"  # grpo | drgrpo | rloo (advantages.py)
    adv_eps: float = 1e-6  # eps in the advantage denominator
    loss: str = "clip"  # clip (PPO) | clip_higher (DAPO) | gspo (losses.py)
    clip_low: float | None = None  # ratio clipped below at 1 - clip_low (null: the loss's own, 0.2; gspo 3e-4)
    clip_high: float | None = None  # ratio clipped above at 1 + clip_high (null: the loss's own, clip_higher 0.28,
    #                                 gspo 4e-4; loss=clip is symmetric and ignores it)
    dual_clip: float | None = None  # dual-clip bound c > 1 for negative advantages (null: off)
    loss_agg: str = "token-mean"  # token-mean (DAPO) | seq-mean-token-mean (GRPO) | seq-mean-token-sum-norm (Dr.GRPO)
    kl_coef: float = 0.0  # > 0: add kl_coef·KL(pi || ref) with a frozen copy of the initial policy (GRPO paper: 0.04)
    kl_type: str = "low_var_kl"  # k1 | k2 | k3 | low_var_kl (losses.py)
    token_weights: str = "none"  # none | vgpo: per-token advantages (token_weights.py)
    vgpo: VGPOConfig = field(default_factory=VGPOConfig)  # settings of token_weights=vgpo (vgpo.py)
    overlong_buffer: int = 0  # DAPO soft overlong punishment over the last N tokens of the budget (0: off)
    overlong_penalty: float = 1.0  # penalty at the full response budget
    entropy_coef: float = 0.0  # loss -= entropy_coef·H (H: the policy's per-token entropy, aggregated like the loss;
    #                            verl's entropy_coeff sign: > 0 rewards exploration). actor/entropy is logged always.
    #                            The official VGPO code's optional `entropy_penalty_coef` (0.06, off by default) adds
    #                            +coef·mean(-log p) of the sampled tokens, i.e. a penalty: entropy_coef < 0 here
    tis_cap: float | None = None  # truncated importance sampling: per-token loss × min(p_trainer/p_rollout, tis_cap)
    #                               with the rollout engine's log-probs (Yao et al. 2025, "Your Efficient RL Framework
    #                               Secretly Brings You Off-Policy RL Training"; verl/TRL use cap 2); null: off
    # SFT
    batch_size: int | None = None  # records per step (null: trainer.prompts_per_step)
    epochs: float | None = None  # if set, steps = ceil(epochs · records / batch)
    response_template: str = "\\boxed{{{answer}}}"  # assistant target, str.format over the record's columns
    response_field: str | None = None  # use this record column as the target instead (e.g. a chain of thought)
    stop_accuracy: float | None = None  # stop (and checkpoint) once held-out greedy accuracy reaches this

    def __post_init__(self) -> None:
        ADVANTAGES.check(self.advantage)
        POLICY_LOSSES.check(self.loss)
        clip_range(self.loss, self.clip_low, self.clip_high)
        check_dual_clip(self.dual_clip)
        LOSS_AGGREGATIONS.check(self.loss_agg)
        KL_ESTIMATORS.check(self.kl_type)
        TOKEN_WEIGHTS.check(self.token_weights)
        if self.tis_cap is not None and self.tis_cap <= 0:
            raise ValueError(f"algorithm.tis_cap must be > 0 or null, got {self.tis_cap}")


@dataclass
class DataConfig:
    """Where records come from: the toy generator (core/toy.py) or a dataset on disk (DESIGN.md schema)."""

    name: str = "toy_colour"  # a label (error messages)
    source: str = "toy"  # toy | path
    task: str = "colour"  # toy: colour | largest_colour | count
    train_size: int = 2048  # toy: records in the train split
    heldout_size: int = 256  # toy: records in the held-out split
    train_seed: int = 0  # toy: the splits are different seeds
    heldout_seed: int = 10_000  # toy: seed of the held-out split
    image_size: list[int] = field(default_factory=lambda: [56, 112])  # toy: min/max image side (px)
    path: str | None = None  # path: save_to_disk dir, .parquet or .jsonl (images as paths or bytes)
    eval_path: str | None = None  # path: held-out split (same formats); null: no evaluation
    split: str = "train"  # DatasetDict split to read from a save_to_disk dir
    eval_split: str = "validation"  # DatasetDict split of eval_path (synth writes train / validation / test)
    limit: int | None = None  # use only the first N records
    skip_invalid: bool = False  # false: an invalid record (unreadable gold, missing/corrupt/oversized image, bad UTF-8)
    #                             stops the run before step 1 naming file, row, field, reason; true: dropped, logged
    #                             and counted (metrics data/invalid_train, data/invalid_heldout on the first step)
    max_image_pixels: int = 8192 * 8192  # an image with more pixels (width × height, read from its header) is invalid
    system: str | None = None  # system prompt (e.g. the VGPO prompt asking for <think>..</think> then \boxed{})
    prompt_template: str = "{problem}\nAnswer with the option letter in \\boxed{{}}."  # {problem} = record text

    def __post_init__(self) -> None:
        check_choice("data.source", self.source, ("toy", "path"), "source")
        check_choice("data.task", self.task, TOY_TASKS, "toy task")
        if self.source == "path" and not self.path:
            raise ValueError("data.source=path needs data.path")


@dataclass
class RewardTerm:
    """One user reward term of `reward.functions`."""

    fn: str  # a registered reward (rewards.py REWARDS) or "package.module:function", fn(response, record) -> float
    weight: float = 1.0


@dataclass
class RewardConfig:
    """reward = accuracy·grade + format·format_pattern(response) + Σ weight·fn(response, record) (+ overlong)."""

    accuracy: float = 1.0  # weight of core.grading.grade(response, answer, answer_type)
    format: float = 0.0  # weight of the format check below
    format_pattern: str = "boxed"  # boxed: \boxed{..} present | think_boxed: <think>..</think> then \boxed{..}
    functions: list[RewardTerm] = field(default_factory=list)  # [{fn: "my_pkg.rewards:length_bonus", weight: 0.1}]
    timeout: float = 1.0  # seconds per grading call
    lenient: bool = False  # core.grading's lenient rule (grade.py docstring): also reads "Option B is ...", yes/no
    #                        phrases, an unclosed <answer>; false: the strict rule, which a policy cannot game

    def __post_init__(self) -> None:
        REWARDS.check(self.format_pattern, "reward.format_pattern")
        self.functions = [t if isinstance(t, RewardTerm) else RewardTerm(**t) for t in self.functions]
        for i, term in enumerate(self.functions):
            REWARDS.check(term.fn, f"reward.functions[{i}].fn")


@dataclass
class LoggerConfig:
    """Console (rich progress bar + a line per step), out_dir/metrics.jsonl and optionally wandb."""

    console: bool = True  # rich table lines + progress bar on stderr
    jsonl: bool = True  # out_dir/metrics.jsonl, one line per step
    wandb: bool = False  # wandb.init(dir=out_dir, resume="allow"; one run id per out_dir across resumes)
    project: str = "mmreason"  # wandb project
    run_name: str | None = None  # wandb run name (null: wandb picks one)
    group: str | None = None  # wandb group (the pipeline puts all its stages in one group per run)
    job_type: str | None = None  # wandb job type (the pipeline: the stage's name)
    mode: str = "offline"  # wandb mode: online | offline | disabled (env WANDB_MODE wins)
    log_every: int = 1  # console lines every N steps (JSONL always gets every step)

    def __post_init__(self) -> None:
        check_choice("logger.mode", self.mode, ("online", "offline", "disabled"), "wandb mode")


@dataclass
class TrainConfig:
    """`python -m mmreason.train`: the whole run. `generation` is the rollout engine (hf or vllm)."""

    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    data: DataConfig = field(default_factory=DataConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)  # rank > 0: train LoRA adapters (PEFT) instead of all weights

    def __post_init__(self) -> None:
        t, a = self.trainer, self.algorithm
        if a.name == "sft":
            return
        check_choice("generation.backend", self.generation.backend, ROLLOUT_BACKENDS, "rollout engine")
        if self.generation.backend == "hf" and self.generation.tensor_parallel_size != 1:
            raise ValueError("generation.tensor_parallel_size > 1 needs generation=vllm (hf samples from the policy itself)")
        n = t.rollouts_per_prompt
        if a.token_weights == "vgpo" and a.vgpo.inter and (t.micro_batch_size % n or t.mini_batch_size % n):
            raise ValueError(
                f"algorithm.token_weights=vgpo: trajectory weights α compare the rollouts of a group inside one forward, "
                f"so trainer.micro_batch_size ({t.micro_batch_size}) and mini_batch_size ({t.mini_batch_size}) must be "
                f"multiples of rollouts_per_prompt ({n}) (or set algorithm.vgpo.inter=false)"
            )


register_entry("train", TrainConfig)


def load_config(cfg) -> TrainConfig:
    """A composed config (DictConfig or dict) -> TrainConfig, validated (unknown keys, types, choices)."""
    return to_dataclass(cfg, TrainConfig)
