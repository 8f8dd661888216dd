"""Checkpoints that resume exactly, on any number of processes.

Layout (one directory per step, written atomically: a kill leaves either the whole directory or none):

    <out_dir>/checkpoints/step_000004/
        state/              torch.distributed.checkpoint (DCP): float32 master weights (the adapters only under
                            LoRA) and AdamW state, one shard file per rank that wrote it, resharded on load to
                            whatever number of processes resumes
        rng/rank_00000.pt   RNG states (python, numpy, torch) of each rank
        model/              consolidated Hugging Face safetensors in `model.dtype` + tokenizer/processor (loadable by
                            transformers, vLLM, eval and `model.path=...`); under LoRA only at the final step
        adapter/            LoRA only: the adapters in PEFT's format (`PeftModel.from_pretrained(base, adapter/)`)
        trainer_state.pt    step, scheduler, loss scaler, data cursors, world size
        meta.json           {"step", "algorithm", "world_size", "model", "metrics"}; written last

`trainer.resume=auto` continues from the latest step in `<out_dir>/checkpoints`; `save_limit` keeps the
last N checkpoints. Resuming needs nothing of the writer's world size: data order and sampling depend on
global sample indices only, the DCP shards are resharded, and a rank without its own RNG file takes rank 0's
(RNG states are not consumed by training: sampling and shuffles are seeded explicitly).

Every rank takes part in a save (DCP writes shards, the consolidated model is gathered tensor by tensor);
rank 0 owns the directory: it creates the temporary one, writes the trainer state and meta.json last, and
renames it into place after a barrier.

Crash leftovers: a save writes `checkpoints/.step_NNNNNN.<random>.tmp/` and renames it into place (a re-save
of an existing step parks the old one as `.step_NNNNNN.old.<pid>` for a moment); pruning renames a
checkpoint to `.step_NNNNNN.prune` before deleting it, so a kill mid-delete never leaves a half-deleted
`step_*` dir. `clean_checkpoints` (run at start and after every save) removes those leftovers — after
recovering a complete checkpoint that a kill left under a temporary name when its step is missing —
removes incomplete `step_*` dirs (half-pruned by older versions), and prunes to `save_limit`, so the
limit holds after any kill. Only names this module writes are touched.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import warnings
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
    weights = (p / "model/config.json").is_file() or (p / "adapter/adapter_config.json").is_file()
    return weights and all((p / f).is_file() for f in ("state/.metadata", "trainer_state.pt", "meta.json"))


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
    policy,
    processor,
    optimizer: torch.optim.Optimizer,
    scheduler,
    data_state: dict,
    save_limit: int = 0,
    meta: dict | None = None,
    *,
    dist=None,
    scaler=None,
    model_dtype: str | None = None,
    full_model: bool = True,
) -> Path:
    """Write step `step` atomically (every rank calls this), then drop all but the last `save_limit` checkpoints.

    `policy` is a `parallel.Policy`; `model_dtype` the dtype of the consolidated `model/` (default: as trained);
    `full_model=False` skips `model/` under LoRA (intermediate checkpoints keep the adapters only)."""
    import torch.distributed.checkpoint as dcp

    from .parallel import Dist

    dist = dist or Dist()
    path = checkpoint_root(out_dir) / f"step_{step:06d}"
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(path)) if dist.main else None
        tmp = Path(dist.broadcast(str(tmp) if tmp else None))
        if dist.main:
            tmp.mkdir(parents=True)
        dist.barrier()
        with _single_process_ok():
            dcp.save(_dcp_state(policy, optimizer), checkpoint_id=str(tmp / "state"), no_dist=not dist.active)
        (tmp / "rng").mkdir(exist_ok=True)
        torch.save(rng_state(), tmp / "rng" / f"rank_{dist.rank:05d}.pt")
        if policy.peft is not None:
            _save_adapter(policy, tmp / "adapter", dist)
        if policy.peft is None or full_model:
            _save_model(policy, processor, tmp / "model", dist, _DTYPES.get(model_dtype))
        dist.barrier()
        if dist.main:
            state = {
                "step": step,
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "data": data_state,
                "world_size": dist.world,
            }
            torch.save(state, tmp / "trainer_state.pt")
            atomic_write_json(tmp / "meta.json", {"step": step, "world_size": dist.world, **(meta or {})})  # last
    if dist.main:
        clean_checkpoints(out_dir, save_limit)
    dist.barrier()
    return path


@contextlib.contextmanager
def _single_process_ok():
    """DCP warns on every save/load without a process group; one process is a supported case here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled, unavailable or uninitialized")
        yield


_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _dcp_state(policy, optimizer) -> dict:
    """{"model", "optim"}: DCP state dicts keyed by the transformers model's own parameter names (the same
    whatever wraps it), sharded DTensors under FSDP; frozen parameters left out (the base model under LoRA)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    msd, osd = get_state_dict(policy.hf, optimizer, options=StateDictOptions(ignore_frozen_params=True))
    return {"model": msd, "optim": osd}


def _save_model(policy, processor, out: Path, dist, dtype: torch.dtype | None) -> None:
    """The consolidated model (`save_pretrained` safetensors): gathered one tensor at a time on every rank, kept
    (in `dtype`, on the CPU) and written by rank 0; under LoRA the merged weights."""
    from mmreason.core.models import save_processor

    weights = {}
    for name, tensor in policy.full_weights(dtype):
        if dist.main:
            weights[name] = tensor.cpu().contiguous()
    if dist.main:
        base = policy.hf
        old = base.config.dtype
        base.config.dtype = next(iter(weights.values())).dtype  # the stored dtype, for vLLM's dtype="auto"
        try:
            base.save_pretrained(str(out), state_dict=weights, safe_serialization=True)
        finally:
            base.config.dtype = old
        save_processor(processor, out)


def _save_adapter(policy, out: Path, dist) -> None:
    """The LoRA adapters in PEFT's format (float32), gathered from the shards."""
    adapters = {}
    for name, p in policy.peft.named_parameters():
        if p.requires_grad:
            full = p.detach().full_tensor() if hasattr(p, "full_tensor") else p.detach()
            if dist.main:
                adapters[name] = full.cpu().contiguous()
    if dist.main:
        policy.peft.save_pretrained(str(out), state_dict=adapters, safe_serialization=True)


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
    """The trainer state of a checkpoint dir (data cursors may hold numpy values: weights_only=False)."""
    return torch.load(Path(path) / "trainer_state.pt", map_location="cpu", weights_only=False)


def restore_trainer_state(path: str | Path, policy, optimizer: torch.optim.Optimizer, scheduler, *, dist=None,
                          scaler=None) -> tuple[int, Any]:
    """Load a checkpoint's weights, optimizer, scheduler, loss scaler and RNG states in place, on any number of
    processes; return (step, data state). The data state is what the loop passed to `save_checkpoint`."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    from .parallel import Dist

    dist = dist or Dist()
    path = Path(path)
    if not (path / "state" / ".metadata").is_file():
        raise FileNotFoundError(
            f"{path}: no state/ (torch.distributed.checkpoint) in this checkpoint: it was written by an older mmreason; "
            f"start from its model/ with model.path={path / 'model'} instead of resuming"
        )
    state = _dcp_state(policy, optimizer)
    with _single_process_ok():
        dcp.load(state, checkpoint_id=str(path / "state"), no_dist=not dist.active)
    set_state_dict(policy.hf, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"],
                   options=StateDictOptions(ignore_frozen_params=True))
    ts = load_trainer_state(path)
    scheduler.load_state_dict(ts["scheduler"])
    if scaler is not None and ts.get("scaler"):
        scaler.load_state_dict(ts["scaler"])
    mine = path / "rng" / f"rank_{dist.rank:05d}.pt"
    set_rng_state(torch.load(mine if mine.is_file() else path / "rng" / "rank_00000.pt", weights_only=False))
    return int(ts["step"]), ts["data"]
