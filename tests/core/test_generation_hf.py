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


def test_row_sampler_draws_from_softmax_and_the_top_p_nucleus():
    """Per-row sampling (hf.RowSampler): frequencies follow softmax(scores / T) restricted to the top-p nucleus as
    transformers' TopPLogitsWarper defines it; a row's draws depend on its own seed only."""
    from mmreason.core.generation.hf import RowSampler

    probs = torch.tensor([0.5, 0.3, 0.2, 0.0])
    scores = torch.log(probs).expand(2, 4).clone()  # the last token is suppressed (-inf)

    def draws(sampler, n=1500):
        return torch.stack([sampler(None, scores).argmax(-1) for _ in range(n)])  # [n, rows]

    full = draws(RowSampler([1, 2], 1.0, 1.0, "cpu"))
    freq = torch.bincount(full[:, 0], minlength=4).float() / len(full)
    assert torch.allclose(freq, probs, atol=0.04) and freq[3] == 0
    assert not torch.equal(full[:, 0], full[:, 1])  # two seeds, two streams
    assert torch.equal(draws(RowSampler([1, 7], 1.0, 1.0, "cpu"))[:, 0], full[:, 0])  # row 0: its seed alone decides
    # top_p 0.6: ascending cumulative probs [0, .2, .5, 1] -> drop those <= 0.4 -> keep {0.5, 0.3} -> [.625, .375]
    nucleus = draws(RowSampler([3, 4], 1.0, 0.6, "cpu"))
    freq = torch.bincount(nucleus.flatten(), minlength=4).float() / nucleus.numel()
    assert torch.allclose(freq, torch.tensor([0.625, 0.375, 0.0, 0.0]), atol=0.04)


def test_sampled_rows_do_not_depend_on_the_other_prompts_of_the_call(backend, shape_images):
    """What makes N training processes sample what 1 samples: prompt i of a call is seeded seed + i·n, so
    prompts [2, 4) alone with seed + 2·n give the same samples as inside the whole call."""
    chats = chats_for(shape_images)
    p = SamplingParams(n=3, temperature=1.0, top_p=0.95, max_new_tokens=8, seed=11)
    whole = backend.generate(chats, p)
    part = backend.generate(chats[2:], SamplingParams(n=3, temperature=1.0, top_p=0.95, max_new_tokens=8, seed=11 + 2 * 3))
    assert [[c.token_ids for c in g] for g in whole[2:]] == [[c.token_ids for c in g] for g in part]
    assert len({tuple(c.token_ids) for g in whole for c in g}) > 3  # really sampled
