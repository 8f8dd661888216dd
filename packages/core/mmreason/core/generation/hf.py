"""`hf` backend: batched `transformers` generate with left padding, on CPU or GPU."""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

from ..chat import Chat
from .base import Completion, GenerationBackend, SamplingParams, greedy_copies


class HFBackend(GenerationBackend):
    """Generate with a loaded model + processor (`mmreason.core.models.load_policy`).

    `Completion.logprobs` are the model's log-probabilities of each sampled token at temperature 1
    (raw logits, before temperature/top-p), the same quantity vLLM returns by default and
    `models.response_logprobs` recomputes. The final EOS token is kept in `token_ids` (RL trains on
    it); the text has special tokens removed and stops before any stop string.

    Sampling is seeded per row, as vLLM seeds each request: sample j of prompt i of a call draws from its own
    generator seeded `params.seed + i·n + j` (`RowSampler`), so a row's tokens do not depend on which other
    prompts share the batch, on `batch_size`, or on how prompts are split across processes (a rank that
    generates prompts [lo, hi) of a step passes `seed + lo·n`).
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
                seed = None if params.seed is None else params.seed + start * params.n
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
            temperature=None, top_p=None, top_k=None,
        )
        if sample:  # RowSampler draws the token and leaves only it finite: generate's own draw is then certain
            if seed is None:
                seed = int(torch.randint(0, 2**62, ()))
            seeds = [seed + i for i in range(B * n_gen)]  # row i*n + j: prompt i, sample j
            kwargs.update(temperature=1.0, top_p=1.0, top_k=0,
                          logits_processor=[RowSampler(seeds, params.temperature, params.top_p, device)])
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.processor.tokenizer)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # generate's draw uses it
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


class RowSampler(LogitsProcessor):
    """Sample each row from its own generator: softmax(scores / temperature) restricted to the top-p nucleus
    (the smallest set of tokens whose probability reaches `top_p`, as transformers' TopPLogitsWarper), drawn
    by the exponential race argmax(p / E), E ~ Exp(1) per token from the row's generator (what
    `torch.multinomial` does). Returns -inf everywhere but the drawn token, so greedy decoding emits it.
    Runs after the suppress-tokens processor, so blocked tokens are never drawn."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float, device):
        dev = torch.device(device)
        self.gens = [torch.Generator(device=dev).manual_seed(int(s) % 2**63) for s in seeds]
        self.temperature, self.top_p = float(temperature), float(top_p)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        logits = scores.float() / self.temperature
        if self.top_p < 1.0:
            srt, idx = logits.sort(dim=-1)  # ascending, as TopPLogitsWarper
            cum = srt.softmax(-1).cumsum(-1)
            drop = cum <= 1.0 - self.top_p
            drop[..., -1] = False  # keep at least one token
            logits = logits.masked_fill(drop.scatter(-1, idx, drop), float("-inf"))
        probs = logits.softmax(-1)
        race = torch.stack([torch.empty_like(probs[0]).exponential_(generator=g) for g in self.gens[: len(probs)]])
        choice = (probs / race).argmax(-1, keepdim=True)
        return torch.full_like(scores, float("-inf")).scatter(-1, choice, 0.0)


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
