"""Mixed precision that learns: float32 master weights and AdamW state, bf16 or fp16 compute.

`trainer.precision` picks the compute (`auto` follows `model.dtype`, the dtype weights are stored in):

    fp32        everything float32
    bf16-mixed  one process / DDP: `torch.autocast(bf16)` around the forward; FSDP2: `MixedPrecisionPolicy(
                param_dtype=bf16, reduce_dtype=fp32)` (bf16 compute copy gathered per layer, gradients reduced
                in float32 into the float32 shards)
    fp16-mixed  the same in fp16, with a dynamic loss scaler (`torch.amp.GradScaler`; FSDP: `ShardedGradScaler`,
                which agrees on inf/NaN across ranks)

The policy is always loaded in float32 for training (runtime.load_for_run): AdamW's updates at lr 1e-6 are
below bf16's resolution (8 bits of mantissa: 1 + 2^-8), so updating bf16 weights in place rounds most of
each update away (issue 10: 2.2 % of the elements changed after 3 steps, 99.8 % with float32 masters).
The LM head and the log-probs after it are computed outside autocast (`core.models.policy_outputs`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

COMPUTE_DTYPES = {"fp32": None, "bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}
_AUTO = {"bfloat16": "bf16-mixed", "float16": "fp16-mixed", "float32": "fp32"}


def resolve_precision(precision: str, model_dtype: str) -> str:
    """`trainer.precision` with `auto` resolved from `model.dtype`."""
    if precision == "auto":
        return _AUTO[model_dtype]
    if precision not in COMPUTE_DTYPES:
        raise ValueError(f"trainer.precision={precision!r}: expected auto, {', '.join(COMPUTE_DTYPES)}")
    return precision


@dataclass
class Precision:
    """The resolved compute precision of a run and its loss scaler (fp16 only)."""

    name: str = "fp32"
    scaler: object | None = None  # GradScaler / ShardedGradScaler under fp16-mixed (set by `make_scaler`)

    @property
    def compute_dtype(self) -> torch.dtype | None:
        return COMPUTE_DTYPES[self.name]

    def autocast(self, device: torch.device):
        """Autocast to the compute dtype (a no-op context under fp32)."""
        if self.compute_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(device).type, dtype=self.compute_dtype)

    def make_scaler(self, device: torch.device, sharded: bool) -> None:
        """A dynamic loss scaler for fp16-mixed (bf16 has float32's range and needs none)."""
        if self.name != "fp16-mixed":
            return
        dev = torch.device(device).type
        if sharded:
            from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

            self.scaler = ShardedGradScaler(device=dev)
        else:
            self.scaler = torch.amp.GradScaler(dev)

    def backward(self, loss: torch.Tensor) -> None:
        scaled_backward(loss, self.scaler)


def scaled_backward(loss: torch.Tensor, scaler=None) -> None:
    """`loss.backward()`, through the fp16 loss scaler when there is one."""
    (scaler.scale(loss) if scaler is not None else loss).backward()
