"""What every training run sets up, RL or SFT: seeds and threads, the output directory, the checkpoint to
resume from, the policy, the data, the optimizer and its learning-rate schedule.

    run = start_run(cfg)                          # seeds, out_dir, checkpoint, policy (from the checkpoint if resuming)
    records, heldout, stats = prepare_data(cfg, run.processor)   # stats: data/invalid_*, data/too_long
    optimizer, scheduler = make_optimizer(run.model, cfg)
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
    """`trainer.out_dir`, else Hydra's run directory, else ./outputs/train (created)."""
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
    return [p for p in model.parameters() if p.requires_grad]


def make_optimizer(model, cfg: TrainConfig):
    """AdamW over the trainable parameters and its LambdaLR schedule (`lr_factor` over `trainer.steps`)."""
    t = cfg.trainer
    opt = torch.optim.AdamW(trainable(model), lr=t.lr, betas=tuple(t.betas), weight_decay=t.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, t.steps, t.lr_schedule, t.warmup_steps, t.min_lr_ratio)
    )
    return opt, sched


def load_for_run(cfg: TrainConfig, ckpt: Path | None):
    """(model, processor) from the config, or from a checkpoint's model/ when resuming."""
    mcfg = cfg.model if ckpt is None else dataclasses.replace(cfg.model, path=str(ckpt / "model"))
    model, processor = load_policy(mcfg)
    model.train()
    return model, processor


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
    """A started run: its config, output directory, the checkpoint it resumes (or None) and the policy."""

    cfg: TrainConfig
    out_dir: Path
    ckpt: Path | None
    model: Any
    processor: Any

    @property
    def blocked(self) -> list[int]:
        """Token ids never sampled nor trained on (vision special tokens)."""
        return blocked_token_ids(self.processor)


def start_run(cfg: TrainConfig) -> Run:
    """Seed, make the output directory (clearing what a killed run left in its checkpoints), find the checkpoint
    to resume (`trainer.resume`), load the policy."""
    setup_torch(cfg)
    out_dir = resolve_out_dir(cfg)
    clean_checkpoints(out_dir, cfg.trainer.save_limit)  # temp and half-pruned dirs; prune to save_limit
    ckpt = resolve_resume(cfg.trainer.resume, out_dir)
    model, processor = load_for_run(cfg, ckpt)
    return Run(cfg, out_dir, ckpt, model, processor)
