import subprocess
import sys

import pytest
import torch

from mmreason.core.chat import record_to_chat, user_content
from mmreason.core.config import ModelConfig, TinyModelConfig
from mmreason.core.models import (
    append_responses,
    blocked_token_ids,
    build_batch,
    image_token_mask,
    load_policy,
    load_processor,
    model_path,
    response_logprobs,
)


def chats_for(images, texts=("What colour is the square?",)):
    return [[{"role": "user", "content": user_content("<image>" + texts[i % len(texts)], [im])}] for i, im in enumerate(images)]


def test_tiny_shape_fits_vllm_cpu_limits(tiny_policy):
    model, _ = tiny_policy
    tc = model.config.text_config
    head = tc.hidden_size // tc.num_attention_heads
    assert head >= 32
    assert sum(tc.rope_parameters["mrope_section"]) * 2 == head


def test_forward_backward_batch_of_four(tiny_policy, shape_images):
    model, processor = tiny_policy
    batch = build_batch(processor, chats_for(shape_images))
    assert batch["input_ids"].shape[0] == 4
    # left padding: every row ends with the assistant prompt, pads (if any) come first
    assert (batch["attention_mask"][:, -1] == 1).all()
    n_img = image_token_mask(batch["input_ids"], model).sum(1)
    assert (n_img == batch["image_grid_thw"].prod(-1) // 4).all()  # merge 2x2 patches per token
    ids = processor.tokenizer("The answer is red.")["input_ids"]
    full = append_responses(batch, [ids, ids[:3], ids[:1], ids], processor.tokenizer.pad_token_id)
    model.zero_grad()
    model.train()
    try:
        logp, hidden = response_logprobs(model, full, return_hidden=True)
        loss = -(logp.sum() / full["response_mask"].sum())
        loss.backward()
    finally:
        model.eval()
    assert hidden.shape[:2] == full["input_ids"].shape
    assert (logp[1, 3:] == 0).all()  # masked beyond the response
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert model.model.visual.patch_embed.proj.weight.grad.abs().sum() > 0  # gradient reaches the vision tower
    model.zero_grad()


def test_cache_keyed_by_config_and_deterministic(tmp_path, monkeypatch, shape_images):
    monkeypatch.setenv("MMREASON_CACHE", str(tmp_path))
    small = TinyModelConfig(num_hidden_layers=1)
    d1 = model_path(ModelConfig(tiny=small))
    d2 = model_path(ModelConfig(tiny=TinyModelConfig(num_hidden_layers=1, seed=1)))
    assert d1 != d2 and d1.parent == d2.parent == tmp_path / "tiny"
    assert model_path(ModelConfig(tiny=small)) == d1  # reused, not rebuilt
    outs = []
    for seed_cfg in (small, small, TinyModelConfig(num_hidden_layers=1, seed=1)):
        model, processor = load_policy(ModelConfig(tiny=seed_cfg))
        batch = build_batch(processor, chats_for(shape_images[:2]))
        with torch.no_grad():
            outs.append(model(**batch).logits)
    assert torch.equal(outs[0], outs[1])  # loading twice: identical logits
    assert not torch.allclose(outs[0], outs[2])  # another seed: another model


def test_min_max_pixels_bound_image_tokens(tiny_policy, shape_images):
    model, processor = tiny_policy
    big = shape_images[3].resize((448, 448))
    small = build_batch(processor, chats_for([big]), max_pixels=56 * 56)
    large = build_batch(processor, chats_for([big]), max_pixels=224 * 224)
    n_small = image_token_mask(small["input_ids"], model).sum().item()
    n_large = image_token_mask(large["input_ids"], model).sum().item()
    assert n_small == 4 and n_large == 64  # (56/14)^2/4 and (224/14)^2/4


def test_record_to_chat_places_images_at_markers(shape_images):
    rec = {"problem": "Compare <image> with <image>. Which is red?", "images": shape_images[:2]}
    chat = record_to_chat(rec, system="Be brief.")
    parts = chat[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image", "text", "image", "text"]
    assert chat[0] == {"role": "system", "content": "Be brief."}
    with pytest.raises(ValueError, match="markers"):
        user_content("<image> <image>", shape_images[:1])


def test_blocked_tokens_are_the_vision_specials(tiny_policy):
    _, processor = tiny_policy
    names = processor.tokenizer.convert_ids_to_tokens(blocked_token_ids(processor))
    assert "<|image_pad|>" in names and "<|vision_start|>" in names
    assert "<|im_end|>" not in names


@pytest.mark.parametrize("arch", ["qwen2_5_vl", "qwen3_vl"])
def test_other_qwen_vl_architectures_load(arch, tmp_path, monkeypatch, shape_images):
    monkeypatch.setenv("MMREASON_CACHE", str(tmp_path))
    model, processor = load_policy(ModelConfig(tiny=TinyModelConfig(arch=arch, num_hidden_layers=1)))
    assert model.config.model_type == arch
    batch = build_batch(processor, chats_for(shape_images[:2]))
    with torch.no_grad():
        logits = model(**batch).logits
    assert torch.isfinite(logits).all()


def test_missing_or_wrong_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_policy(ModelConfig(name="qwen", path=str(tmp_path / "nope")))
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(ValueError, match="model_type 'llama'"):
        load_policy(ModelConfig(name="x", path=str(tmp_path)))


def test_build_tiny_cli_writes_a_transformers_directory(tmp_path, shape_images):
    out = tmp_path / "tiny"
    r = subprocess.run(
        [sys.executable, "-m", "mmreason.core.models", "build-tiny", "--out", str(out), "--num-hidden-layers", "1",
         "--tie-word-embeddings", "false"],
        capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(str(out))  # transformers itself loads it
    processor = load_processor(out)
    assert model.config.text_config.num_hidden_layers == 1
    assert model.config.tie_word_embeddings is False  # "false" on the command line means False
    assert model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    with torch.no_grad():
        assert torch.isfinite(model(**build_batch(processor, chats_for(shape_images[:1]))).logits).all()
