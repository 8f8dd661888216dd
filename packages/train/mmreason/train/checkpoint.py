"""Checkpoints that resume exactly.

Layout (one directory per step, written atomically: a kill leaves either the whole directory or none):

    <out_dir>/checkpoints/step_000004/
        model/              save_pretrained safetensors + tokenizer/processor (loadable by transformers, vLLM,
                            and `model.path=...`)
        trainer_state.pt    optimizer, scheduler, RNG states (python, numpy, torch), data cursor, step
        meta.json           {"step", "algorithm", "metrics"} for humans

`trainer.resume=auto` continues from the latest step in `<out_dir>/checkpoints`; `save_limit` keeps the
last N checkpoints.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmreason.core.io import atomic_path, atomic_write_json

_STEP_DIR = re.compile(r"^step_(\d+)$")


def checkpoint_root(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def list_checkpoints(out_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the complete checkpoints under out_dir, oldest first."""
    root = checkpoint_root(out_dir)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and (p / "trainer_state.pt").exists() and (p / "model" / "config.json").exists():
            found.append((int(m.group(1)), p))
    return sorted(found)


def resolve_resume(resume: str | None, out_dir: str | Path) -> Path | None:
    """The checkpoint to resume from: None, the latest one for `auto` (None if there is none), or a path."""
    if resume in (None, "", "null", "none"):
        return None
    if resume == "auto":
        ckpts = list_checkpoints(out_dir)
        return ckpts[-1][1] if ckpts else None
    p = Path(resume).expanduser()
    if not (p / "trainer_state.pt").exists():
        raise FileNotFoundError(f"trainer.resume={resume!r}: no trainer_state.pt there (not a checkpoint dir)")
    return p


def save_checkpoint(
    out_dir: str | Path,
    step: int,
    model,
    processor,
    optimizer: torch.optim.Optimizer,
    scheduler,
    data_state: dict,
    save_limit: int = 0,
    meta: dict | None = None,
) -> Path:
    """Write step `step` atomically, then drop all but the last `save_limit` checkpoints."""
    from mmreason.core.models import save_policy

    path = checkpoint_root(out_dir) / f"step_{step:06d}"
    with atomic_path(path) as tmp:
        tmp.mkdir(parents=True)
        save_policy(model, processor, tmp / "model")
        state = {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "data": data_state,
            "rng": rng_state(),
        }
        torch.save(state, tmp / "trainer_state.pt")
        atomic_write_json(tmp / "meta.json", {"step": step, **(meta or {})})
    prune_checkpoints(out_dir, save_limit)
    return path


def prune_checkpoints(out_dir: str | Path, save_limit: int) -> None:
    if save_limit and save_limit > 0:
        for _, p in list_checkpoints(out_dir)[:-save_limit]:
            shutil.rmtree(p, ignore_errors=True)


def load_trainer_state(path: str | Path) -> dict:
    """The trainer state of a checkpoint dir (RNG states hold numpy arrays: weights_only=False)."""
    return torch.load(Path(path) / "trainer_state.pt", map_location="cpu", weights_only=False)


def restore_trainer_state(path: str | Path, optimizer: torch.optim.Optimizer, scheduler) -> tuple[int, Any]:
    """Load a checkpoint's optimizer, scheduler and RNG states in place; return (step, data state).

    The data state is what the loop passed to `save_checkpoint` as `data_state` (its samplers' cursors)."""
    state = load_trainer_state(path)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    return int(state["step"]), state["data"]
