"""Supervised fine-tuning on the same records (algorithm=sft): warm a policy up before RL.

The assistant target of a record is `algorithm.response_template` formatted with the record
(default `\\boxed{<answer>}`), or the column `algorithm.response_field`, followed by the end-of-turn
token. One step:

    rows   = sampler.take(batch_size)                      deterministic from (seed, cursor), the same on every rank
    batch  = prompt (chat template, generation prompt) + target tokens      teacher forcing
    logp   = policy(batch)["logp"]                         the loss sees the assistant tokens only
    loss   = -Σ logp / (number of target tokens in the step)               token mean over the whole (global) step
    backward per micro-batch, clip, AdamW, lr schedule

Under torchrun rank r trains on rows `shard_range(batch_size, r, world)` of the step; every rank counts the
step's target tokens (it tokenises every target), so the normaliser is the global one, and ranks with fewer
micro-batches run zero-weight passes. Set-up (runtime.py), checkpoints, resume, logging and evaluation
(loop.py) are the ones RL uses.
"""

from __future__ import annotations

import dataclasses
import math

from mmreason.core.generation.hf import HFBackend

from .config import TrainConfig
from .data import PromptSampler, make_chat
from .logging_utils import Timer
from .loop import clip_and_step, run_loop
from .parallel import shard_range
from .rewards import RewardFn
from .rollout import Rollouts, teacher_forcing_batch
from .runtime import prepare_data, start_run


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
    a = cfg.algorithm
    run = start_run(cfg)
    policy, processor, blocked, dist = run.policy, run.processor, run.blocked, run.dist
    records, heldout, data_stats = prepare_data(cfg, processor)
    batch_size = a.batch_size or cfg.trainer.prompts_per_step
    if a.epochs is not None:  # before the optimizer: the lr schedule runs over `steps`
        steps = math.ceil(a.epochs * len(records) / batch_size)
        run.cfg = cfg = dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, steps=steps))
    t = cfg.trainer
    sampler = PromptSampler(len(records), t.seed)
    reward_fn = RewardFn(cfg.reward, t.max_new_tokens)
    device = policy.device
    backend = HFBackend(run.model, processor, cfg.generation.batch_size, cfg.model.min_pixels, cfg.model.max_pixels)
    scaler = run.precision.scaler

    def step_fn(step: int, optimizer, timer: Timer) -> dict[str, float]:
        batch = sft_batch(records, sampler.take(batch_size), cfg, processor.tokenizer)
        n_tok = sum(len(x) for x in batch.token_ids)  # the whole step's target tokens, on every rank
        lo, hi = shard_range(len(batch), dist.rank, dist.world)
        counts = [shard_range(len(batch), r, dist.world) for r in range(dist.world)]
        n_passes = max(math.ceil((b - a_) / t.micro_batch_size) for a_, b in counts)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        with timer("update"):
            for p in range(n_passes):
                rows = list(range(lo + p * t.micro_batch_size, min(hi, lo + (p + 1) * t.micro_batch_size)))
                tf = teacher_forcing_batch(processor, batch, rows or [0], cfg.model.min_pixels, cfg.model.max_pixels, device)
                logp = policy(tf, blocked_ids=blocked)["logp"]
                loss = -logp.sum() / n_tok  # token mean over the whole step (logp is 0 at padding)
                w = dist.world if rows else 0.0  # × world: DDP / FSDP average gradients over ranks; 0: a stand-in pass
                with policy.no_sync(sync=p == n_passes - 1):
                    run.precision.backward(loss * w)
                total += float(loss.detach()) if rows else 0.0
            gnorm = clip_and_step(optimizer, policy.parameters(), t.grad_clip, scaler)
        return {"sft/loss": dist.sum([total])[0], "actor/grad_norm": gnorm}

    return run_loop(
        run, step_fn, backend=backend, reward_fn=reward_fn, heldout=heldout, stop_accuracy=a.stop_accuracy,
        data_stats=data_stats, gathered=policy.gathered,
        save_state=sampler.state_dict, load_state=sampler.load_state_dict,
    )
