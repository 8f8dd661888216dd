"""The embedded default model: a tiny Qwen2-VL built offline from a config.

Random init from a seed, a byte-level BPE tokenizer trained on text the project ships
(`core/assets/tiny_corpus.txt`) with the Qwen chat special tokens, a chat template and the PIL
image processor. Built once per config into the cache (`MMREASON_CACHE`), keyed by the config's
hash, atomically (concurrent builders are safe), and then loaded like any checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..config import TinyModelConfig, cache_dir
from ..io import atomic_path

CORPUS = Path(__file__).resolve().parents[1] / "assets" / "tiny_corpus.txt"
BUILD_VERSION = 1  # bump when the build recipe changes (invalidates cached builds)

# The Qwen2-VL special tokens, in Qwen's order, so that ids are stable.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
VISION_SPECIAL_TOKENS = SPECIAL_TOKENS[3:]  # never sampled: blocked in generation, masked in training


def tiny_key(tcfg: TinyModelConfig) -> str:
    from ..schema import make_id

    return make_id(BUILD_VERSION, dataclasses.asdict(tcfg), CORPUS.read_text(encoding="utf-8"))


def tiny_dir(tcfg: TinyModelConfig) -> Path:
    """Cached build of this config (built on first use)."""
    out = cache_dir() / "tiny" / tiny_key(tcfg)
    if not (out / "config.json").exists():
        build_tiny(tcfg, out)
    return out


def _train_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS.read_text(encoding="utf-8").splitlines(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=SPECIAL_TOKENS[1:],
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    return fast


def build_tiny(tcfg: TinyModelConfig, out_dir: str | Path) -> Path:
    """Write a directory that `transformers` (and vLLM) can load: config, safetensors, tokenizer,
    image processor, chat template."""
    import torch
    from transformers import AutoModelForImageTextToText, Qwen2VLImageProcessorPil

    from .processor import QWEN_VL_CHAT_TEMPLATE

    head = tcfg.hidden_size // tcfg.num_attention_heads
    if sum(tcfg.mrope_section) * 2 != head:
        raise ValueError(f"mrope_section {tcfg.mrope_section} must sum to head size / 2 = {head // 2}")
    out_dir = Path(out_dir)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        tok = _train_tokenizer(tcfg.vocab_size)
        tok.chat_template = QWEN_VL_CHAT_TEMPLATE
        ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
        config = _arch_config(tcfg, len(tok), ids)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(tcfg.seed)
            model = AutoModelForImageTextToText.from_config(config).float()
        model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
        model.generation_config.pad_token_id = ids["<|endoftext|>"]
        model.generation_config.bos_token_id = ids["<|endoftext|>"]
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        (tmp / "chat_template.jinja").write_text(QWEN_VL_CHAT_TEMPLATE)
        patch = config.vision_config.patch_size
        Qwen2VLImageProcessorPil(
            size={"shortest_edge": 56 * 56, "longest_edge": 112 * 112}, patch_size=patch
        ).save_pretrained(str(tmp))
        (tmp / "mmreason_tiny.json").write_text(json.dumps(dataclasses.asdict(tcfg), indent=2))
    return out_dir


def _arch_config(tcfg: TinyModelConfig, vocab: int, ids: dict[str, int]):
    """The transformers config of the chosen architecture at the tiny shape."""
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3VLConfig

    text = dict(
        vocab_size=vocab,
        hidden_size=tcfg.hidden_size,
        intermediate_size=tcfg.intermediate_size,
        num_hidden_layers=tcfg.num_hidden_layers,
        num_attention_heads=tcfg.num_attention_heads,
        num_key_value_heads=tcfg.num_key_value_heads,
        max_position_embeddings=tcfg.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": list(tcfg.mrope_section)},
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=tcfg.tie_word_embeddings,
    )
    vision = dict(depth=tcfg.vision_depth, num_heads=tcfg.vision_num_heads, spatial_merge_size=2, temporal_patch_size=2)
    special = dict(
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=tcfg.tie_word_embeddings,
    )
    if tcfg.arch == "qwen2_vl":
        vision.update(embed_dim=tcfg.vision_embed_dim, hidden_size=tcfg.hidden_size, mlp_ratio=2, patch_size=14)
        return Qwen2VLConfig(
            text_config=text, vision_config=vision, bos_token_id=text["bos_token_id"],
            eos_token_id=text["eos_token_id"], pad_token_id=text["pad_token_id"], **special,
        )
    if tcfg.arch == "qwen2_5_vl":
        vision.update(
            hidden_size=tcfg.vision_embed_dim, intermediate_size=2 * tcfg.vision_embed_dim, out_hidden_size=tcfg.hidden_size,
            patch_size=14, window_size=56, fullatt_block_indexes=[tcfg.vision_depth - 1],
        )
        return Qwen2_5_VLConfig(
            text_config=text, vision_config=vision, bos_token_id=text["bos_token_id"],
            eos_token_id=text["eos_token_id"], pad_token_id=text["pad_token_id"], **special,
        )
    if tcfg.arch == "qwen3_vl":
        text.update(head_dim=tcfg.hidden_size // tcfg.num_attention_heads)
        text["rope_parameters"]["mrope_interleaved"] = True
        vision.update(
            hidden_size=tcfg.vision_embed_dim, intermediate_size=2 * tcfg.vision_embed_dim, out_hidden_size=tcfg.hidden_size,
            patch_size=16, num_position_embeddings=64, deepstack_visual_indexes=[0],
        )
        return Qwen3VLConfig(text_config=text, vision_config=vision, **special)
    raise ValueError(f"model.tiny.arch={tcfg.arch!r}: expected qwen2_vl, qwen2_5_vl or qwen3_vl")
