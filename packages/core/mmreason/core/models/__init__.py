"""Load a policy (real Qwen-VL checkpoint or the offline tiny VLM) and the helpers every stage needs.

    model, processor = load_policy(cfg.model)      # ModelConfig or its Hydra node
    batch = build_batch(processor, chats)          # left-padded prompts with images
    logp, hidden = response_logprobs(model, full)  # teacher-forced log-probs + last hidden state
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..chat import Chat, chat_images
from ..config import ModelConfig, to_dataclass
from .processor import ImageOnlyQwen2VLProcessor, load_processor, save_processor, set_pixel_bounds
from .tiny import VISION_SPECIAL_TOKENS, build_tiny, tiny_dir

SUPPORTED_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")

__all__ = [
    "ImageOnlyQwen2VLProcessor",
    "append_responses",
    "build_batch",
    "build_tiny",
    "blocked_token_ids",
    "entropy_from_logits",
    "image_token_mask",
    "load_policy",
    "load_processor",
    "model_path",
    "policy_outputs",
    "resolve_device",
    "response_logprobs",
    "save_policy",
    "save_processor",
    "set_pixel_bounds",
    "tiny_dir",
]

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def model_path(cfg: Any) -> Path:
    """The directory the policy loads from: `cfg.path`, or the cached tiny build for `name: tiny`."""
    cfg = to_dataclass(cfg, ModelConfig)
    if cfg.path:
        p = Path(cfg.path).expanduser()
        if not (p / "config.json").exists():
            raise FileNotFoundError(
                f"model.path={cfg.path!r}: no config.json there. Point model.path at a local Hugging Face "
                f"directory of Qwen2-VL / Qwen2.5-VL / Qwen3-VL (nothing is downloaded)."
            )
        return p
    if cfg.name != "tiny":
        raise ValueError(f"model.name={cfg.name!r} needs model.path (only 'tiny' is built offline)")
    return tiny_dir(cfg.tiny)


def load_policy(cfg: Any, device: str | torch.device | None = None):
    """(model, processor) for a local Qwen-VL directory or the tiny preset. Model in eval mode."""
    from transformers import AutoModelForImageTextToText

    cfg = to_dataclass(cfg, ModelConfig)
    path = model_path(cfg)
    mtype = json.loads((path / "config.json").read_text()).get("model_type")
    if mtype not in SUPPORTED_MODEL_TYPES:
        raise ValueError(f"{path}/config.json: model_type {mtype!r} is not one of {SUPPORTED_MODEL_TYPES}")
    if cfg.dtype not in _DTYPES:
        raise ValueError(f"model.dtype={cfg.dtype!r}: expected one of {sorted(_DTYPES)}")
    dev = resolve_device(str(device or cfg.device))
    model = AutoModelForImageTextToText.from_pretrained(
        str(path), dtype=_DTYPES[cfg.dtype], attn_implementation=cfg.attn_implementation
    ).to(dev)
    model.eval()
    if cfg.freeze_vision:
        model.model.visual.requires_grad_(False)
    processor = load_processor(path, cfg.min_pixels, cfg.max_pixels)
    return model, processor


def save_policy(model, processor, out_dir: str | Path) -> None:
    """Save a checkpoint that `load_policy(path=out_dir)`, transformers and vLLM can load."""
    model.save_pretrained(str(out_dir), safe_serialization=True)
    save_processor(processor, out_dir)


def blocked_token_ids(processor) -> list[int]:
    """Vision special tokens that a sampler must never emit (a sampled <|image_pad|> breaks the
    next forward: "Image features and image tokens do not match")."""
    tok = processor.tokenizer
    vocab = tok.get_vocab()
    return sorted(vocab[t] for t in VISION_SPECIAL_TOKENS if t in vocab)


def build_batch(
    processor,
    chats: list[Chat],
    add_generation_prompt: bool = True,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> dict[str, torch.Tensor]:
    """Tokenise chats with their images into one left-padded batch (input_ids, attention_mask,
    pixel_values, image_grid_thw, mm_token_type_ids). Pixel bounds override the processor's."""
    texts = [
        processor.apply_chat_template(c, tokenize=False, add_generation_prompt=add_generation_prompt) for c in chats
    ]
    images = [chat_images(c) for c in chats]
    kwargs: dict[str, Any] = {}
    if any(images):
        kwargs["images"] = [im for ims in images for im in ims]
        if min_pixels is not None or max_pixels is not None:
            cur = processor.image_processor.size
            kwargs["size"] = {
                "shortest_edge": int(min_pixels or cur["shortest_edge"]),
                "longest_edge": int(max_pixels or cur["longest_edge"]),
            }
    processor.tokenizer.padding_side = "left"
    enc = processor(text=texts, padding=True, return_tensors="pt", **kwargs)
    return dict(enc)


def image_token_mask(input_ids: torch.Tensor, model_or_config) -> torch.Tensor:
    """Bool mask of the image-placeholder positions (`<|image_pad|>`)."""
    config = getattr(model_or_config, "config", model_or_config)
    return input_ids == config.image_token_id


def append_responses(batch: dict[str, torch.Tensor], responses: list[list[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Teacher-forcing batch: left-padded prompts followed by right-padded response tokens.

    Adds `response_mask` [B, R] (1 on real response tokens) and extends attention_mask and
    mm_token_type_ids (zeros over text) to the new length. `responses[i]` goes with prompt row i.
    """
    B = batch["input_ids"].shape[0]
    if len(responses) != B:
        raise ValueError(f"{len(responses)} responses for {B} prompts")
    R = max(1, max(len(r) for r in responses))
    resp = torch.full((B, R), pad_id, dtype=batch["input_ids"].dtype)
    rmask = torch.zeros((B, R), dtype=batch["attention_mask"].dtype)
    for i, r in enumerate(responses):
        resp[i, : len(r)] = torch.as_tensor(r, dtype=resp.dtype)
        rmask[i, : len(r)] = 1
    out = dict(batch)
    out["input_ids"] = torch.cat([batch["input_ids"], resp.to(batch["input_ids"].device)], dim=1)
    out["attention_mask"] = torch.cat([batch["attention_mask"], rmask.to(batch["attention_mask"].device)], dim=1)
    if "mm_token_type_ids" in batch:
        z = torch.zeros((B, R), dtype=batch["mm_token_type_ids"].dtype, device=batch["mm_token_type_ids"].device)
        out["mm_token_type_ids"] = torch.cat([batch["mm_token_type_ids"], z], dim=1)
    out["response_mask"] = rmask.to(batch["attention_mask"].device)
    return out


def response_logprobs(
    model,
    batch: dict[str, torch.Tensor],
    temperature: float = 1.0,
    return_hidden: bool = False,
    blocked_ids: list[int] | None = None,
):
    """Teacher-forced log p(response token) for a batch from `append_responses`.

    Returns `logp` [B, R] (0 where response_mask is 0) and, with return_hidden, the last-layer hidden
    states of the whole sequence [B, L, H]. `blocked_ids` get -inf logits, as in sampling. The one forward
    is `policy_outputs`, which can also give the entropy and the raw temperature-1 log-probs.
    """
    out = policy_outputs(model, batch, temperature, blocked_ids, hidden=return_hidden)
    return (out["logp"], out["hidden"]) if return_hidden else out["logp"]


def policy_outputs(
    model,
    batch: dict[str, torch.Tensor],
    temperature: float = 1.0,
    blocked_ids: list[int] | None = None,
    *,
    hidden: bool = False,
    entropy: bool = False,
    entropy_grad: bool = False,
    raw: bool = False,
) -> dict[str, torch.Tensor]:
    """One teacher-forced forward of a batch from `append_responses`; a dict of `[B, R]` tensors (0 at padding):

    - `logp`: log p(response token) at `temperature`, `blocked_ids` at -inf (the sampling distribution);
    - `hidden` [B, L, H] (with `hidden=True`): the last-layer hidden states (the base model's output, no
      `output_hidden_states`);
    - `entropy` (with `entropy=True`): entropy of that distribution per position, with grad only if
      `entropy_grad`;
    - `raw_logp` (with `raw=True`, no grad): log p at temperature 1 without the block, the quantity
      `Completion.logprobs` holds (hf, vLLM's default `raw_logprobs`).

    The LM head runs only over the response positions (memory: vocab × R, not vocab × L), outside autocast,
    in the head weight's dtype (float32 master weights in one process, so log-probs are exact float32;
    FSDP's bf16 compute copy under `bf16-mixed`), and everything after it in float32.
    """
    rmask = batch["response_mask"]
    inputs = {k: v for k, v in batch.items() if k != "response_mask"}
    out = model.model(**inputs, use_cache=False)
    last = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
    R = rmask.shape[1]
    h_pred = last[:, -R - 1 : -1, :]  # position t predicts token t+1
    head = model.lm_head
    with torch.autocast(device_type=h_pred.device.type, enabled=False):
        logits = torch.nn.functional.linear(h_pred.to(head.weight.dtype), head.weight, head.bias).float()
    targets = inputs["input_ids"][:, -R:].unsqueeze(-1)
    result: dict[str, torch.Tensor] = {}
    if raw:
        with torch.no_grad():
            raw_lp = logits.gather(-1, targets).squeeze(-1) - torch.logsumexp(logits, dim=-1)
            result["raw_logp"] = raw_lp * rmask
    if temperature and temperature != 1.0:
        logits = logits / temperature
    if blocked_ids:
        logits = logits.index_fill(-1, torch.as_tensor(blocked_ids, device=logits.device), float("-inf"))
    logp_all = torch.log_softmax(logits, dim=-1)
    result["logp"] = logp_all.gather(-1, targets).squeeze(-1) * rmask
    if entropy:
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            result["entropy"] = entropy_from_logits(logits) * rmask
    if hidden:
        result["hidden"] = last
    return result


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """H = -Σ p·log p over the last dim (p = softmax), float32, `[..., V] -> [...]`; -inf logits give 0·log 0 = 0."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    p = logp.exp()
    return -torch.where(p > 0, p * logp, torch.zeros_like(p)).sum(-1)
