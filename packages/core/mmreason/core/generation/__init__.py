"""Generation backends behind one interface (`GenerationBackend.generate(chats, params)`).

`make_backend(gen_cfg, model_cfg)` builds the backend named by `generation.backend`:
`hf` (transformers, CPU or GPU), `openai` (any OpenAI-compatible server), `vllm` (in-process).
"""

from __future__ import annotations

from typing import Any

from .base import Completion, GenerationBackend, SamplingParams

__all__ = ["Completion", "GenerationBackend", "SamplingParams", "make_backend"]


def make_backend(gen_cfg: Any = None, model_cfg: Any = None, model=None, processor=None) -> GenerationBackend:
    """Build a backend. For `hf`, an already-loaded (model, processor) may be passed."""
    from ..config import GenerationConfig, ModelConfig, to_dataclass

    g = to_dataclass(gen_cfg, GenerationConfig)
    m = to_dataclass(model_cfg, ModelConfig)
    if g.backend == "hf":
        from ..models import load_policy
        from .hf import HFBackend

        if model is None:
            model, processor = load_policy(m)
        return HFBackend(model, processor, g.batch_size, m.min_pixels, m.max_pixels, label=m.path or m.name)
    if g.backend == "openai":
        from .openai import OpenAIBackend

        return OpenAIBackend.from_config(g)
    if g.backend == "vllm":
        from .vllm import VLLMBackend

        return VLLMBackend.from_config(g, m)
    raise ValueError(f"generation.backend={g.backend!r}: expected one of hf, openai, vllm")
