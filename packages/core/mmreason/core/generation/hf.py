"""`hf` backend: batched `transformers` generate with left padding, on CPU or GPU."""

from __future__ import annotations

import torch

from ..chat import Chat
from .base import Completion, GenerationBackend, SamplingParams, greedy_copies


class HFBackend(GenerationBackend):
    """Generate with a loaded model + processor (`mmreason.core.models.load_policy`).

    `Completion.logprobs` are the model's log-probabilities of each sampled token at temperature 1
    (raw logits, before temperature/top-p), the same quantity vLLM returns by default and
    `models.response_logprobs` recomputes. The final EOS token is kept in `token_ids` (RL trains on
    it); the text has special tokens removed and stops before any stop string.
    """

    name = "hf"

    def __init__(self, model, processor, batch_size: int = 16, min_pixels=None, max_pixels=None, label=None):
        from ..models import blocked_token_ids

        self.model = model
        self.processor = processor
        self.batch_size = max(1, int(batch_size))
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        self.blocked = blocked_token_ids(processor)
        gc = model.generation_config
        eos = gc.eos_token_id if gc.eos_token_id is not None else processor.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.pad_id = processor.tokenizer.pad_token_id
        self.label = label or getattr(model.config, "_name_or_path", "") or "hf-model"

    def describe(self) -> str:
        return f"hf:{self.label}"

    @torch.no_grad()
    def generate(self, chats: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        from ..models import build_batch

        out: list[list[Completion]] = []
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(chats), self.batch_size):
                part = chats[start : start + self.batch_size]
                seed = None if params.seed is None else params.seed + start
                out += self._generate_batch(build_batch(self.processor, part, True, self.min_pixels, self.max_pixels), params, seed)
        finally:
            self.model.train(was_training)
        return out

    def _generate_batch(self, batch, params: SamplingParams, seed: int | None) -> list[list[Completion]]:
        device = self.model.device
        batch = {k: v.to(device) for k, v in batch.items()}
        B, P = batch["input_ids"].shape
        sample = params.temperature > 0
        n_gen = params.n if sample else 1  # greedy: one decode, copied n times
        kwargs = dict(
            max_new_tokens=params.max_new_tokens,
            do_sample=sample,
            num_return_sequences=n_gen,
            output_logits=True,
            return_dict_in_generate=True,
            suppress_tokens=self.blocked or None,
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.eos_ids),
        )
        if sample:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.processor.tokenizer)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            if seed is not None:
                torch.manual_seed(seed)
            gen = self.model.generate(**batch, **kwargs)
        seqs = gen.sequences[:, P:]
        logits = torch.stack(gen.logits, dim=1).float()  # [B*n, T, V] raw
        logp_all = torch.log_softmax(logits, dim=-1).gather(-1, seqs[:, : logits.shape[1], None]).squeeze(-1)
        results: list[list[Completion]] = [[] for _ in range(B)]
        tok = self.processor.tokenizer
        for row in range(seqs.shape[0]):
            ids = seqs[row].tolist()
            lps = logp_all[row].tolist()
            n_keep, finish = len(ids), "length"
            for j, t in enumerate(ids):
                if t in self.eos_ids:
                    n_keep, finish = j + 1, "stop"
                    break
            ids, lps = ids[:n_keep], lps[:n_keep]
            text = tok.decode(ids, skip_special_tokens=True)
            if params.stop:
                cut = _first_stop(text, params.stop)
                if cut is not None:
                    text, finish = text[:cut], "stop"
                    ids, lps = _trim_to_text(tok, ids, lps, cut)
            c = Completion(text=text, token_ids=ids, logprobs=lps, finish_reason=finish)
            results[row // n_gen] += greedy_copies(c, params.n) if not sample else [c]
        return results


def _first_stop(text: str, stops: list[str]) -> int | None:
    hits = [text.find(s) for s in stops if s and text.find(s) >= 0]
    return min(hits) if hits else None


def _trim_to_text(tok, ids: list[int], lps: list[float], n_chars: int):
    """Keep the shortest token prefix whose text reaches the stop string (the stop's tokens stay,
    as generate produced them; trailing tokens sampled after it are dropped)."""
    for k in range(1, len(ids) + 1):
        if len(tok.decode(ids[:k], skip_special_tokens=True)) > n_chars:
            return ids[:k], lps[:k]
    return ids, lps
