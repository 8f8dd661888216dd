"""`python -m mmreason.core.models build-tiny --out DIR [--key value ...]`: write the tiny VLM to DIR
(a directory that transformers and vLLM load). `info` prints the cached tiny model's path and size."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from ..config import TinyModelConfig
from . import build_tiny, tiny_dir


def _bool(s: str) -> bool:
    low = s.lower()
    if low not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true/false, got {s!r}")
    return low in ("true", "1", "yes")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmreason.core.models")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build-tiny", help="write the tiny Qwen2-VL to --out")
    b.add_argument("--out", required=True)
    for f in dataclasses.fields(TinyModelConfig):
        if f.name == "mrope_section":
            b.add_argument("--mrope-section", type=int, nargs=3, default=None)
        else:
            kind = _bool if isinstance(f.default, bool) else type(f.default)  # bool("False") is True
            b.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=None)
    sub.add_parser("info", help="print the cached default tiny model directory")
    args = ap.parse_args(argv)
    if args.cmd == "info":
        print(tiny_dir(TinyModelConfig()))
        return 0
    over = {k: v for k, v in vars(args).items() if k not in ("cmd", "out") and v is not None}
    tcfg = TinyModelConfig(**over)
    out = build_tiny(tcfg, args.out)
    print(f"wrote {out} ({tcfg.num_hidden_layers} layers, hidden {tcfg.hidden_size})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
