"""`python -m mmreason.train.merge_lora CKPT OUT [--base PATH] [--dtype float32|bfloat16|float16]`

Writes a full Hugging Face model (safetensors + tokenizer/processor, loadable by transformers, vLLM, eval and
`model.path=OUT`) from a LoRA checkpoint: the base model the run trained (the `model` config recorded in
CKPT/meta.json, or `--base`) with CKPT/adapter merged in, W + (α/r)·B·A (PEFT's `merge_and_unload`), saved in
`model.dtype` (or `--dtype`). Written atomically. Checkpoints of LoRA runs keep only the adapters, except the
final one, which also holds the merged `model/`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from mmreason.core.config import ModelConfig, to_dataclass
from mmreason.core.io import atomic_path, read_json

from .lora import quiet_peft


def merge_lora(ckpt: str | Path, out: str | Path, base: str | None = None, dtype: str | None = None) -> Path:
    """Merge CKPT/adapter into its base model and save the full model to `out`; returns `out`."""
    import torch
    from peft import PeftModel

    from mmreason.core.models import load_policy, save_policy

    ckpt, out = Path(ckpt), Path(out)
    if not (ckpt / "adapter" / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{ckpt}: no adapter/adapter_config.json (not a checkpoint of a LoRA run, lora.rank > 0)")
    meta = read_json(ckpt / "meta.json") if (ckpt / "meta.json").is_file() else {}
    mcfg = to_dataclass(meta.get("model"), ModelConfig)
    if base:
        mcfg = dataclasses.replace(mcfg, path=base)
    model, processor = load_policy(dataclasses.replace(mcfg, dtype="float32", device="cpu"))
    with quiet_peft():
        merged = PeftModel.from_pretrained(model, str(ckpt / "adapter")).merge_and_unload()
    merged.to({"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype or mcfg.dtype])
    with atomic_path(out) as tmp:
        save_policy(merged, processor, tmp)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmreason.train.merge_lora", description=__doc__.split("\n\n")[1])
    ap.add_argument("ckpt", help="a checkpoint directory of a LoRA run (<out_dir>/checkpoints/step_N)")
    ap.add_argument("out", help="where to write the merged model")
    ap.add_argument("--base", help="the base model directory (default: the run's model config in CKPT/meta.json)")
    ap.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], help="stored dtype (default: model.dtype)")
    args = ap.parse_args(argv)
    print(merge_lora(args.ckpt, args.out, args.base, args.dtype))
    return 0


if __name__ == "__main__":
    sys.exit(main())
