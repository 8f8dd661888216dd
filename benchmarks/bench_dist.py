"""Data-parallel speed-up on this machine: SFT samples/s of 1 process vs 2 (torchrun, gloo, one thread each, DDP and
FSDP2), and the share of the DDP step spent in the gradient all-reduce.

    python benchmarks/bench_dist.py [--steps 12] [--batch 16]

Each configuration is a real `python -m torch.distributed.run` job running `mmreason.train` (tiny model, SFT, the
same global batch); throughput is the global batch over the median `time/step` of steps 3.. (steps 1-2 warm up).
The all-reduce time comes from a DDP communication hook that runs each bucket's all-reduce synchronously and
times it (so it includes waiting for the slower rank: an upper bound of the communication share; DDP normally
overlaps it with the backward).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def worker(out: str, overrides: list[str]) -> None:
    """Inside the torchrun job: SFT with a timing comm hook on DDP; rank 0 writes the all-reduce times."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from mmreason.core.config import compose
    from mmreason.train.config import load_config
    from mmreason.train.trainer import train

    times: list[float] = []

    def timed_allreduce(state, bucket):
        t0 = time.perf_counter()
        buf = bucket.buffer()
        dist.all_reduce(buf)
        buf.div_(dist.get_world_size())
        times.append(time.perf_counter() - t0)
        fut = torch.futures.Future()
        fut.set_result(buf)
        return fut

    init = DistributedDataParallel.__init__

    def init_with_hook(self, *a, **k):
        init(self, *a, **k)
        self.register_comm_hook(None, timed_allreduce)

    DistributedDataParallel.__init__ = init_with_hook
    train(load_config(compose("train", [f"trainer.out_dir={out}", *overrides])))
    if not dist.is_initialized() or dist.get_rank() == 0:
        Path(out, "allreduce.json").write_text(json.dumps(times))


def run(nproc: int, strategy: str, steps: int, batch: int) -> dict:
    out = tempfile.mkdtemp(prefix=f"bench-dist-{nproc}-{strategy}-")
    overrides = ["algorithm=sft", f"algorithm.batch_size={batch}", f"trainer.micro_batch_size={batch // 2}", f"trainer.steps={steps}",
                 "trainer.eval_size=0", "trainer.num_threads=1", "logger.console=false", f"trainer.strategy={strategy}",
                 "data.train_size=256", "data.heldout_size=8"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", WANDB_MODE="disabled", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", __file__,
           "--worker", out, "--", *overrides]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    rows = [json.loads(x) for x in Path(out, "metrics.jsonl").read_text().splitlines()][2:]
    step = statistics.median(r["time/step"] for r in rows)
    ar = json.loads(Path(out, "allreduce.json").read_text())
    per_step = sum(ar[-len(rows):]) / len(rows) if ar and strategy == "ddp" and nproc > 1 else 0.0
    return {"nproc": nproc, "strategy": strategy if nproc > 1 else "single", "step_s": step, "samples_s": batch / step,
            "allreduce_share": per_step / step}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--worker")
    args, rest = ap.parse_known_args()
    if args.worker:
        worker(args.worker, [a for a in rest if a != "--"])
        return 0
    rows = [run(1, "ddp", args.steps, args.batch), run(2, "ddp", args.steps, args.batch), run(2, "fsdp", args.steps, args.batch)]
    base = rows[0]["samples_s"]
    print(f"\nSFT on the tiny model, global batch {args.batch}, torchrun + gloo, 1 thread per process, median of "
          f"{args.steps - 2} steps ({os.cpu_count()} CPU cores)")
    print(f"| {'processes':>9} | {'strategy':>8} | {'s/step':>7} | {'samples/s':>9} | {'vs 1 process':>12} | {'all-reduce share':>16} |")
    print(f"|{'-' * 11}|{'-' * 10}|{'-' * 9}|{'-' * 11}|{'-' * 14}|{'-' * 18}|")
    for r in rows:
        share = f"{100 * r['allreduce_share']:.1f} %" if r["allreduce_share"] else "-"
        print(f"| {r['nproc']:>9} | {r['strategy']:>8} | {r['step_s']:>7.3f} | {r['samples_s']:>9.1f} | "
              f"{r['samples_s'] / base:>11.2f}x | {share:>16} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
