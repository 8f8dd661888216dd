"""Learning on the toy colour task (4 choices): SFT reaches >= 90% held-out accuracy; from a weak SFT
checkpoint GRPO and VGPO raise reward and greedy accuracy against a paired lr-0 control (same prompts,
same sampling seeds; shared/CALIBRATION.md explains why a control and >= 100 steps are needed).

Margins observed over 3 run seeds (MMREASON_LEARNING_SEED=0,1,2; this file's settings, 2-core CPU, strict
grading). "reward" is the mean reward of the last 50 steps, "acc" the final greedy held-out accuracy,
each minus the lr-0 control's:

    seed  weak SFT ckpt (acc)  grpo reward  grpo acc  vgpo reward  vgpo acc   SFT acc on unseen images
    0     step 75  (0.594)     +0.271       +0.367    +0.317       +0.406     0.969
    1     step 75  (0.516)     +0.288       +0.367    +0.302       +0.468     1.000
    2     step 105 (0.422)     +0.300       +0.555    +0.366       +0.578     1.000

Required: reward >= control + REWARD_MARGIN (0.15: above the control's own drift, up to 0.11 per
CALIBRATION.md, and 0.12 below the smallest margin seen) and accuracy >= control + ACC_MARGIN (0.20: well
above the ±3-5 point eval-to-eval noise, 0.17 below the smallest margin seen). Every seed had an SFT
checkpoint in the weak band; a run without one fails instead of picking another checkpoint.

LoRA VGPO (rank 16, alpha 32, adapters on the language model only), same harness and control, by lr:

    seed  lr 1e-3: reward  acc      lr 2e-3: reward  acc
    0           +0.171     +0.297          +0.182    +0.289
    1           +0.157     +0.273          +0.074    -0.375  (collapsed: greedy accuracy 0.141)
    2           +0.069     +0.336              -         -

lr 1e-3 it is. Adapters start at zero (B = 0) and learn slower in the first 50 steps, so the reward averaged
over steps 51-100 gains less than full-weight training; greedy accuracy after 100 steps gains as much. LoRA
must meet the same ACC_MARGIN, and LORA_REWARD_MARGIN (0.05, 0.02 below the smallest margin seen) on reward."""

import os
import time

import pytest

from mmreason.core.config import compose
from mmreason.train.config import load_config
from mmreason.train.trainer import train

pytestmark = pytest.mark.slow
RL_STEPS = 100
LAST = 50  # reward is averaged over the last LAST steps
HELDOUT = 128  # trainer.eval_size: evaluation uses held-out records [0, 128); the SFT check uses [128, 256)
SEED = int(os.environ.get("MMREASON_LEARNING_SEED", "0"))  # run seed (data order, sampling); CI runs seed 0
REWARD_MARGIN = 0.15  # justified by the margins in the module docstring
ACC_MARGIN = 0.20


def _run(out, *overrides):
    cfg = load_config(compose("train", [f"trainer.out_dir={out}", f"trainer.seed={SEED}", "logger.console=false",
                                        "trainer.num_threads=1", *overrides]))
    t0 = time.perf_counter()
    res = train(cfg)
    res["seconds"] = time.perf_counter() - t0
    return res


@pytest.fixture(scope="session")
def sft_run(tmp_path_factory):
    """SFT from scratch (lr 1e-3, batch 16), evaluated and checkpointed every 15 steps, stopped at 95%."""
    out = tmp_path_factory.mktemp("sft")
    res = _run(
        out, "algorithm=sft", "trainer.steps=450", "trainer.eval_every=15", "trainer.save_every=15",
        "trainer.save_limit=0", "algorithm.stop_accuracy=0.95", f"trainer.eval_size={HELDOUT}", "trainer.micro_batch_size=16",
    )
    res["evals"] = [(h["step"], h["eval/accuracy"]) for h in res["history"] if "eval/accuracy" in h]
    return out, res


@pytest.fixture(scope="session")
def weak_checkpoint(sft_run):
    """The last SFT checkpoint between 35% and 70% held-out greedy accuracy (a policy RL can improve).

    The last, not the first: lr-1e-3 SFT passes 35-45% while its sampled answers are still mostly
    malformed (sampled reward ~0.2), and GRPO at lr 3e-4 does not recover from there in 100 steps."""
    out, res = sft_run
    evals = res["evals"]
    weak = [(s, a) for s, a in evals if 0.35 <= a <= 0.70]
    if not weak:  # no silent fallback: the RL tests below are only meaningful from a weak policy
        pytest.fail(f"no SFT checkpoint with held-out accuracy in [0.35, 0.70]; evals (step, acc): {evals}")
    step, acc = weak[-1]
    return out / "checkpoints" / f"step_{step:06d}" / "model", step, acc


def test_sft_reaches_90_percent_on_heldout_images(sft_run):
    from mmreason.core.config import ModelConfig
    from mmreason.core.generation.hf import HFBackend
    from mmreason.core.models import load_policy
    from mmreason.train.config import DataConfig, RewardConfig
    from mmreason.train.data import load_records
    from mmreason.train.rewards import RewardFn
    from mmreason.train.rollout import evaluate

    out, res = sft_run
    final = res["final"]
    print(f"\nSFT: evals {res['evals']}; stopped at step {final['step']} in {res['seconds']:.0f} s")
    assert final["eval/accuracy"] >= 0.95
    # judge on held-out images the stopping rule never saw
    model, processor = load_policy(ModelConfig(path=str(out / "checkpoints" / f"step_{final['step']:06d}" / "model")))
    _, heldout = load_records(DataConfig())
    acc = evaluate(HFBackend(model, processor), heldout[HELDOUT:], DataConfig(), RewardFn(RewardConfig()), 16)["eval/accuracy"]
    print(f"SFT: accuracy on {len(heldout) - HELDOUT} unseen held-out images {acc:.3f}")
    assert acc >= 0.90


@pytest.fixture(scope="session")
def control_run(weak_checkpoint, tmp_path_factory):
    """The paired control: same prompts and sampling seeds, lr 0 (the policy never moves)."""
    path, _, _ = weak_checkpoint
    return _rl(tmp_path_factory.mktemp("control"), path, "algorithm=grpo", "trainer.lr=0")


def _rl(out, model_path, *overrides):
    return _run(
        out, f"model.path={model_path}", f"trainer.steps={RL_STEPS}", "trainer.eval_every=50", f"trainer.eval_size={HELDOUT}",
        "trainer.prompts_per_step=8", "trainer.rollouts_per_prompt=4", "trainer.mini_batch_size=32",
        "trainer.micro_batch_size=32", "trainer.max_refills=1", *overrides,
    )


def _summary(res):
    h = res["history"]
    reward = sum(x["reward/mean"] for x in h[-LAST:]) / LAST
    return reward, h[-1]["eval/accuracy"]


LORA = ("lora.rank=16", "lora.alpha=32", "trainer.lr=1e-3")  # adapters need a larger lr; 2e-3 collapsed on seed 1
LORA_REWARD_MARGIN = 0.05  # justified by the LoRA margins in the module docstring


@pytest.mark.parametrize("algo", ["grpo", "vgpo", "vgpo-lora"])
def test_rl_from_weak_sft_beats_the_lr0_control(algo, weak_checkpoint, control_run, tmp_path):
    path, step, sft_acc = weak_checkpoint
    extra = LORA if algo.endswith("-lora") else ("trainer.lr=3e-4",)
    res = _rl(tmp_path, path, f"algorithm={algo.removesuffix('-lora')}", *extra)
    r_algo, acc_algo = _summary(res)
    r_ctrl, acc_ctrl = _summary(control_run)
    print(
        f"\n{algo}: from SFT step {step} (acc {sft_acc:.3f}); {RL_STEPS} steps in {res['seconds']:.0f} s; "
        f"reward last {LAST}: {r_algo:.3f} vs control {r_ctrl:.3f}; greedy acc {acc_algo:.3f} vs control {acc_ctrl:.3f}"
    )
    assert acc_ctrl == pytest.approx(sft_acc, abs=0.02)  # lr 0: the control is the SFT checkpoint
    assert r_algo >= r_ctrl + (LORA_REWARD_MARGIN if algo.endswith("-lora") else REWARD_MARGIN)
    assert acc_algo >= acc_ctrl + ACC_MARGIN
