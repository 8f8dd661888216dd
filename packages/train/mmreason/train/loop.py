"""The loop SFT and RL share: optimizer + schedule, resume, one `step_fn` per step, then the lr schedule,
an optional hook (RL pushes weights to vLLM), held-out evaluation, logging and checkpoints.

    result = run_loop(run, step_fn, save_state=..., load_state=..., backend=..., reward_fn=..., data_stats=...)

`step_fn(step, optimizer, timer) -> metrics` does the step's work up to and including `optimizer.step()`
(use `clip_and_step`); `save_state()` / `load_state(state)` carry the data cursors in checkpoints;
`data_stats` (`prepare_data`'s counts of invalid and over-long records) are logged with the first step.
Every save (`save_checkpoint`) also clears crash leftovers and prunes to `trainer.save_limit`.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable

import torch

from .checkpoint import restore_trainer_state, save_checkpoint
from .logging_utils import RunLogger, Timer
from .rollout import evaluate
from .runtime import Run, make_optimizer

StepFn = Callable[[int, torch.optim.Optimizer, Timer], dict[str, float]]


def clip_and_step(optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter], grad_clip: float) -> float:
    """Clip the global gradient norm at `grad_clip` (<= 0: no clipping), step; returns the norm before clipping."""
    clip = grad_clip if grad_clip and grad_clip > 0 else float("inf")
    norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
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
) -> dict:
    """Steps from the checkpoint's step (or 0) to `trainer.steps`; returns {"out_dir", "step", "final", "history"}.

    `backend` answers the held-out evaluation (greedy accuracy through `reward_fn`) every `trainer.eval_every`
    steps and at the end; a checkpoint is written every `trainer.save_every` steps, at the end, and when the
    held-out accuracy reaches `stop_accuracy` (then the loop stops)."""
    cfg, t = run.cfg, run.cfg.trainer
    optimizer, scheduler = make_optimizer(run.model, cfg)
    start = 0
    if run.ckpt is not None:
        start, data_state = restore_trainer_state(run.ckpt, optimizer, scheduler)
        load_state(data_state)
    log = RunLogger(cfg.logger, run.out_dir, t.steps, start, dataclasses.asdict(cfg))
    if run.ckpt is not None:
        log.message(f"resumed from {run.ckpt} at step {start}")
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
                with timer("eval"):
                    metrics.update(evaluate(backend, heldout, cfg.data, reward_fn, t.max_new_tokens))
            metrics.update(timer.pop())
            metrics["time/step"] = time.perf_counter() - t0
            log.log(done, metrics)
            history.append({"step": done, **metrics})
            stop = stop_accuracy is not None and metrics.get("eval/accuracy", -1.0) >= stop_accuracy
            if done == t.steps or stop or (t.save_every and done % t.save_every == 0):
                save_checkpoint(
                    run.out_dir, done, run.model, run.processor, optimizer, scheduler, save_state(), t.save_limit,
                    meta={"algorithm": cfg.algorithm.name, "metrics": metrics},
                )
            if stop:
                log.message(f"held-out accuracy {metrics['eval/accuracy']:.3f} >= stop_accuracy {stop_accuracy}: stopped")
                break
    finally:
        log.close()
    final = history[-1] if history else {}
    return {"out_dir": str(run.out_dir), "step": final.get("step", start), "history": history, "final": final}
