"""The in-process vLLM backend against transformers, on the tiny VLM (CPU: `make test-vllm`).

The engine tests are marked `vllm`: they run in `.venv-vllm` (built by scripts/vllm_cpu_env.sh) with
`-m vllm`; the main suite deselects them and runs only the two helper tests that need no vLLM.
One engine per module; the engine tests take 35-60 s on 2 shared CPU cores.
"""

import importlib.util
from pathlib import Path

import pytest

HAVE_VLLM = importlib.util.find_spec("vllm") is not None
# the engine tests: selected by `-m vllm` in .venv-vllm (make test-vllm); the main suite deselects them
needs_vllm = pytest.mark.skipif(not HAVE_VLLM, reason="needs vllm: make test-vllm")

import torch  # noqa: E402

from mmreason.core.chat import user_content  # noqa: E402
from mmreason.core.config import ModelConfig  # noqa: E402
from mmreason.core.generation import SamplingParams, make_backend  # noqa: E402
from mmreason.core.generation.vllm import VLLMBackend, _eos_ids, _save_state_dict  # noqa: E402
from mmreason.core.models import (  # noqa: E402
    append_responses,
    blocked_token_ids,
    build_batch,
    load_policy,
    model_path,
    response_logprobs,
)


def chats_for(images):
    return [[{"role": "user", "content": user_content("<image>What colour is the square?", [im])}] for im in images]


@pytest.fixture(scope="module")
def policy():
    torch.manual_seed(0)
    model, processor = load_policy(ModelConfig(device="cpu"))
    return model, processor


# ---------------------------------------------------------------- without vLLM (main suite too)


def test_missing_vllm_names_the_fix(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    with pytest.raises(ImportError, match="make test-vllm"):
        VLLMBackend.from_config({"backend": "vllm"}, ModelConfig())


def test_eos_ids_and_tied_state_dict_helpers(tmp_path):
    """EOS ids as hf reads them (tiny: generation_config [<|im_end|>=2, <|endoftext|>=0]); a tied
    state dict saves both names; the tied head is re-sent when a checkpoint omits it."""
    from types import SimpleNamespace

    from safetensors.torch import load_file

    d = model_path(ModelConfig())
    assert _eos_ids(d, None) == {0, 2}
    emb = torch.arange(6.0).reshape(3, 2)
    _save_state_dict({"model.embed_tokens.weight": emb, "lm_head.weight": emb, "model.visual.x": emb[:1]}, tmp_path)
    back = load_file(str(tmp_path / "model.safetensors"))
    assert set(back) == {"model.embed_tokens.weight", "lm_head.weight", "model.visual.x"}
    assert torch.equal(back["lm_head.weight"], emb) and torch.equal(back["model.visual.x"], emb[:1])
    tied, untied = SimpleNamespace(tied=True), SimpleNamespace(tied=False)
    items = [("model.visual.embed_tokens.weight", emb[:1]), ("model.embed_tokens.weight", emb)]
    out = dict(VLLMBackend._with_head(tied, iter(items)))
    assert out["lm_head.weight"] is emb
    assert "lm_head.weight" not in dict(VLLMBackend._with_head(untied, iter(items)))
    head = emb + 1
    assert dict(VLLMBackend._with_head(tied, iter(items + [("lm_head.weight", head)])))["lm_head.weight"] is head


# ---------------------------------------------------------------- the engine (make test-vllm)


@pytest.fixture(scope="module")
def backend():
    be = make_backend({"backend": "vllm", "max_model_len": 512, "enforce_eager": True}, ModelConfig())
    yield be
    be.close()


def teacher_forced(model, processor, chats, completions):
    """transformers' log p of each completion token (rows: chats repeated per completion)."""
    batch = build_batch(processor, chats)
    full = append_responses(batch, [c.token_ids for c in completions], processor.tokenizer.pad_token_id)
    with torch.no_grad():
        return response_logprobs(model, full)


def assert_logprobs_match(model, processor, chats, groups, atol=1e-4):
    rows = [ch for ch, g in zip(chats, groups) for _ in g]
    flat = [c for g in groups for c in g]
    lp = teacher_forced(model, processor, rows, flat)
    for i, c in enumerate(flat):
        assert len(c.logprobs) == len(c.token_ids) > 0
        assert torch.allclose(lp[i, : len(c.token_ids)], torch.tensor(c.logprobs), atol=atol), (
            (lp[i, : len(c.token_ids)] - torch.tensor(c.logprobs)).abs().max()
        )
    return lp


@pytest.mark.vllm
@needs_vllm
def test_from_config_builds_fp32_engine_with_hf_prompt(backend, policy, shape_images):
    """make_backend -> VLLMBackend on the tiny model, fp32 on CPU; vLLM tokenises the chat template +
    image into exactly the ids the hf path builds (same template, same image processing)."""
    _, processor = policy
    assert isinstance(backend, VLLMBackend) and backend.describe() == "vllm:tiny"
    assert backend.model_dir == model_path(ModelConfig())
    assert backend.llm.llm_engine.model_config.dtype == torch.float32
    chats = chats_for(shape_images[:2])
    outs = backend.llm.generate([backend.prompt(c) for c in chats], backend.sampling_params(SamplingParams(max_new_tokens=1), 0), use_tqdm=False)
    batch = build_batch(processor, chats[:1])
    assert outs[0].prompt_token_ids == batch["input_ids"][0].tolist()
    n_pad = sum(t == processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") for t in outs[1].prompt_token_ids)
    assert n_pad == build_batch(processor, chats[1:])["input_ids"].eq(
        processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    ).sum().item()


def noise_image(h, w, seed=0):
    import numpy as np
    from PIL import Image

    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.vllm
@needs_vllm
def test_sampled_logprobs_match_transformers(backend, policy, shape_images):
    """RL relies on this: vLLM's raw fp32 log-probs of its samples == a transformers forward (1e-4).
    Includes a two-image chat, a text-only chat, and a noise image that is resized (200x150 >
    max_pixels): vLLM must use hf's PIL image processor, the torchvision one is off by ~4e-4 there."""
    model, processor = policy
    chats = chats_for(shape_images[:3] + [noise_image(150, 200)])
    chats.append([{"role": "user", "content": user_content("<image> and <image>: same?", shape_images[:2])}])
    chats.append([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Text only."}])
    groups = backend.generate(chats, SamplingParams(n=4, temperature=1.0, max_new_tokens=12, seed=0))
    assert [len(g) for g in groups] == [4] * 6
    flat = [c for g in groups for c in g]
    assert len({tuple(c.token_ids) for c in flat}) > 1  # really sampled
    assert all(c.finish_reason in ("stop", "length") and isinstance(c.text, str) for c in flat)
    assert_logprobs_match(model, processor, chats, groups)
    # temperature changes the sampling, not the reported (temperature-1) log-probs
    hot = backend.generate(chats[:2], SamplingParams(n=2, temperature=1.7, top_p=0.9, max_new_tokens=8, seed=1))
    assert_logprobs_match(model, processor, chats[:2], hot)


@pytest.mark.vllm
@needs_vllm
def test_seeded_reproducible_and_vision_tokens_blocked(backend, policy, shape_images):
    """Same seed -> same samples; the 11 vision tokens (~1% of the tiny vocab, so ~10 expected hits in
    1024 hot samples without blocking) never appear."""
    _, processor = policy
    p = SamplingParams(n=8, temperature=1.5, max_new_tokens=32, seed=7)
    a = backend.generate(chats_for(shape_images), p)
    b = backend.generate(chats_for(shape_images), p)
    assert [[c.token_ids for c in g] for g in a] == [[c.token_ids for c in g] for g in b]
    assert a[0][0].token_ids != a[1][0].token_ids  # prompts get different seeds
    blocked = set(blocked_token_ids(processor))
    assert len(blocked) == 11
    assert not any(t in blocked for g in a for c in g for t in c.token_ids)


@pytest.mark.vllm
@needs_vllm
def test_greedy_matches_hf_backend(backend, policy, shape_images):
    """Greedy decoding: vLLM and the hf backend produce the same tokens for the same chats."""
    from mmreason.core.generation.hf import HFBackend

    model, processor = policy
    p = SamplingParams(max_new_tokens=10)
    ours = backend.generate(chats_for(shape_images), p)
    theirs = HFBackend(model, processor).generate(chats_for(shape_images), p)
    assert [g[0].token_ids for g in ours] == [g[0].token_ids for g in theirs]
    assert [g[0].text for g in ours] == [g[0].text for g in theirs]
    # greedy with n > 1 (vLLM itself refuses it): n copies of the greedy completion, as hf gives
    three = backend.generate(chats_for(shape_images[:2]), SamplingParams(n=3, max_new_tokens=10))
    assert [[c.token_ids for c in g] for g in three] == [[g[0].token_ids] * 3 for g in theirs[:2]]
    assert three[0][0].logprobs is not three[0][1].logprobs  # copies, not one shared list


@pytest.mark.vllm
@needs_vllm
def test_eos_kept_length_and_stop_strings(backend, shape_images):
    """Like hf: a stop/EOS token ends the completion and stays in token_ids (not in the text);
    max_new_tokens gives 'length'; a stop string cuts the text before it."""
    chat = chats_for(shape_images[:1])
    c = backend.generate(chat, SamplingParams(max_new_tokens=5))[0][0]
    assert c.finish_reason == "length" and len(c.token_ids) == 5 == len(c.logprobs)
    first = c.token_ids[0]
    saved = backend.eos_ids
    backend.eos_ids = saved | {first}
    try:
        e = backend.generate(chat, SamplingParams(max_new_tokens=8))[0][0]
    finally:
        backend.eos_ids = saved
    assert e.token_ids == [first] and len(e.logprobs) == 1 and e.finish_reason == "stop"
    assert e.logprobs[0] == pytest.approx(c.logprobs[0], abs=1e-5)
    first_char = c.text.strip()[:1] or c.text[:1]
    s = backend.generate(chat, SamplingParams(max_new_tokens=5, stop=[first_char]))[0][0]
    assert s.finish_reason == "stop" and first_char not in s.text
    assert len(s.token_ids) == len(s.logprobs) <= 5


@pytest.mark.vllm
@needs_vllm
def test_load_weights_follows_new_policy(backend, policy, shape_images, tmp_path, monkeypatch):
    """RL weight push: after load_weights the engine's log-probs match the *new* model's forward to
    1e-4 and differ from the old model's; all three routes (state dict in-process, a saved directory,
    the saved-to-disk route of a multi-process engine) give the same engine."""
    model, processor = policy
    chats = chats_for(shape_images[:3])
    p = SamplingParams(n=3, temperature=1.0, max_new_tokens=10, seed=11)
    before = backend.generate(chats, p)
    new = load_policy(ModelConfig(device="cpu"))[0]
    with torch.no_grad():  # a visible change in both towers: scale the (tied) embeddings, shift a vision weight
        new.get_input_embeddings().weight.mul_(3.0)
        new.model.visual.blocks[0].mlp.fc1.weight.add_(0.05)
    rows = [ch for ch in chats for _ in range(3)]

    def tokens(groups):
        return [[c.token_ids for c in g] for g in groups]

    try:
        backend.load_weights(new.state_dict())
        after = backend.generate(chats, p)
        assert tokens(after) != tokens(before)
        assert_logprobs_match(new, processor, chats, after)
        old_lp = teacher_forced(model, processor, rows, [c for g in after for c in g])
        assert max(abs(old_lp[i, 0].item() - c.logprobs[0]) for i, c in enumerate(c for g in after for c in g)) > 0.1
        # a saved (tied: no lm_head.weight) directory restores the original weights; without the
        # backend re-sending the tied head, vLLM's CPU LM head would keep the scaled embeddings here
        model.save_pretrained(str(tmp_path / "orig"))
        backend.load_weights(tmp_path / "orig")
        assert tokens(backend.generate(chats, p)) == tokens(before)
        # the routes of a multi-process / multi-GPU engine: weights saved into the backend's copy of
        # the model directory, which the workers then read
        monkeypatch.setattr(backend, "_in_process", lambda: False)
        backend.load_weights(new.state_dict())
        assert (Path(backend._weights_dir) / "preprocessor_config.json").exists()
        again = backend.generate(chats, p)
        assert tokens(again) == tokens(after)
        assert_logprobs_match(new, processor, chats, again)
        backend.load_weights(tmp_path / "orig")
        assert tokens(backend.generate(chats, p)) == tokens(before)
    finally:
        monkeypatch.undo()
        backend.load_weights(model.state_dict())
    assert tokens(backend.generate(chats, p)) == tokens(before)


@pytest.mark.vllm
@needs_vllm
def test_sleep_is_a_guarded_noop_on_cpu(backend):
    assert backend.sleep() is False and backend.wake_up() is False
    assert backend.generate(chats_for([]), SamplingParams()) == []
