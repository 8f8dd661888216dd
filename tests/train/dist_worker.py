"""Runs training scenarios one after the other inside one torchrun job (tests/train/test_distributed.py):
a job start costs seconds of imports per rank, so the 2-process runs share one.

    python -m torch.distributed.run --nproc_per_node=2 tests/train/dist_worker.py SCENARIOS.json

SCENARIOS.json: [[name, [override, ...]], ...], each composed from conf/train.yaml like `make_cfg`.
"""

import json
import sys
import time

from mmreason.core.config import compose
from mmreason.train.config import load_config
from mmreason.train.trainer import train


def main(path: str) -> None:
    for name, overrides in json.loads(open(path).read()):
        t0 = time.perf_counter()
        train(load_config(compose("train", overrides)))
        print(f"[dist_worker] {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
