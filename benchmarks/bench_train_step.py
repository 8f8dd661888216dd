"""VGPO update step vs GRPO update step on the same model and the same batch of rollouts.

VGPO's extra work per micro-batch is ρ/ψ/α from the hidden states the loss's forward already
computed (one forward, not two). Target: VGPO / GRPO <= 1.05. Both steps use the same loss settings
except the VGPO weights (GRPO here = the vgpo preset with token_weights none, i.e. ψ = α = 1 and no
hidden-state work), lr 0 so every repetition does identical work, timed alternately (median of reps).

    .venv/bin/python benchmarks/bench_train_step.py [--reps 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("WANDB_MODE", "disabled")

import torch  # noqa: E402

from mmreason.core.config import compose  # noqa: E402
from mmreason.core.generation.hf import HFBackend  # noqa: E402
from mmreason.core.models import blocked_token_ids, load_policy  # noqa: E402
from mmreason.train.advantages import compute_advantages  # noqa: E402
from mmreason.train.config import load_config  # noqa: E402
from mmreason.train.data import PromptSampler, load_records  # noqa: E402
from mmreason.train.logging_utils import Timer  # noqa: E402
from mmreason.train.parallel import as_policy  # noqa: E402
from mmreason.train.rewards import RewardFn  # noqa: E402
from mmreason.train.rollout import collect_rollouts  # noqa: E402
from mmreason.train.runtime import make_optimizer  # noqa: E402
from mmreason.train.trainer import update_policy  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = tempfile.mkdtemp(prefix="bench-train-")
    rows = []
    for prompts, n, tokens in ((8, 4, 16), (8, 4, 128)):
        base = [
            f"trainer.out_dir={out}", "trainer.lr=0", f"trainer.prompts_per_step={prompts}",
            f"trainer.rollouts_per_prompt={n}", f"trainer.mini_batch_size={prompts * n}", "trainer.micro_batch_size=16",
            f"trainer.max_new_tokens={tokens}", "trainer.dynamic_sampling=false", "data.train_size=64",
        ]
        vgpo = load_config(compose("train", ["algorithm=vgpo", *base]))
        grpo = dataclasses.replace(vgpo, algorithm=dataclasses.replace(vgpo.algorithm, token_weights="none"))
        model, processor = load_policy(vgpo.model)
        model.train()
        recs, _ = load_records(vgpo.data)
        batch, _, _ = collect_rollouts(
            HFBackend(model, processor), PromptSampler(len(recs), 0), PromptSampler(len(recs), 1), recs, vgpo.data,
            vgpo.trainer, RewardFn(vgpo.reward), step=0, seed=0,
        )
        batch.rewards = [float(i % 3 == 0) for i in range(len(batch))]  # untrained model: give the groups signal
        adv = compute_advantages("grpo", torch.tensor(batch.rewards), torch.tensor(batch.group_ids))
        blocked = blocked_token_ids(processor)
        times: dict[str, list[float]] = {"grpo": [], "vgpo": []}
        models = {k: as_policy(copy.deepcopy(model)) for k in times}
        opts = {k: make_optimizer(models[k], vgpo)[0] for k in times}
        for rep in range(args.reps + 2):
            for name, cfg in (("grpo", grpo), ("vgpo", vgpo)) if rep % 2 == 0 else (("vgpo", vgpo), ("grpo", grpo)):
                t0 = time.perf_counter()
                update_policy(models[name], None, opts[name], processor, batch, adv, cfg, blocked, 0, Timer())
                if rep >= 2:  # 2 warm-up rounds
                    times[name].append(time.perf_counter() - t0)
        g, v = statistics.median(times["grpo"]), statistics.median(times["vgpo"])
        R = max(len(t) for t in batch.token_ids)
        rows.append((len(batch), R, g, v, v / g))
    print(f"\nVGPO vs GRPO update step (forward + loss + backward + AdamW), tiny model, {args.threads} thread(s), "
          f"median of {args.reps}")
    print(f"| {'rollouts':>8} | {'resp tokens':>11} | {'GRPO s':>8} | {'VGPO s':>8} | {'VGPO/GRPO':>9} |")
    print(f"|{'-' * 10}|{'-' * 13}|{'-' * 10}|{'-' * 10}|{'-' * 11}|")
    for b, r, g, v, ratio in rows:
        print(f"| {b:>8} | {r:>11} | {g:>8.4f} | {v:>8.4f} | {ratio:>9.3f} |")
    worst = max(r[-1] for r in rows)
    print(f"\nworst ratio {worst:.3f} (target <= 1.05): {'OK' if worst <= 1.05 else 'ABOVE TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
