"""Supervised fine-tuning on the same records (algorithm=sft): warm a policy up before RL.

The assistant target of a record is `algorithm.response_template` formatted with the record
(default `\\boxed{<answer>}`), or the column `algorithm.response_field`, followed by the end-of-turn
token. One step:

    rows   = sampler.take(batch_size)                      deterministic from (seed, cursor)
    batch  = prompt (chat template, generation prompt) + target tokens      teacher forcing
    logp   = response_logprobs(policy, batch)              the loss sees the assistant tokens only
    loss   = -Σ logp / (number of target tokens in the step)               token mean
    backward per micro-batch, clip, AdamW, lr schedule

Set-up (runtime.py), checkpoints, resume, logging and evaluation (loop.py) are the ones RL uses.
"""

from __future__ import annotations

import dataclasses
import math

from mmreason.core.generation.hf import HFBackend
from mmreason.core.models import response_logprobs

from .config import TrainConfig
from .data import PromptSampler, make_chat
from .logging_utils import Timer
from .loop import clip_and_step, run_loop
from .rewards import RewardFn
from .rollout import Rollouts, teacher_forcing_batch
from .runtime import prepare_data, start_run, trainable


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
    model, processor, blocked = run.model, run.processor, run.blocked
    records, heldout, data_stats = prepare_data(cfg, processor)
    batch_size = a.batch_size or cfg.trainer.prompts_per_step
    if a.epochs is not None:  # before the optimizer: the lr schedule runs over `steps`
        steps = math.ceil(a.epochs * len(records) / batch_size)
        run.cfg = cfg = dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, steps=steps))
    t = cfg.trainer
    sampler = PromptSampler(len(records), t.seed)
    reward_fn = RewardFn(cfg.reward, t.max_new_tokens)
    device = next(model.parameters()).device
    backend = HFBackend(model, processor, cfg.generation.batch_size, cfg.model.min_pixels, cfg.model.max_pixels)
    params = trainable(model)

    def step_fn(step: int, optimizer, timer: Timer) -> dict[str, float]:
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
            gnorm = clip_and_step(optimizer, params, t.grad_clip)
        return {"sft/loss": total, "actor/grad_norm": gnorm}

    return run_loop(
        run, step_fn, backend=backend, reward_fn=reward_fn, heldout=heldout, stop_accuracy=a.stop_accuracy,
        data_stats=data_stats,
        save_state=sampler.state_dict, load_state=sampler.load_state_dict,
    )
