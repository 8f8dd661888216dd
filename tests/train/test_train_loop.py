"""The RL and SFT loops end to end on the tiny model (a few steps each): metrics, checkpoints, VGPO wiring."""

import json

import pytest
import torch
from conftest import make_cfg

from mmreason.train import trainer as trainer_mod
from mmreason.train.checkpoint import list_checkpoints
from mmreason.train.trainer import train

VGPO_DIAG = (
    "vgpo/visual_pct_first_half",
    "vgpo/visual_pct_second_half",
    "vgpo/visual_late_early_ratio",
    "vgpo/gate_pass_rate_early",
    "vgpo/gate_pass_rate_late",
    "vgpo/psi_mean",
    "vgpo/psi_min",
    "vgpo/psi_max",
    "vgpo/alpha_mean",
    "vgpo/alpha_min",
    "vgpo/alpha_max",
)
STEP_KEYS = (
    "reward/mean",
    "accuracy/mean",
    "response/length_mean",
    "actor/clipfrac",
    "actor/approx_kl",
    "actor/grad_norm",
    "time/generate",
    "time/update",
)


@pytest.mark.parametrize("algo", ["grpo", "dapo", "vgpo"])
def test_rl_two_steps_log_metrics_and_checkpoint(tmp_path, algo):
    cfg = make_cfg(tmp_path, f"algorithm={algo}", "trainer.steps=2", "trainer.save_every=1", "trainer.save_limit=1")
    res = train(cfg)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for key in STEP_KEYS:
        assert key in rows[-1], key
    assert "eval/accuracy" in rows[-1]  # the final step evaluates on the held-out split
    if algo == "vgpo":
        for key in VGPO_DIAG:
            assert key in rows[-1], key
        assert 0.1 - 1e-6 <= rows[-1]["vgpo/psi_min"] <= rows[-1]["vgpo/psi_max"] <= 2.0 + 1e-6
        assert 0.9 - 1e-6 <= rows[-1]["vgpo/alpha_min"] <= rows[-1]["vgpo/alpha_max"] <= 2.0 + 1e-6
    else:
        assert not any(k.startswith("vgpo/") for k in rows[-1])
    # save_limit=1: only the last checkpoint is kept, and it loads in plain transformers
    assert [s for s, _ in list_checkpoints(tmp_path)] == [2]
    from transformers import AutoModelForImageTextToText

    m = AutoModelForImageTextToText.from_pretrained(str(tmp_path / "checkpoints" / "step_000002" / "model"))
    assert sum(p.numel() for p in m.parameters()) > 0
    assert res["step"] == 2


def test_vgpo_uses_one_forward_per_micro_batch_like_grpo(tmp_path, monkeypatch):
    """ρ comes from the loss's own forward: VGPO makes as many policy forwards as GRPO."""
    from mmreason.train import parallel

    calls = {"n": 0, "hidden": 0}
    real = parallel.policy_outputs

    def counting(model, batch, *a, **k):
        calls["n"] += 1
        calls["hidden"] += bool(k.get("hidden"))
        return real(model, batch, *a, **k)

    monkeypatch.setattr(parallel, "policy_outputs", counting)
    counts = {}
    for algo in ("grpo", "vgpo"):
        calls.update(n=0, hidden=0)
        # no dynamic sampling so both train on the same number of rollouts
        train(make_cfg(tmp_path / algo, f"algorithm={algo}", "trainer.steps=1", "trainer.dynamic_sampling=false", "trainer.eval_size=0"))
        counts[algo] = dict(calls)
    assert counts["grpo"]["n"] == counts["vgpo"]["n"] == 2  # 8 rollouts / micro 4, one update: no old-logp pass
    assert counts["grpo"]["hidden"] == 0 and counts["vgpo"]["hidden"] == 2


def _one_update(tmp_path, *overrides, steps=1):
    """Weights after `steps` updates of fixed batches of rollouts (same seeds -> same rollouts)."""
    cfg = make_cfg(tmp_path, f"trainer.steps={steps}", "trainer.eval_size=0", "trainer.lr=1e-2", *overrides)
    train(cfg)
    from safetensors.torch import load_file

    return load_file(str(tmp_path / "checkpoints" / f"step_{steps:06d}" / "model" / "model.safetensors"))


def _max_diff(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def _sgd_delta(cfg, rollouts, adv, model0, processor):
    """Parameter change of one SGD(lr=1) update = minus the gradient update_policy accumulated."""
    import copy

    from mmreason.train.logging_utils import Timer
    from mmreason.train.parallel import as_policy

    model = copy.deepcopy(model0)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    trainer_mod.update_policy(as_policy(model), None, opt, processor, rollouts, adv, cfg, [], 0, Timer())
    p0 = dict(model0.named_parameters())
    return {k: (p.detach() - p0[k].detach()) for k, p in model.named_parameters()}


@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_gradient_accumulation_matches_one_big_micro_batch(tmp_path, tiny_policy, agg):
    """Micro-batching only splits the work: the mini-batch's loss (any aggregation) is reproduced exactly."""
    from mmreason.core.generation.hf import HFBackend
    from mmreason.train.advantages import compute_advantages
    from mmreason.train.data import PromptSampler, load_records
    from mmreason.train.rewards import RewardFn
    from mmreason.train.rollout import collect_rollouts

    model, processor = tiny_policy
    cfgs = {m: make_cfg(tmp_path, f"trainer.micro_batch_size={m}", "trainer.grad_clip=0", f"algorithm.loss_agg={agg}") for m in (8, 2)}
    cfg = cfgs[8]
    recs, _ = load_records(cfg.data)
    rollouts, _, _ = collect_rollouts(
        HFBackend(model, processor), PromptSampler(len(recs), 0), PromptSampler(len(recs), 1), recs, cfg.data,
        cfg.trainer, RewardFn(cfg.reward), step=0, seed=0,
    )
    # the untrained model never stops early: cut responses to different lengths so micro-batch weights matter
    rollouts.token_ids = [t[: 2 + (i * 3) % 7] for i, t in enumerate(rollouts.token_ids)]
    rollouts.logprobs = [lp[: len(t)] for lp, t in zip(rollouts.logprobs, rollouts.token_ids)]
    adv = compute_advantages("grpo", torch.tensor(rollouts.rewards), torch.tensor(rollouts.group_ids))
    big = _sgd_delta(cfgs[8], rollouts, adv, model, processor)
    small = _sgd_delta(cfgs[2], rollouts, adv, model, processor)
    scale = max(float(v.abs().max()) for v in big.values())
    assert scale > 0
    assert max(float((big[k] - small[k]).abs().max()) for k in big) < 1e-5 * max(1.0, scale)


def test_vgpo_with_weights_off_is_dapo_with_dual_clip(tmp_path):
    """ψ = α = 1 (intra and inter off) turns VGPO into its base loss; with them on the update differs."""
    base = ["trainer.dynamic_sampling=false", "trainer.micro_batch_size=8"]
    dapo = _one_update(tmp_path / "dapo", "algorithm=dapo", "algorithm.dual_clip=3.0", *base)
    off = _one_update(tmp_path / "off", "algorithm=vgpo", "algorithm.vgpo.intra=false", "algorithm.vgpo.inter=false", *base)
    on = _one_update(tmp_path / "on", "algorithm=vgpo", *base)
    assert _max_diff(dapo, off) < 1e-6
    assert _max_diff(dapo, on) > 1e-5


def test_grpo_with_vgpo_token_weights_is_the_vgpo_preset(tmp_path):
    """An algorithm preset is a composition: `algorithm=vgpo` = DAPO settings + dual-clip + token_weights vgpo,
    so GRPO given the same loss settings and VGPO's weights trains the same weights, bit for bit."""
    same = ["algorithm.loss=clip_higher", "algorithm.dual_clip=3.0", "trainer.dynamic_sampling=true"]
    vgpo = _one_update(tmp_path / "vgpo", "algorithm=vgpo", steps=3)
    mixed = _one_update(tmp_path / "mixed", "algorithm=grpo", "algorithm.token_weights=vgpo", *same, steps=3)
    plain = _one_update(tmp_path / "plain", "algorithm=grpo", *same, steps=3)
    assert all(torch.equal(vgpo[k], mixed[k]) for k in vgpo)
    assert _max_diff(vgpo, plain) > 1e-5  # the token weights are what differs
    rows = [json.loads(x) for x in (tmp_path / "mixed" / "metrics.jsonl").read_text().splitlines()]
    assert "vgpo/alpha_mean" in rows[-1]


def test_user_functions_named_in_config_are_used(tmp_path):
    """`algorithm.advantage` and `algorithm.loss` may name user code ("module:function", tests/train/user_parts.py):
    Dr.GRPO's estimator and PPO's loss rewritten there train exactly what the built-in ones do."""
    builtin = _one_update(tmp_path / "builtin", "algorithm.advantage=drgrpo", "algorithm.loss=clip")
    user = _one_update(tmp_path / "user", "algorithm.advantage=user_parts:mean_centred", "algorithm.loss=user_parts:plain_ppo")
    assert all(torch.equal(builtin[k], user[k]) for k in builtin)
    grpo = _one_update(tmp_path / "grpo", "algorithm.advantage=grpo", "algorithm.loss=clip")
    assert _max_diff(builtin, grpo) > 1e-5  # the estimator matters, so equality above is not vacuous


def test_several_updates_per_step_recompute_old_logprobs(tmp_path, monkeypatch):
    """With 2 mini-batches the second update is off-policy: ratios move away from 1."""
    cfg = make_cfg(tmp_path, "trainer.steps=1", "trainer.eval_size=0", "trainer.mini_batch_size=4", "trainer.lr=5e-2", "trainer.ppo_epochs=2")
    res = train(cfg)
    final = res["final"]
    assert final["actor/updates"] == 4  # 2 epochs × 2 mini-batches
    assert final["time/old_logprob"] > 0
    assert abs(final["actor/ratio_mean"] - 1.0) > 1e-4


def test_sft_steps_lower_the_loss_and_checkpoint(tmp_path):
    cfg = make_cfg(tmp_path, "algorithm=sft", "trainer.steps=6", "algorithm.batch_size=8", "trainer.micro_batch_size=4")
    res = train(cfg)
    losses = [h["sft/loss"] for h in res["history"]]
    assert losses[-1] < losses[0]
    assert [s for s, _ in list_checkpoints(tmp_path)] == [6]
    assert "eval/accuracy" in res["final"]


def test_sft_resume_matches_an_uninterrupted_run(tmp_path):
    """SFT restores optimizer, schedule, RNG and the sampler cursor: 2 steps + resume to 4 == 4 steps."""
    from safetensors.torch import load_file

    args = ("algorithm=sft", "algorithm.batch_size=4", "trainer.micro_batch_size=4", "trainer.lr=1e-2",
            "trainer.lr_schedule=cosine", "trainer.eval_size=0", "trainer.save_limit=0", "trainer.steps=4")
    full, part = tmp_path / "full", tmp_path / "part"
    losses = [h["sft/loss"] for h in train(make_cfg(full, *args, "trainer.save_every=2"))["history"]]
    # continue the same run from its step-2 checkpoint, into another directory
    res = train(make_cfg(part, *args, f"trainer.resume={full / 'checkpoints' / 'step_000002'}"))
    assert [h["step"] for h in res["history"]] == [3, 4]
    assert [h["sft/loss"] for h in res["history"]] == pytest.approx(losses[2:], abs=1e-6)
    w_full = load_file(str(full / "checkpoints" / "step_000004" / "model" / "model.safetensors"))
    w_part = load_file(str(part / "checkpoints" / "step_000004" / "model" / "model.safetensors"))
    for k in w_full:
        torch.testing.assert_close(w_part[k], w_full[k], rtol=0, atol=1e-6)


def test_sft_target_is_the_boxed_answer_then_end_of_turn(tiny_policy):
    from mmreason.core.toy import make_shape_records
    from mmreason.train.sft import sft_batch

    _, processor = tiny_policy
    recs = make_shape_records(2, 0)
    cfg = make_cfg("/tmp/unused", "algorithm=sft")
    b = sft_batch(recs, [1], cfg, processor.tokenizer)
    assert b.texts == ["\\boxed{" + recs[1]["answer"] + "}"]
    tok = processor.tokenizer
    assert tok.decode(b.token_ids[0]) == "\\boxed{" + recs[1]["answer"] + "}<|im_end|>"
    from mmreason.train.sft import sft_target

    assert sft_target({"answer": "B", "cot": "blue, so B"}, "Answer: {answer}") == "Answer: B"
    assert sft_target({"answer": "B", "cot": "blue, so B"}, "{answer}", field="cot") == "blue, so B"
    with pytest.raises(KeyError, match="response_field"):
        sft_target({"answer": "B"}, "{answer}", field="cot")


def test_freeze_vision_keeps_the_vision_tower_fixed(tmp_path):
    cfg = make_cfg(tmp_path, "model.freeze_vision=true", "trainer.steps=1", "trainer.eval_size=0", "trainer.lr=1e-2")
    train(cfg)
    from mmreason.core.config import ModelConfig
    from mmreason.core.models import load_policy

    before, _ = load_policy(ModelConfig())
    after, _ = load_policy(ModelConfig(path=str(tmp_path / "checkpoints" / "step_000001" / "model")))
    vis_b = dict(before.model.visual.named_parameters())
    vis_a = dict(after.model.visual.named_parameters())
    assert all(torch.equal(vis_b[k], vis_a[k]) for k in vis_b)
    assert not torch.equal(before.lm_head.weight, after.lm_head.weight)


def test_wandb_offline_run_writes_files(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    cfg = make_cfg(tmp_path, "logger=wandb", "logger.console=false", "trainer.steps=1", "trainer.eval_size=0")
    train(cfg)
    assert (tmp_path / "wandb_id.txt").exists()
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_kl_to_the_initial_policy_is_added_when_kl_coef_is_set(tmp_path):
    """Two mini-batches: the first update starts at the reference (KL 0), the second does not."""
    res = train(make_cfg(tmp_path, "algorithm.kl_coef=0.1", "trainer.mini_batch_size=4", "trainer.lr=5e-2", "trainer.steps=1", "trainer.eval_size=0"))
    assert res["final"]["actor/kl_ref"] > 0


def test_records_from_a_jsonl_path(tmp_path):
    from mmreason.core.toy import make_shape_records

    for split, seed in (("train", 0), ("heldout", 1)):
        rows = []
        for i, r in enumerate(make_shape_records(8, seed=seed)):
            r["images"][0].save(tmp_path / f"{split}{i}.png")
            rows.append({**r, "images": [f"{split}{i}.png"]})
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    from conftest import FAST

    from mmreason.core.config import compose
    from mmreason.train.config import load_config

    overrides = [o for o in FAST if not o.startswith("data.")]  # the toy-only data keys do not exist for data=path
    cfg = load_config(compose("train", [
        *overrides, f"trainer.out_dir={tmp_path / 'run'}", "data=path", f"data.path={tmp_path / 'train.jsonl'}",
        f"data.eval_path={tmp_path / 'heldout.jsonl'}", "trainer.steps=1", "trainer.eval_size=4",
    ]))
    res = train(cfg)
    assert res["final"]["eval/n"] == 4


def test_resume_argument_forms(tmp_path):
    from mmreason.train.checkpoint import resolve_resume

    assert resolve_resume(None, tmp_path) is None
    assert resolve_resume("auto", tmp_path) is None  # nothing to resume yet: start fresh
    with pytest.raises(FileNotFoundError, match="not a checkpoint"):
        resolve_resume(str(tmp_path), tmp_path)
    train(make_cfg(tmp_path, "trainer.steps=2", "trainer.save_every=1", "trainer.save_limit=0", "trainer.eval_size=0"))
    assert resolve_resume("auto", tmp_path).name == "step_000002"
    ck1 = tmp_path / "checkpoints" / "step_000001"
    assert resolve_resume(str(ck1), tmp_path) == ck1
    # resuming a finished run does no more steps
    res = train(make_cfg(tmp_path, "trainer.steps=2", "trainer.resume=auto", "trainer.eval_size=0"))
    assert res["history"] == []
