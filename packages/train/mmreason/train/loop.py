"""The loop SFT and RL share: optimizer + schedule, resume, one `step_fn` per step, then the lr schedule,
an optional hook (RL pushes weights to vLLM), held-out evaluation, logging and checkpoints.

    result = run_loop(run, step_fn, save_state=..., load_state=..., backend=..., reward_fn=..., data_stats=...)

`step_fn(step, optimizer, timer) -> metrics` does the step's work up to and including `optimizer.step()`
(use `clip_and_step`) and returns metrics already reduced over ranks; `save_state()` / `load_state(state)` carry
the data cursors in checkpoints; `data_stats` (`prepare_data`'s counts of invalid and over-long records) are
logged with the first step. Every rank runs the loop (evaluation and checkpoints are collective); rank 0 alone
logs. Every save (`save_checkpoint`) also clears crash leftovers and prunes to `trainer.save_limit`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
import warnings
from collections.abc import Callable

import torch

from .checkpoint import restore_trainer_state, save_checkpoint
from .logging_utils import NullLogger, RunLogger, Timer
from .rollout import evaluate
from .runtime import Run, make_optimizer

StepFn = Callable[[int, torch.optim.Optimizer, Timer], dict[str, float]]


def clip_and_step(optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter], grad_clip: float,
                  scaler=None) -> float:
    """Clip the global gradient norm at `grad_clip` (<= 0: no clipping), step; returns the norm before clipping.
    Under FSDP the norm is over all shards (DTensor); with an fp16 loss scaler the gradients are unscaled first
    and a step with inf/NaN gradients is skipped (and the scale lowered)."""
    clip = grad_clip if grad_clip and grad_clip > 0 else float("inf")
    if scaler is not None:
        scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(params, clip)
    norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return norm


def run_loop(
    run: Run,
    step_fn: StepFn,
    *,
    save_state: Callable[[], object],
    load_state: Callable[[object], None],
    backend,
    reward_fn,
    heldout: list[dict],
    data_stats: dict[str, float] | None = None,
    after_update: Callable[[], None] | None = None,
    stop_accuracy: float | None = None,
    gathered: Callable[[], object] | None = None,
    before_first_step: Callable[[], None] | None = None,
) -> dict:
    """Steps from the checkpoint's step (or 0) to `trainer.steps`; returns {"out_dir", "step", "final", "history"}.

    `backend` answers the held-out evaluation (greedy accuracy through `reward_fn`) every `trainer.eval_every`
    steps and at the end; a checkpoint is written every `trainer.save_every` steps, at the end, and when the
    held-out accuracy reaches `stop_accuracy` (then the loop stops). `gathered()` is the context evaluation runs in
    (`Policy.gathered` when `backend` generates from the policy itself); `before_first_step()` runs once the
    weights are restored (RL pushes them to a separate rollout engine)."""
    gathered = gathered or contextlib.nullcontext
    cfg, t, dist = run.cfg, run.cfg.trainer, run.dist
    optimizer, scheduler = make_optimizer(run.policy, cfg)
    scaler = run.precision.scaler
    start = 0
    if run.ckpt is not None:
        start, data_state = restore_trainer_state(run.ckpt, run.policy, optimizer, scheduler, dist=dist, scaler=scaler)
        load_state(data_state)
    log = RunLogger(cfg.logger, run.out_dir, t.steps, start, dataclasses.asdict(cfg)) if dist.main else NullLogger()
    if dist.main:
        print(run.memory_line(), file=sys.stderr, flush=True)
    if run.ckpt is not None:
        log.message(f"resumed from {run.ckpt} at step {start}")
    if before_first_step is not None:
        before_first_step()
    history: list[dict] = []
    timer = Timer()
    try:
        for step in range(start, t.steps):
            t0 = time.perf_counter()
            metrics = step_fn(step, optimizer, timer)
            metrics["actor/lr"] = optimizer.param_groups[0]["lr"]
            if step == start:
                metrics.update(data_stats or {})
            with warnings.catch_warnings():  # a step whose groups were all dropped made no update; the schedule still counts it
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
                scheduler.step()
            if after_update is not None:
                with timer("sync_weights"):
                    after_update()
            done = step + 1
            if heldout and (done == t.steps or (t.eval_every and done % t.eval_every == 0)):
                with timer("eval"), gathered():
                    metrics.update(evaluate(backend, heldout, cfg.data, reward_fn, t.max_new_tokens, dist))
            metrics.update(timer.pop())
            metrics["time/step"] = time.perf_counter() - t0
            log.log(done, metrics)
            history.append({"step": done, **metrics})
            stop = stop_accuracy is not None and metrics.get("eval/accuracy", -1.0) >= stop_accuracy
            if done == t.steps or stop or (t.save_every and done % t.save_every == 0):
                save_checkpoint(
                    run.out_dir, done, run.policy, run.processor, optimizer, scheduler, save_state(), t.save_limit,
                    meta={"algorithm": cfg.algorithm.name, "model": dataclasses.asdict(cfg.model), "metrics": metrics},
                    dist=dist, scaler=scaler, model_dtype=cfg.model.dtype, full_model=done == t.steps or stop,
                )
            if stop:
                log.message(f"held-out accuracy {metrics['eval/accuracy']:.3f} >= stop_accuracy {stop_accuracy}: stopped")
                break
    finally:
        log.close()
    final = history[-1] if history else {}
    return {"out_dir": str(run.out_dir), "step": final.get("step", start), "history": history, "final": final}
