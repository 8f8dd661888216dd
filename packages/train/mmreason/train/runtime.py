"""What every training run sets up, RL or SFT: the process group, seeds and threads, the output directory, the
checkpoint to resume from, the policy (float32 master weights, wrapped for the strategy and precision), the data,
the optimizer and its learning-rate schedule.

    run = start_run(cfg)                          # dist, seeds, out_dir, checkpoint, policy (weights restored in loop.py)
    records, heldout, stats = prepare_data(cfg, run.processor)   # stats: data/invalid_*, data/too_long
    optimizer, scheduler = make_optimizer(run.policy, cfg)
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmreason.core.models import blocked_token_ids, load_policy

from .checkpoint import clean_checkpoints, resolve_resume
from .config import TrainConfig
from .data import filter_long_prompts, load_records
from .parallel import Dist, Policy, build_policy, format_memory, init_dist, memory_estimate, shard_model
from .precision import Precision, resolve_precision


def setup_torch(cfg: TrainConfig) -> None:
    """Seeds, threads and determinism switches (before the model is built)."""
    t = cfg.trainer
    if t.num_threads:
        torch.set_num_threads(int(t.num_threads))
    if t.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    random.seed(t.seed)
    np.random.seed(t.seed)
    torch.manual_seed(t.seed)


def resolve_out_dir(cfg: TrainConfig) -> Path:
    """`trainer.out_dir`, else Hydra's run directory, else ./outputs/train (created). Under torchrun every rank
    uses rank 0's (`start_run` broadcasts it): Hydra's timestamped directories may differ between ranks."""
    out = cfg.trainer.out_dir
    if not out:
        try:
            from hydra.core.hydra_config import HydraConfig

            out = HydraConfig.get().runtime.output_dir
        except Exception:
            out = "outputs/train"
    p = Path(out).expanduser()
    p.mkdir(parents=True, exist_ok=True)
    return p


def lr_factor(step: int, total: int, schedule: str = "constant", warmup: int = 0, min_ratio: float = 0.0) -> float:
    """LR multiplier at `step` (0-based): linear warm-up, then constant / cosine / linear decay to min_ratio."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "cosine":
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "linear":
        return min_ratio + (1 - min_ratio) * (1 - progress)
    raise ValueError(f"trainer.lr_schedule={schedule!r}: expected constant, cosine or linear")


def trainable(model) -> list[torch.nn.Parameter]:
    """The trainable parameters of a Policy (adapters only under LoRA) or of a plain module."""
    return model.parameters() if isinstance(model, Policy) else [p for p in model.parameters() if p.requires_grad]


def make_optimizer(model, cfg: TrainConfig):
    """AdamW (float32 state: the master weights are float32) over the trainable parameters of a Policy or module
    (created after FSDP sharding, so its state is sharded too) and its LambdaLR schedule (`lr_factor` over
    `trainer.steps`)."""
    t = cfg.trainer
    opt = torch.optim.AdamW(trainable(model), lr=t.lr, betas=tuple(t.betas), weight_decay=t.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, t.steps, t.lr_schedule, t.warmup_steps, t.min_lr_ratio)
    )
    return opt, sched


_DTYPE_NAMES = {None: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


def load_for_run(cfg: TrainConfig, device: str | torch.device | None = None):
    """(model, processor): the configured policy in train mode, in float32 (the master weights, whatever `model.dtype`
    stores); under LoRA the frozen base in the compute dtype instead (it is never updated; PEFT keeps the adapters
    in float32). A resumed run gets its weights from the checkpoint's DCP state afterwards (loop.py)."""
    dtype = "float32"
    if cfg.lora.rank:
        dtype = _DTYPE_NAMES[Precision(resolve_precision(cfg.trainer.precision, cfg.model.dtype)).compute_dtype]
    model, processor = load_policy(dataclasses.replace(cfg.model, dtype=dtype), device=device)
    model.train()
    return model, processor


def load_reference(cfg: TrainConfig, run: Run) -> Policy | None:
    """The frozen KL reference (`algorithm.kl_coef > 0`): the initial policy, also on resume, in the compute dtype;
    sharded like the policy under FSDP. None without KL, and under LoRA (the reference is the adapter-disabled
    policy itself, `Policy.adapters_disabled`)."""
    if cfg.algorithm.kl_coef <= 0 or cfg.lora.rank:
        return None
    from .parallel import PolicyForward

    dtype = _DTYPE_NAMES[run.precision.compute_dtype]
    dev = "cpu" if run.dist.active else None
    ref, _ = load_policy(dataclasses.replace(cfg.model, dtype=dtype), device=dev)
    ref.requires_grad_(False)
    fwd = PolicyForward(ref, lambda: run.precision.autocast(run.dist.device if run.dist.active else ref.device),
                        guard_vision=run.dist.active)
    if run.policy.strategy == "fsdp":
        shard_model(fwd, ref, None)
        return Policy(ref, fwd, "fsdp")
    fwd.to(run.dist.device if run.dist.active else ref.device)
    return Policy(ref, fwd, "single")


def prepare_data(cfg: TrainConfig, processor, log=print) -> tuple[list[dict], list[dict], dict[str, float]]:
    """(train, heldout, stats): every record checked before step 1, train prompts over
    `trainer.max_prompt_length` dropped, the first `trainer.eval_size` held-out records. `data.skip_invalid`
    drops and counts bad records instead of stopping: stats data/invalid_train, data/invalid_heldout, and
    data/too_long (prompts over the limit), logged on the run's first step."""
    invalid: dict = {}
    train, heldout = load_records(cfg.data, invalid)
    skip = invalid["train"].append if cfg.data.skip_invalid else None
    train, dropped = filter_long_prompts(train, processor, cfg.data, cfg.trainer.max_prompt_length, skip)
    heldout = heldout[: cfg.trainer.eval_size]
    heldout, _ = filter_long_prompts(heldout, processor, cfg.data, 1 << 62, invalid["heldout"].append if skip else None)
    for split, errs in invalid.items():
        if errs:
            log(f"data: dropped {len(errs)} invalid {split} records (data.skip_invalid=true); first: {errs[0]}")
    if dropped:
        log(f"data: dropped {dropped} prompts longer than trainer.max_prompt_length={cfg.trainer.max_prompt_length}")
    if not train:
        raise ValueError("data: no training record left (invalid, or longer than trainer.max_prompt_length)")
    stats = {"data/invalid_train": len(invalid["train"]), "data/invalid_heldout": len(invalid["heldout"]),
             "data/too_long": dropped}
    return train, heldout, stats


@dataclass
class Run:
    """A started run: its config, output directory, the checkpoint it resumes (or None), the policy (wrapped for the
    strategy; `run.model` is the transformers model), the process group and the compute precision."""

    cfg: TrainConfig
    out_dir: Path
    ckpt: Path | None
    policy: Policy
    processor: Any
    dist: Dist
    precision: Precision

    @property
    def model(self):
        return self.policy.hf

    @property
    def blocked(self) -> list[int]:
        """Token ids never sampled nor trained on (vision special tokens)."""
        return blocked_token_ids(self.processor)

    def memory_line(self) -> str:
        """The per-rank memory estimate printed before the run."""
        n = sum(p.numel() for p in self.policy.hf.parameters())
        k = sum(p.numel() for p in self.policy.parameters())
        half = 4 if self.precision.compute_dtype is None else 2
        ref = 0
        if self.cfg.algorithm.name != "sft" and self.cfg.algorithm.kl_coef > 0 and not self.cfg.lora.rank:
            ref = half
        strategy = self.policy.strategy
        frozen = half if self.cfg.lora.rank else 4
        est = memory_estimate(n, k, self.dist.world, strategy, self.precision.name, ref, frozen)
        return format_memory(est, n, k, self.dist.world, strategy, self.precision.name)


def start_run(cfg: TrainConfig) -> Run:
    """Join the process group (torchrun), seed, make the output directory (rank 0, clearing what a killed run left
    in its checkpoints), find the checkpoint to resume (`trainer.resume`), load and wrap the policy."""
    dist = init_dist(cfg)
    setup_torch(cfg)
    out_dir = Path(dist.broadcast(str(resolve_out_dir(cfg)) if dist.main else None))
    ckpt = None
    if dist.main:
        clean_checkpoints(out_dir, cfg.trainer.save_limit)  # temp and half-pruned dirs; prune to save_limit
        ckpt = resolve_resume(cfg.trainer.resume, out_dir)
    ckpt = dist.broadcast(None if ckpt is None else str(ckpt))
    precision = Precision(resolve_precision(cfg.trainer.precision, cfg.model.dtype))
    model, processor = load_for_run(cfg, device="cpu" if dist.active else None)
    policy = build_policy(model, cfg, dist, precision)
    return Run(cfg, out_dir, None if ckpt is None else Path(ckpt), policy, processor, dist, precision)
