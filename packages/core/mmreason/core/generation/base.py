"""The generation interface shared by every backend (hf, openai, vllm)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..chat import Chat


@dataclass
class SamplingParams:
    """How to sample. temperature 0 means greedy (then n must be 1 or all n are identical)."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: list[str] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"SamplingParams.n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ValueError(f"SamplingParams.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"SamplingParams.max_new_tokens must be >= 1, got {self.max_new_tokens}")
        self.stop = list(self.stop or [])


@dataclass
class Completion:
    """One sampled completion. `logprobs[i]` is the model's log p(token_ids[i]) at temperature 1 (raw
    logits, before temperature / top-p: what `models.response_logprobs` recomputes and vLLM's default
    `raw_logprobs` gives); None where the backend cannot give them."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] | None = None
    finish_reason: str = "stop"  # "stop" | "length"


def greedy_copies(c: Completion, n: int) -> list[Completion]:
    """`n` independent copies of one greedy completion (greedy with n > 1: decode once, repeat)."""
    lps = c.logprobs
    return [Completion(c.text, list(c.token_ids), None if lps is None else list(lps), c.finish_reason) for _ in range(n)]


class GenerationBackend:
    """`generate(chats, params)` returns, for each chat, a list of `params.n` completions (greedy with
    n > 1: n copies of the one greedy completion; every backend handles that itself)."""

    name = "base"

    def generate(self, chats: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        raise NotImplementedError

    def describe(self) -> str:
        """A stable string naming the model (used in cache keys)."""
        return self.name

    def close(self) -> None:
        pass
