"""LoRA (PEFT): `lora.rank > 0` trains low-rank adapters instead of all weights, for SFT and RL.

    peft_model = apply_lora(model, cfg.lora)     # peft.PeftModel; only the adapters require grad

Adapted: the language model's linear layers whose leaf name is in `lora.target_modules` (every decoder layer);
the vision tower's linear layers only with `lora.vision=true` (excluded by default: VGPO's signal is the
language model's visual focus, and the paper trains the full model). The LM head and embeddings never.

With LoRA the KL reference is the same model with its adapters disabled (`peft.disable_adapter()`), not a
second copy; rollout engines get the merged weights W + (α/r)·B·A (`parallel.engine_weights`). Checkpoints
hold the adapters in PEFT's format (`adapter/`) and, at the final step, the merged model (`model/`);
`python -m mmreason.train.merge_lora CKPT OUT` writes a full model from any checkpoint.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class LoraConfig:
    """`lora`: adapters on the language model (PEFT `LoraConfig`)."""

    rank: int = 0  # adapter rank r (0: LoRA off, every weight trains)
    alpha: float = 16.0  # the update is scaled by alpha / rank
    dropout: float = 0.0  # dropout on the adapter's input
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))  # leaf names of the language
    #                                                                                   model's linear layers
    vision: bool = False  # also adapt every linear layer of the vision tower

    def __post_init__(self) -> None:
        if self.rank < 0:
            raise ValueError(f"lora.rank must be >= 0 (0: off), got {self.rank}")
        if self.rank and not self.target_modules:
            raise ValueError("lora.target_modules is empty: name the language model's linear layers to adapt")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"lora.dropout must be in [0, 1), got {self.dropout}")

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank


def lora_targets(model, cfg: LoraConfig) -> list[str]:
    """Full names of the modules to adapt: linear layers of the language model named in `target_modules`,
    plus every linear layer of the vision tower with `vision`."""
    import torch

    names = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or name.endswith("lm_head"):
            continue
        in_vision = ".visual." in f".{name}"
        if (in_vision and cfg.vision) or (not in_vision and name.rsplit(".", 1)[-1] in cfg.target_modules):
            names.append(name)
    if not names:
        raise ValueError(f"lora.target_modules={cfg.target_modules}: no linear layer of the language model has such a name")
    return names


def apply_lora(model, cfg: LoraConfig):
    """Wrap `model` in a PEFT LoRA model (adapters initialised as PEFT does: B = 0, so the output is unchanged)."""
    try:
        import peft
    except ImportError as e:  # pragma: no cover - peft is a core dependency
        raise ImportError("lora.rank > 0 needs the peft package (pip install peft)") from e

    pcfg = peft.LoraConfig(
        r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=lora_targets(model, cfg), bias="none",
    )
    with quiet_peft():
        return peft.get_peft_model(model, pcfg)


@contextlib.contextmanager
def quiet_peft():
    """peft 0.21 asks transformers 5.23 for a renamed attribute (`is_gradient_checkpointing`) and warns each time."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*deprecated", category=FutureWarning)
        yield
