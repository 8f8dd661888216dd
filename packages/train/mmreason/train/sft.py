"""Supervised fine-tuning on the same records (algorithm=sft): warm a policy up before RL.

The assistant target of a record is `algorithm.response_template` formatted with the record
(default `\\boxed{<answer>}`), or the column `algorithm.response_field`, followed by the end-of-turn
token. One step:

    rows   = sampler.take(batch_size)                      deterministic from (seed, cursor)
    batch  = prompt (chat template, generation prompt) + target tokens      teacher forcing
    logp   = response_logprobs(policy, batch)              the loss sees the assistant tokens only
    loss   = -Σ logp / (number of target tokens in the step)               token mean
    backward per micro-batch, clip, AdamW, lr schedule

Checkpoints, resume, logging and evaluation are the RL loop's (trainer.py).
"""

from __future__ import annotations

import math
import time

import torch

from mmreason.core.generation.hf import HFBackend
from mmreason.core.models import blocked_token_ids, response_logprobs

from .checkpoint import clean_checkpoints, resolve_resume, restore_trainer_state, save_checkpoint
from .config import TrainConfig
from .data import PromptSampler, make_chat
from .logging_utils import RunLogger, Timer
from .rewards import RewardFn
from .rollout import Rollouts, evaluate, teacher_forcing_batch
from .trainer import _as_dict, load_for_run, make_optimizer, prepare_data, resolve_out_dir, setup_torch


def sft_target(record: dict, template: str, field: str | None = None) -> str:
    """The assistant's text for a record."""
    if field:
        if field not in record:
            raise KeyError(f"algorithm.response_field={field!r}: record {record.get('id')!r} has no such column")
        return str(record[field])
    return template.format(**record)


def sft_batch(records: list[dict], rows: list[int], cfg: TrainConfig, tokenizer) -> Rollouts:
    """The chosen records as a Rollouts batch whose 'responses' are the SFT targets (+ end of turn)."""
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if eos is None or eos == tokenizer.unk_token_id:
        eos = tokenizer.eos_token_id
    out = Rollouts()
    for i in rows:
        rec = records[i]
        text = sft_target(rec, cfg.algorithm.response_template, cfg.algorithm.response_field)
        out.records.append(rec)
        out.chats.append(make_chat(rec, cfg.data))
        out.texts.append(text)
        out.token_ids.append(tokenizer.encode(text, add_special_tokens=False) + [eos])
        out.group_ids.append(len(out.group_ids))
    return out


def train_sft(cfg: TrainConfig) -> dict:
    t, a = cfg.trainer, cfg.algorithm
    setup_torch(cfg)
    out_dir = resolve_out_dir(cfg)
    clean_checkpoints(out_dir, t.save_limit)  # what a killed run left behind (temp and half-pruned dirs)
    ckpt = resolve_resume(t.resume, out_dir)
    model, processor = load_for_run(cfg, ckpt)
    blocked = blocked_token_ids(processor)
    records, heldout, data_stats = prepare_data(cfg, processor)
    batch_size = a.batch_size or t.prompts_per_step
    steps = t.steps if a.epochs is None else math.ceil(a.epochs * len(records) / batch_size)
    if steps != t.steps:
        import dataclasses

        cfg = dataclasses.replace(cfg, trainer=dataclasses.replace(t, steps=steps))
        t = cfg.trainer
    sampler = PromptSampler(len(records), t.seed)
    optimizer, scheduler = make_optimizer(model, cfg)
    start = 0
    if ckpt is not None:
        start, data_state = restore_trainer_state(ckpt, optimizer, scheduler)
        sampler.load_state_dict(data_state)
    reward_fn = RewardFn(cfg.reward, t.max_new_tokens)
    device = next(model.parameters()).device
    backend = HFBackend(model, processor, cfg.generation.batch_size, cfg.model.min_pixels, cfg.model.max_pixels)
    params = [p for p in model.parameters() if p.requires_grad]
    log = RunLogger(cfg.logger, out_dir, t.steps, start, _as_dict(cfg))
    history: list[dict] = []
    timer = Timer()
    step = start
    try:
        for step in range(start, t.steps):
            t0 = time.perf_counter()
            batch = sft_batch(records, sampler.take(batch_size), cfg, processor.tokenizer)
            n_tok = sum(len(x) for x in batch.token_ids)
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            with timer("update"):
                for s in range(0, len(batch), t.micro_batch_size):
                    rows = list(range(s, min(len(batch), s + t.micro_batch_size)))
                    tf = teacher_forcing_batch(processor, batch, rows, cfg.model.min_pixels, cfg.model.max_pixels, device)
                    logp = response_logprobs(model, tf, blocked_ids=blocked)
                    loss = -logp.sum() / n_tok  # token mean over the whole step (logp is 0 at padding)
                    loss.backward()
                    total += float(loss.detach())
                clip = t.grad_clip if t.grad_clip and t.grad_clip > 0 else float("inf")
                gnorm = float(torch.nn.utils.clip_grad_norm_(params, clip))
                optimizer.step()
            metrics = {"sft/loss": total, "actor/grad_norm": gnorm, "actor/lr": optimizer.param_groups[0]["lr"]}
            if step == start:
                metrics.update(data_stats)
            scheduler.step()
            done = step + 1
            if heldout and (done == t.steps or (t.eval_every and done % t.eval_every == 0)):
                with timer("eval"):
                    metrics.update(evaluate(backend, heldout, cfg.data, reward_fn, t.max_new_tokens))
            metrics.update(timer.pop())
            metrics["time/step"] = time.perf_counter() - t0
            log.log(done, metrics)
            history.append({"step": done, **metrics})
            stop = a.stop_accuracy is not None and metrics.get("eval/accuracy", -1.0) >= a.stop_accuracy
            if done == t.steps or stop or (t.save_every and done % t.save_every == 0):
                save_checkpoint(
                    out_dir, done, model, processor, optimizer, scheduler, sampler.state_dict(), t.save_limit,
                    meta={"algorithm": "sft", "metrics": metrics},
                )
            if stop:
                log.message(f"sft: held-out accuracy {metrics['eval/accuracy']:.3f} >= stop_accuracy {a.stop_accuracy}")
                break
    finally:
        log.close()
    final = history[-1] if history else {}
    return {"out_dir": str(out_dir), "step": final.get("step", start), "history": history, "final": final}
