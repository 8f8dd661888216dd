"""RL with `generation=vllm`: a few VGPO steps where vLLM samples, and after every update vLLM samples
from the *updated* policy (its log-probs match the trainer's new weights). `make test-vllm` only."""


import pytest

pytestmark = pytest.mark.vllm

import torch  # noqa: E402
from conftest import make_cfg  # noqa: E402

from mmreason.core.generation import SamplingParams  # noqa: E402
from mmreason.core.models import append_responses, build_batch, response_logprobs  # noqa: E402
from mmreason.core.toy import make_shape_records  # noqa: E402
from mmreason.train import runtime  # noqa: E402
from mmreason.train import trainer as trainer_mod  # noqa: E402
from mmreason.train.data import make_chat  # noqa: E402


def test_vgpo_steps_with_vllm_rollouts_sample_the_updated_policy(tmp_path, monkeypatch):
    cfg = make_cfg(
        tmp_path, "algorithm=vgpo", "generation=vllm", "generation.max_model_len=512", "generation.enforce_eager=true",
        "model.device=cpu", "trainer.steps=3", "trainer.lr=3e-2", "trainer.eval_size=4",
    )
    assert cfg.generation.backend == "vllm"
    probe = [make_chat(r, cfg.data) for r in make_shape_records(3, seed=99)]
    seen = {"model": None, "checks": []}

    real_load = runtime.load_for_run

    def capture_model(*a, **k):
        model, processor = real_load(*a, **k)
        seen["model"], seen["processor"] = model, processor
        return model, processor

    real_collect = trainer_mod.collect_rollouts

    def check_then_collect(backend, *a, **k):
        """At the start of every step: vLLM's log-probs of its own samples == the trainer policy's."""
        model, processor = seen["model"], seen["processor"]
        groups = backend.generate(probe, SamplingParams(n=2, temperature=1.0, max_new_tokens=6, seed=5))
        rows = [c for c, g in zip(probe, groups) for _ in g]
        flat = [c for g in groups for c in g]
        batch = append_responses(build_batch(processor, rows), [c.token_ids for c in flat], processor.tokenizer.pad_token_id)
        with torch.no_grad():  # vLLM's logprobs are raw (before its -inf bias on vision tokens): no blocked_ids
            lp = response_logprobs(model, batch)
        diff = max(float((lp[i, : len(c.token_ids)] - torch.tensor(c.logprobs)).abs().max()) for i, c in enumerate(flat))
        weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        seen["checks"].append((diff, weights, flat))
        return real_collect(backend, *a, **k)

    monkeypatch.setattr(runtime, "load_for_run", capture_model)
    monkeypatch.setattr(trainer_mod, "collect_rollouts", check_then_collect)
    res = trainer_mod.train(cfg)

    assert len(seen["checks"]) >= 3
    for diff, _, _ in seen["checks"]:
        assert diff < 2e-5, diff  # vLLM samples from exactly the trainer's current weights
    assert res["step"] == 3 and "eval/accuracy" in res["final"] and "vgpo/alpha_mean" in res["final"]
    assert res["final"]["time/sync_weights"] > 0
    # ... and those weights did change between steps (so matching them is not matching the start)
    w0, w1 = seen["checks"][0][1], seen["checks"][-1][1]
    assert max(float((w0[k] - w1[k]).abs().max()) for k in w0) > 1e-3
