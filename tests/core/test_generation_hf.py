import pytest
import torch

from mmreason.core.chat import user_content
from mmreason.core.generation import SamplingParams, make_backend
from mmreason.core.generation.hf import HFBackend
from mmreason.core.models import append_responses, blocked_token_ids, build_batch, response_logprobs


def chats_for(images):
    return [[{"role": "user", "content": user_content("<image>What colour is the square?", [im])}] for im in images]


@pytest.fixture(scope="module")
def backend(tiny_policy):
    model, processor = tiny_policy
    return HFBackend(model, processor, batch_size=3)


def test_sampled_logprobs_match_teacher_forcing(backend, tiny_policy, shape_images):
    """RL relies on this: generate's per-token log-probs == a teacher-forced forward of the same tokens."""
    model, processor = tiny_policy
    chats = chats_for(shape_images)
    res = backend.generate(chats, SamplingParams(n=4, temperature=1.0, max_new_tokens=12, seed=0))
    assert [len(r) for r in res] == [4, 4, 4, 4]
    flat = [c for r in res for c in r]
    assert len({tuple(c.token_ids) for c in flat}) > 1  # really sampled
    batch = build_batch(processor, [c for c in chats for _ in range(4)])
    full = append_responses(batch, [c.token_ids for c in flat], processor.tokenizer.pad_token_id)
    with torch.no_grad():
        lp = response_logprobs(model, full)
    for i, c in enumerate(flat):
        assert len(c.logprobs) == len(c.token_ids) > 0
        assert torch.allclose(lp[i, : len(c.token_ids)], torch.tensor(c.logprobs), atol=1e-4)


def test_seeded_sampling_is_reproducible_and_blocks_vision_tokens(backend, tiny_policy, shape_images):
    _, processor = tiny_policy
    p = SamplingParams(n=4, temperature=1.5, max_new_tokens=16, seed=7)
    a = backend.generate(chats_for(shape_images), p)
    b = backend.generate(chats_for(shape_images), p)
    assert [[c.token_ids for c in r] for r in a] == [[c.token_ids for c in r] for r in b]
    blocked = set(blocked_token_ids(processor))
    assert not any(t in blocked for r in a for c in r for t in c.token_ids)


def test_greedy_is_deterministic_and_batch_invariant(backend, shape_images):
    p = SamplingParams(max_new_tokens=10)
    copies = backend.generate(chats_for(shape_images[:2]), SamplingParams(n=3, max_new_tokens=6))
    assert [len(r) for r in copies] == [3, 3] and len({tuple(c.token_ids) for c in copies[0]}) == 1
    together = backend.generate(chats_for(shape_images), p)
    alone = [backend.generate(chats_for([im]), p)[0] for im in shape_images]
    assert [r[0].token_ids for r in together] == [r[0].token_ids for r in alone]  # left padding is harmless


def test_finish_reason_length_and_stop_strings(backend, tiny_policy, shape_images):
    res = backend.generate(chats_for(shape_images[:1]), SamplingParams(max_new_tokens=5))
    c = res[0][0]
    assert c.finish_reason == "length" and len(c.token_ids) == 5
    first_char = c.text.strip()[:1] or c.text[:1]
    stopped = backend.generate(chats_for(shape_images[:1]), SamplingParams(max_new_tokens=5, stop=[first_char]))[0][0]
    assert stopped.finish_reason == "stop" and first_char not in stopped.text


def test_eos_ends_completion_and_is_kept(tiny_policy, shape_images):
    """Declare the first greedy token an EOS: generation stops there, keeps it, finish_reason 'stop'."""
    model, processor = tiny_policy
    be = HFBackend(model, processor)
    first = be.generate(chats_for(shape_images[:1]), SamplingParams(max_new_tokens=4))[0][0].token_ids[0]
    be.eos_ids = {first}
    c = be.generate(chats_for(shape_images[:1]), SamplingParams(max_new_tokens=8))[0][0]
    assert c.token_ids == [first] and len(c.logprobs) == 1
    assert c.finish_reason == "stop"


def test_make_backend_from_config(tiny_policy):
    model, processor = tiny_policy
    be = make_backend({"backend": "hf", "batch_size": 2}, None, model, processor)
    assert isinstance(be, HFBackend) and be.batch_size == 2
    with pytest.raises(ValueError, match="generation.backend"):
        make_backend({"backend": "tgi"})
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0)
