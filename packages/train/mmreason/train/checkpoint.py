"""Checkpoints that resume exactly.

Layout (one directory per step, written atomically: a kill leaves either the whole directory or none):

    <out_dir>/checkpoints/step_000004/
        model/              save_pretrained safetensors + tokenizer/processor (loadable by transformers, vLLM,
                            and `model.path=...`)
        trainer_state.pt    optimizer, scheduler, RNG states (python, numpy, torch), data cursor, step
        meta.json           {"step", "algorithm", "metrics"} for humans

`trainer.resume=auto` continues from the latest step in `<out_dir>/checkpoints`; `save_limit` keeps the
last N checkpoints.

Crash leftovers: a save writes `checkpoints/.step_NNNNNN.<random>.tmp/` and renames it into place (a re-save
of an existing step parks the old one as `.step_NNNNNN.old.<pid>` for a moment); pruning renames a
checkpoint to `.step_NNNNNN.prune` before deleting it, so a kill mid-delete never leaves a half-deleted
`step_*` dir. `clean_checkpoints` (run at start and after every save) removes those leftovers — after
recovering a complete checkpoint that a kill left under a temporary name when its step is missing —
removes incomplete `step_*` dirs (half-pruned by older versions), and prunes to `save_limit`, so the
limit holds after any kill. Only names this module writes are touched.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmreason.core.io import atomic_path, atomic_write_json

_STEP_DIR = re.compile(r"^step_(\d+)$")
_LEFTOVER = re.compile(r"^\.(step_\d+)\.(?:\w+\.tmp|old\.\d+|prune)$")  # core.io.atomic_path's names, prune's


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
        if m and _complete(p):
            found.append((int(m.group(1)), p))
    return sorted(found)


def _complete(p: Path) -> bool:
    """A whole checkpoint: meta.json is written last."""
    return all((p / f).is_file() for f in ("model/config.json", "trainer_state.pt", "meta.json"))


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
        atomic_write_json(tmp / "meta.json", {"step": step, **(meta or {})})  # last: marks it complete
    clean_checkpoints(out_dir, save_limit)
    return path


def prune_checkpoints(out_dir: str | Path, save_limit: int) -> None:
    """Delete all but the last `save_limit` complete checkpoints (0: keep all), crash-safely: each is
    renamed out of the `step_*` namespace first, then deleted."""
    if save_limit and save_limit > 0:
        for _, p in list_checkpoints(out_dir)[:-save_limit]:
            doomed = p.with_name(f".{p.name}.prune")
            shutil.rmtree(doomed, ignore_errors=True)  # from an earlier kill: os.replace needs the name free
            os.replace(p, doomed)
            shutil.rmtree(doomed, ignore_errors=True)


def clean_checkpoints(out_dir: str | Path, save_limit: int = 0) -> list[str]:
    """Remove what killed saves and prunes left in `<out_dir>/checkpoints` and prune to `save_limit`
    (module docstring); returns the names removed. A complete checkpoint found under a temporary name
    whose `step_*` is missing (a kill between the renames) is moved into place instead of deleted."""
    root = checkpoint_root(out_dir)
    if not root.is_dir():
        return []
    removed = []
    for p in sorted(root.iterdir(), key=lambda q: (not q.name.endswith(".tmp"), q.name)):  # the newest save first
        m = _LEFTOVER.match(p.name)
        if m is None or not p.is_dir():
            continue
        final = root / m.group(1)
        inner = p / m.group(1) if p.name.endswith(".tmp") else p  # atomic_path writes <tmp dir>/<name>
        if not final.exists() and not p.name.endswith(".prune") and _complete(inner):
            os.replace(inner, final)
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    for p in root.iterdir():
        if _STEP_DIR.match(p.name) and p.is_dir() and not _complete(p):  # half-deleted by an in-place rmtree
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    prune_checkpoints(out_dir, save_limit)
    return removed


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
