"""Generation backends: `make_backend(cfg)` picks hf, openai or vllm (see conf/generation)."""

from .base import Completion, GenerationBackend, SamplingParams

__all__ = ["Completion", "GenerationBackend", "SamplingParams"]
