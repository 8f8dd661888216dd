"""Visual-attention diagnostics: the math by hand, then one real run on the tiny model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmreason.eval.diagnostics import (
    attention_shares,
    key_masks,
    late_early_ratio,
    load_records,
    progress_bins,
    summarize,
    synthetic_records,
    uniform_shares,
)
from mmreason.eval.diagnostics.plots import write_plots

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- pure math


def test_key_masks_partition_by_hand():
    # sample 0: 1 left pad, prompt [q, img, img, q], response [r, r]; sample 1: no pad, response [r, pad]
    attention_mask = torch.tensor([[0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]])
    image = torch.tensor([[0, 0, 1, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    response = torch.tensor([[1, 1], [1, 0]])
    km = key_masks(attention_mask, image, response)
    assert km.shape == (2, 3, 7)
    assert km[0].int().tolist() == [
        [0, 0, 1, 1, 0, 0, 0],
        [0, 1, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 1],
    ]
    assert km[1].int().tolist() == [
        [0, 1, 0, 0, 0, 0, 0],
        [1, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0],
    ]
    assert km.int().sum(1).tolist() == attention_mask.tolist()  # disjoint, union = real keys


def test_attention_shares_by_hand():
    # keys: 0 image, 1 question, 2-3 generated; queries 2 and 3 (the response), 2 layers × 2 heads
    l1 = torch.zeros(1, 2, 4, 4)
    l1[0, 0, 2] = torch.tensor([0.5, 0.3, 0.2, 0.0])
    l1[0, 1, 2] = torch.tensor([0.1, 0.1, 0.8, 0.0])
    l1[0, 0, 3] = torch.tensor([0.25, 0.25, 0.25, 0.25])
    l1[0, 1, 3] = torch.tensor([0.0, 0.5, 0.25, 0.25])
    l2 = torch.zeros(1, 2, 4, 4)
    l2[0, :, 2] = torch.tensor([0.2, 0.2, 0.6, 0.0])
    l2[0, :, 3] = torch.tensor([0.4, 0.2, 0.2, 0.2])
    km = torch.tensor([[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]], dtype=torch.bool)
    got = attention_shares([l1, l2], km, torch.tensor([2, 3]))
    # layer 1 head means: q2 (.3,.2,.5), q3 (.125,.375,.5); layer 2: q2 (.2,.2,.6), q3 (.4,.2,.4)
    want = torch.tensor([[[0.25, 0.2, 0.55], [0.2625, 0.2875, 0.45]]])
    torch.testing.assert_close(got, want)
    # per-sample query positions [B, T] pick the same rows
    torch.testing.assert_close(attention_shares([l1, l2], km, torch.tensor([[2, 3]])), want)
    # only the chosen rows matter
    torch.testing.assert_close(
        attention_shares([l1], km, torch.tensor([3]))[0, 0], torch.tensor([0.125, 0.375, 0.5])
    )


def test_uniform_shares_by_hand():
    # keys: pad, image, question, image, generated, generated; queries at 4 and 5
    km = torch.tensor([[[0, 1, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1]]], dtype=torch.bool)
    got = uniform_shares(km, torch.tensor([4, 5]))
    torch.testing.assert_close(got, torch.tensor([[[0.5, 0.25, 0.25], [0.4, 0.2, 0.4]]]))
    # the dilution baseline of the late/early ratio: image shares 2/(4+t), T = 4 -> (2/7 + 2/8) / (2/5 + 2/6)
    km = torch.tensor([[[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]]]).bool()
    img = uniform_shares(km, torch.arange(4, 8))[..., 0]
    want = (2 / 7 + 2 / 8) / (2 / 5 + 2 / 6)
    assert late_early_ratio(img, torch.ones(1, 4)).item() == pytest.approx(want)


def test_attention_shares_rejects_bad_shapes():
    with pytest.raises(ValueError, match="key_masks"):
        attention_shares([torch.zeros(1, 1, 3, 3)], torch.zeros(1, 3, 4, dtype=torch.bool), torch.tensor([0]))
    with pytest.raises(ValueError, match="query positions"):
        attention_shares([torch.zeros(1, 1, 3, 3)], torch.zeros(1, 3, 3, dtype=torch.bool), torch.tensor([3]))


def test_late_early_ratio_by_hand():
    shares = torch.tensor(
        [
            [0.4, 0.3, 0.2, 0.1, 0.0],  # T=4: (0.2+0.1)/(0.4+0.3)
            [0.5, 0.4, 9.0, 0.2, 0.1],  # T=5: middle step left out: (0.2+0.1)/(0.5+0.4)
            [0.2, 0.4, 7.0, 7.0, 7.0],  # T=2, right padding ignored: 0.4/0.2
            [0.3, 0.0, 0.0, 0.0, 0.0],  # T=1: undefined
            [0.0, 0.0, 0.5, 0.5, 0.0],  # early sum 0: undefined
        ]
    )
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 0]])
    got = late_early_ratio(shares, mask)
    assert got[0].item() == pytest.approx(0.3 / 0.7)
    assert got[1].item() == pytest.approx(0.3 / 0.9)
    assert got[2].item() == pytest.approx(2.0)
    assert math.isnan(got[3].item()) and math.isnan(got[4].item())


def test_progress_bins_by_hand():
    assert progress_bins([1, 2, 3, 4], 2) == [1.5, 3.5]
    assert progress_bins([1, 2, 6], 2) == [1.0, 4.0]  # x = 1/6, 1/2, 5/6
    got = progress_bins([5, 7], 4)  # x = 1/4, 3/4 -> bins 1, 3
    assert math.isnan(got[0]) and got[1] == 5 and math.isnan(got[2]) and got[3] == 7


# ---------------------------------------------------------------- summary, plots, data, grading


def _sample(correct: bool, shares, rho, ratio):
    return {
        "id": f"s{len(shares)}{correct}",
        "correct": correct,
        "n_tokens": len(shares),
        "shares": shares,
        "rho": rho,
        "late_early_ratio": ratio,
        "share_sum_error": 0.0,
    }


def test_summarize_and_plots_by_hand(tmp_path):
    samples = [
        _sample(True, [[0.4, 0.5, 0.1], [0.2, 0.5, 0.3]], [0.5, 0.3], 0.5),
        _sample(
            False,
            [[0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.0, 0.5, 0.5], [0.1, 0.4, 0.5]],
            [0.1, 0.1, 0.2, 0.2],
            0.5,
        ),
        _sample(False, [[0.3, 0.6, 0.1]], [0.4], None),
    ]
    s = summarize(samples, n_bins=2)
    agg = s["aggregate"]
    assert (agg["all"]["n"], agg["correct"]["n"], agg["incorrect"]["n"]) == (3, 1, 2)
    assert s["accuracy"] == pytest.approx(1 / 3)
    assert agg["correct"]["mean_image_share"] == pytest.approx(0.3)
    assert agg["incorrect"]["mean_image_share"] == pytest.approx((0.1 + 0.3) / 2)  # per-sample means first
    assert agg["incorrect"]["late_early_ratio_mean"] == pytest.approx(0.5)
    assert agg["incorrect"]["n_with_ratio"] == 1
    assert agg["correct"]["mean_rho"] == pytest.approx(0.4)
    # incorrect image curve: sample 2 bins (0.15, 0.05), sample 3 (T=1, x=0.5 -> bin 1) 0.3
    assert agg["incorrect"]["curves"]["image_share"] == pytest.approx([0.15, (0.05 + 0.3) / 2])
    names = write_plots(s, tmp_path)
    assert names == ["attention_shares.png", "visual_focus.png", "late_early_ratio.png"]
    for n in names:
        assert (tmp_path / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_records_from_jsonl_and_save_to_disk(tmp_path):
    recs = synthetic_records(3, seed=1)
    assert [r["answer_type"] for r in recs] == ["choice"] * 3
    assert synthetic_records(3, seed=1)[0]["id"] == recs[0]["id"]  # deterministic
    recs[0]["images"][0].save(tmp_path / "a.png")
    row = {k: v for k, v in recs[0].items() if k != "images"} | {"images": ["a.png"]}
    (tmp_path / "r.jsonl").write_text(json.dumps(row) + "\n")
    got = load_records(str(tmp_path / "r.jsonl"))
    assert got[0]["images"] == [str(tmp_path / "a.png")] and got[0]["answer"] == recs[0]["answer"]
    (tmp_path / "bad.jsonl").write_text(json.dumps(row | {"answer_type": "essay"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl.*answer_type"):
        load_records(str(tmp_path / "bad.jsonl"))

    import datasets

    from mmreason.core.schema import features

    datasets.Dataset.from_list(recs, features=features()).save_to_disk(str(tmp_path / "ds"))
    got = load_records(str(tmp_path / "ds"), n=2)
    assert [r["id"] for r in got] == [r["id"] for r in recs[:2]]
    with pytest.raises(FileNotFoundError, match="nope"):
        load_records(str(tmp_path / "nope"))


# ---------------------------------------------------------------- a real run on the tiny model


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from mmreason.core.config import compose
    from mmreason.eval.diagnostics import run_diagnostics

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("diag")
    cfg = compose(
        "diagnostics",
        [
            "diagnostics.n=4",
            "diagnostics.max_new_tokens=10",
            "diagnostics.batch_size=2",
            f"diagnostics.out_dir={out}",
            "model.device=cpu",
        ],
    )
    return cfg, out, run_diagnostics(cfg)


def test_real_run_writes_outputs_and_shares_sum_to_one(tiny_run):
    cfg, out, summary = tiny_run
    for name in (
        "summary.json",
        "attention_shares.png",
        "visual_focus.png",
        "late_early_ratio.png",
        "samples.jsonl",
    ):
        assert (out / name).stat().st_size > 0, name
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["n_samples"] == 4 and len(on_disk["samples"]) == 4
    assert on_disk["aggregate"]["all"]["n"] == 4
    for s in on_disk["samples"]:
        assert 1 <= s["n_tokens"] <= 10
        assert len(s["shares"]) == len(s["rho"]) == s["n_tokens"]
        sums = torch.tensor(s["shares"]).sum(-1)
        torch.testing.assert_close(sums, torch.ones_like(sums), atol=1e-4, rtol=0)
        assert all(0.0 <= v <= 1.0 for row in s["shares"] for v in row)
        assert s["n_keys"]["image"] > 0 and s["n_keys"]["generated"] == s["n_tokens"]
        assert all(-1.0 <= r <= 1.0 for r in s["rho"])
    assert on_disk["max_share_sum_error"] < 1e-4
    assert (
        0 < on_disk["aggregate"]["all"]["uniform_late_early_ratio_mean"] < 1
    )  # dilution: prompt fixed, text grows
    assert 0 < on_disk["aggregate"]["all"]["mean_image_share"] < 1


def test_real_batch_masks_partition_keys_and_padding_gets_no_attention(tiny_run):
    from mmreason.core.chat import record_to_chat
    from mmreason.core.config import ModelConfig, to_dataclass
    from mmreason.core.models import append_responses, build_batch, image_token_mask, load_policy

    cfg, _, summary = tiny_run
    mcfg = to_dataclass(cfg.model, ModelConfig)
    model, processor = load_policy(mcfg, device="cpu")
    recs = synthetic_records(2)  # a colour (4 options) and a shape (3 options) question: prompts differ
    chats = [record_to_chat(r, None, cfg.diagnostics.template) for r in recs]
    batch = build_batch(processor, chats, True, mcfg.min_pixels, mcfg.max_pixels)
    assert (batch["attention_mask"] == 0).any(), "the two prompts should need left padding"
    full = append_responses(batch, [[300, 301, 302], [303]], processor.tokenizer.pad_token_id)
    rmask = full.pop("response_mask")
    image = image_token_mask(full["input_ids"], model) & full["attention_mask"].bool()
    km = key_masks(full["attention_mask"], image, rmask)
    assert not (km.int().sum(1) > 1).any()  # disjoint
    assert km.any(1).tolist() == full["attention_mask"].bool().tolist()  # union = non-padding keys
    assert km[:, 0].sum(1).tolist() == image_token_mask(batch["input_ids"], model).sum(1).tolist()
    with torch.no_grad():
        out = model.model(**full, use_cache=False, output_attentions=True)
    S, R = full["input_ids"].shape[1], rmask.shape[1]
    pad_keys = ~full["attention_mask"].bool()
    for layer in out.attentions:
        rows = layer[:, :, S - R :, :]  # response queries
        assert rows.masked_select(pad_keys[:, None, None, :].expand_as(rows)).abs().max().item() == 0.0
    shares = attention_shares(out.attentions, km, torch.arange(S - R, S))
    valid = rmask.bool()
    torch.testing.assert_close(shares.sum(-1)[valid], torch.ones(int(valid.sum())), atol=1e-4, rtol=0)


def test_rerun_resumes_without_generating(tiny_run, monkeypatch):
    from mmreason.core.generation.hf import HFBackend
    from mmreason.eval.diagnostics import run_diagnostics

    cfg, out, summary = tiny_run

    def boom(*a, **k):
        raise AssertionError("resume should not generate again")

    monkeypatch.setattr(HFBackend, "generate", boom)
    again = run_diagnostics(cfg)
    assert again["samples"] == summary["samples"]


def test_cli_entry_point(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable, "-m", "mmreason.eval.diagnostics",
        "diagnostics.n=2", "diagnostics.max_new_tokens=4", "model.device=cpu",
        "model.attn_implementation=sdpa",  # the diagnostics must switch to eager themselves
        f"diagnostics.out_dir={tmp_path / 'out'}", f"hydra.run.dir={tmp_path / 'hydra'}",
    ]  # fmt: skip
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["n_samples"] == 2 and s["config"]["max_new_tokens"] == 4
    assert s["max_share_sum_error"] < 1e-4


def test_training_and_diagnostics_share_one_visual_focus(tiny_run):
    """VGPO's ρ (trainer.response_focus, from the loss's own forward) is the per-sequence min-max of the raw ρ
    the diagnostics report (trace_batch, a separate eager forward): one function, core.focus.visual_focus."""
    from mmreason.core.chat import record_to_chat
    from mmreason.core.config import ModelConfig, to_dataclass
    from mmreason.core.focus import masked_minmax
    from mmreason.core.models import load_policy
    from mmreason.eval.diagnostics import trace_batch
    from mmreason.train.parallel import as_policy
    from mmreason.train.rollout import Rollouts, teacher_forcing_batch
    from mmreason.train.trainer import response_focus

    cfg, _, _ = tiny_run
    mcfg = to_dataclass(cfg.model, ModelConfig)
    model, processor = load_policy(mcfg, device="cpu")
    chats = [record_to_chat(r, None, cfg.diagnostics.template) for r in synthetic_records(2)]
    responses = [[300, 301, 302, 303, 304], [305, 306, 307]]
    traced = trace_batch(model, processor, chats, responses, mcfg.min_pixels, mcfg.max_pixels)
    tf = teacher_forcing_batch(processor, Rollouts(chats=chats, token_ids=responses), [0, 1], mcfg.min_pixels,
                               mcfg.max_pixels, "cpu")
    with torch.no_grad():
        rho = response_focus(model, tf, as_policy(model)(tf, hidden=True)["hidden"])
    for i, t in enumerate(traced):
        T = len(responses[i])
        raw = torch.tensor([t["rho"]])
        assert float(raw.max() - raw.min()) > 1e-3  # a real spread, not a degenerate constant
        torch.testing.assert_close(rho[i, :T], masked_minmax(raw, torch.ones(1, T))[0], atol=1e-4, rtol=0)  # traced ρ: 6 decimals
        assert float(rho[i, :T].min()) == 0.0 and float(rho[i, :T].max()) == 1.0
