"""Records in, prompts out: load the train / held-out splits, filter, and serve them in a
deterministic, resumable order.

- `load_records(cfg.data)` -> (train, heldout): the toy generator (core/toy.py) or a dataset on disk
  (`save_to_disk` dir, `.parquet`, `.jsonl`). Every record of both splits is checked before step 1
  (`core.schema.validate_record`: gold readable for its answer type, images exist / are images / under
  `data.max_image_pixels`, valid UTF-8); a bad one stops the run with file, row, field and reason, or
  with `data.skip_invalid=true` is dropped and reported through `invalid`.
- `filter_long_prompts` drops prompts longer than `trainer.max_prompt_length` tokens (images counted
  after the processor's min/max-pixel resize, i.e. what the model will actually see); a record whose
  prompt cannot be built (an image that does not decode) is named, or dropped with `skip_invalid`.
- `PromptSampler` hands out record indices: epoch e is a permutation drawn from (seed, e); the only
  state is a cursor (how many indices were handed out), saved in checkpoints, so a resumed run sees
  exactly the prompts the uninterrupted one would have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmreason.core.chat import Chat, record_to_chat
from mmreason.core.schema import RecordError, validate_record
from mmreason.core.schema import read_records as schema_read_records

from .config import DataConfig


def load_records(cfg: DataConfig, invalid: dict[str, list[RecordError]] | None = None) -> tuple[list[dict], list[dict]]:
    """(train, heldout) record lists for the data config (heldout may be empty), every record validated.

    An invalid record raises RecordError (naming file, row, field, reason) unless `cfg.skip_invalid`; then it
    is dropped and its error appended to `invalid["train"]` / `invalid["heldout"]` (when given)."""
    invalid = {} if invalid is None else invalid
    lists = {s: invalid.setdefault(s, []) for s in ("train", "heldout")}
    skip = {s: lists[s].append if cfg.skip_invalid else None for s in lists}
    if cfg.source == "toy":
        from mmreason.core.toy import make_shape_records

        size = (int(cfg.image_size[0]), int(cfg.image_size[1]))
        train = _checked(make_shape_records(cfg.train_size, cfg.train_seed, cfg.task, size), "toy train", cfg, skip["train"])
        heldout = make_shape_records(cfg.heldout_size, cfg.heldout_seed, cfg.task, size)
        heldout = _checked(heldout, "toy heldout", cfg, skip["heldout"])
    else:
        train = read_records(cfg.path, cfg.split, cfg.max_image_pixels, skip["train"], "data.path")
        heldout = read_records(cfg.eval_path, cfg.eval_split, cfg.max_image_pixels, skip["heldout"], "data.eval_path") if cfg.eval_path else []
    if cfg.limit is not None:
        train = train[: cfg.limit]
    if not train:
        raise ValueError(f"data {cfg.name!r}: no training records (source={cfg.source}, path={cfg.path})")
    return train, heldout


def _checked(records: list[dict], where: str, cfg: DataConfig, on_invalid) -> list[dict]:
    out = []
    for i, r in enumerate(records):
        try:
            out.append(validate_record(r, where=f"{where} row {i}", max_image_pixels=cfg.max_image_pixels))
        except RecordError as e:
            if on_invalid is None:
                raise
            on_invalid(e)
    return out


def read_records(path: str | Path, split: str = "train", max_image_pixels: int | None = DataConfig.max_image_pixels,
                 on_invalid=None, what: str = "data.path") -> list[dict]:
    """Records from a `save_to_disk` dir, a parquet file or a JSONL file (validated, errors name the file;
    `on_invalid(error)` is called for each invalid record, which is dropped, instead of raising)."""
    return schema_read_records(path, split=split, what=what, max_image_pixels=max_image_pixels, on_invalid=on_invalid)


def make_chat(record: dict, cfg: DataConfig) -> Chat:
    """The prompt the policy sees: the record's problem in the template, its images in place."""
    return record_to_chat(record, system=cfg.system, template=cfg.prompt_template)


def prompt_lengths(processor, chats: list[Chat], batch_size: int = 64) -> list[int]:
    """Prompt length in tokens (image tokens included) of each chat."""
    from mmreason.core.models import build_batch

    out: list[int] = []
    for s in range(0, len(chats), batch_size):
        enc = build_batch(processor, chats[s : s + batch_size])
        out += enc["attention_mask"].sum(-1).tolist()
    return out


def filter_long_prompts(records: list[dict], processor, cfg: DataConfig, max_len: int, on_invalid=None,
                        batch_size: int = 64) -> tuple[list[dict], int]:
    """Records whose prompt fits `max_len` tokens, and how many were dropped for length.

    A record whose prompt cannot be built or processed (an image that does not decode) raises RecordError
    naming it, or, with `on_invalid`, is passed to it and dropped."""
    keep, too_long = [], 0
    for s in range(0, len(records), batch_size):
        batch = records[s : s + batch_size]
        try:
            lens = prompt_lengths(processor, [make_chat(r, cfg) for r in batch], batch_size)
        except Exception:  # find the record(s) at fault, one by one
            lens = [_one_length(processor, r, cfg, s + j, on_invalid) for j, r in enumerate(batch)]
        for r, n in zip(batch, lens):
            if n is not None and n <= max_len:
                keep.append(r)
            too_long += n is not None and n > max_len
    return keep, too_long


def _one_length(processor, record: dict, cfg: DataConfig, i: int, on_invalid) -> int | None:
    try:
        return prompt_lengths(processor, [make_chat(record, cfg)])[0]
    except Exception as e:
        err = RecordError(f"{cfg.path or cfg.name} record {i} {record.get('id')!r}: its prompt cannot be built "
                          f"({type(e).__name__}: {e})")
        if on_invalid is None:
            raise err from e
        on_invalid(err)
        return None


class PromptSampler:
    """Deterministic epoch-shuffled order over `n` records; `take(k)` returns the next k indices.

    Index j of the whole stream is perm_{j // n}[j % n] with perm_e drawn from (seed, e): the order
    depends only on the seed and the cursor, so it resumes exactly from a saved cursor.
    """

    def __init__(self, n: int, seed: int, cursor: int = 0):
        if n < 1:
            raise ValueError("PromptSampler: no records")
        self.n, self.seed, self.cursor = n, int(seed), int(cursor)
        self._perm_epoch, self._perm = -1, None

    def _perm_for(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._perm_epoch = epoch
        return self._perm

    def take(self, k: int) -> list[int]:
        out = []
        for j in range(self.cursor, self.cursor + k):
            out.append(int(self._perm_for(j // self.n)[j % self.n]))
        self.cursor += k
        return out

    def state_dict(self) -> dict:
        return {"n": self.n, "seed": self.seed, "cursor": self.cursor}

    def load_state_dict(self, state: dict) -> None:
        if state["n"] != self.n:
            raise ValueError(f"resume: the checkpoint was made with {state['n']} records, this run has {self.n}")
        self.seed, self.cursor = int(state["seed"]), int(state["cursor"])
