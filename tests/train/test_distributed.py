"""`torchrun --nproc_per_node=2` (gloo backend, CPU, one thread per process) trains exactly what one process trains.

One torchrun job runs every 2-process scenario in turn (tests/train/dist_worker.py; a job start costs seconds of
imports per rank); the 1-process references run in this process. Settings are chosen to exercise the hard parts:
an uneven split (3 prompts, 5 SFT records over 2 ranks: one rank runs zero-weight passes), dynamic sampling with
refills (VGPO), two mini-batches per step (old log-probs recomputed), a KL reference model, and checkpoints every
2 of 4 steps.

- SFT and VGPO, FSDP2 and DDP: weights after 4 steps equal the 1-process run's to 1e-5 (they moved ~1e-3);
  gradient checkpointing and LoRA (+ KL to the adapter-disabled base) under FSDP too;
- a checkpoint written by 2 processes resumes in 1, and one written by 1 resumes in 2, to the same weights;
- SIGKILL of one rank mid-run (the job's last scenario), then `trainer.resume=auto`, ends at the same weights;
- bf16-mixed under FSDP (MixedPrecisionPolicy) at lr 1e-6 changes >= 99 % of the float32 master weights in 3 steps.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import make_cfg
from safetensors.torch import load_file

from mmreason.train.trainer import train

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TOL = 1e-5
COMMON = ["data.heldout_size=8", "trainer.eval_size=4", "trainer.steps=4", "trainer.save_every=2", "trainer.save_limit=0",
          "trainer.num_threads=1", "logger.console=false"]
SFT = ["algorithm=sft", "data.train_size=32", "algorithm.batch_size=5", "trainer.micro_batch_size=2", "trainer.lr=5e-4", *COMMON]
RL = ["algorithm=vgpo", "data.train_size=32", "trainer.prompts_per_step=3", "trainer.rollouts_per_prompt=2",
      "trainer.mini_batch_size=4", "trainer.micro_batch_size=2", "trainer.max_new_tokens=6", "trainer.lr=5e-4",
      "algorithm.kl_coef=0.01", *COMMON]  # KL: the frozen reference copy, sharded / replicated like the policy
LORA = ["lora.rank=4", "algorithm.kl_coef=0.05", "trainer.lr=5e-3"]
BF16 = ["algorithm=sft", "data.train_size=32", "algorithm.batch_size=4", "trainer.micro_batch_size=2", "trainer.lr=1e-6",
        "trainer.precision=bf16-mixed", "trainer.steps=3", "trainer.eval_size=0", "trainer.num_threads=1", "logger.console=false"]


def _env():
    env = dict(os.environ, WANDB_MODE="disabled", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    return env


def _cfg_args(out: Path, *overrides: str) -> list[str]:
    """What `make_cfg(out, *overrides)` composes, as override strings for the worker."""
    from conftest import FAST

    return [*FAST, f"trainer.out_dir={out}", *overrides]


def _torchrun(root: Path, scenarios: list) -> subprocess.Popen:
    spec = root / f"scenarios_{len(list(root.glob('scenarios_*')))}.json"
    spec.write_text(json.dumps(scenarios))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(HERE / "dist_worker.py"), str(spec)]
    return subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _weights(out: Path, step: int) -> dict:
    return load_file(str(out / "checkpoints" / f"step_{step:06d}" / "model" / "model.safetensors"))


def _diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every run of this module: the 1-process references here, the 2-process ones in one torchrun job."""
    root = tmp_path_factory.mktemp("dist")
    one = {name: root / f"{name}_1" for name in ("sft", "rl", "lora")}
    two = {name: root / f"{name}_2" for name in ("sft_fsdp", "sft_ddp", "rl_fsdp", "rl_ddp", "rl_from1", "lora_fsdp", "bf16",
                                                  "killed")}
    train(make_cfg(one["sft"], *SFT))
    train(make_cfg(one["rl"], *RL))
    train(make_cfg(one["lora"], *RL, *LORA))
    scenarios = [
        ("sft_fsdp", _cfg_args(two["sft_fsdp"], *SFT, "trainer.strategy=fsdp")),
        ("sft_ddp", _cfg_args(two["sft_ddp"], *SFT, "trainer.strategy=ddp")),
        ("rl_fsdp", _cfg_args(two["rl_fsdp"], *RL, "trainer.strategy=fsdp", "trainer.gradient_checkpointing=true")),
        ("rl_ddp", _cfg_args(two["rl_ddp"], *RL, "trainer.strategy=ddp")),
        ("rl_from1", _cfg_args(two["rl_from1"], *RL, f"trainer.resume={one['rl'] / 'checkpoints' / 'step_000002'}")),
        ("lora_fsdp", _cfg_args(two["lora_fsdp"], *RL, *LORA)),
        ("bf16", _cfg_args(two["bf16"], *BF16, "trainer.strategy=fsdp")),
        ("killed", _cfg_args(two["killed"], *RL, "trainer.strategy=fsdp")),  # SIGKILLed below
    ]
    job = _torchrun(root, scenarios)
    killed_at = _kill_rank_after(job, two["killed"] / "checkpoints" / "step_000002", rank=1)
    out, _ = job.communicate(timeout=900)
    for name, _ in scenarios[:-1]:  # every other scenario ran to the end
        assert (two[name] / "checkpoints" / f"step_{3 if name == 'bf16' else 4:06d}" / "meta.json").exists(), out[-5000:]
    assert job.returncode != 0 and killed_at, out[-5000:]  # torchrun stopped the other rank and failed
    # a checkpoint written by 2 processes, resumed in 1
    from_two = root / "rl_from2"
    res = train(make_cfg(from_two, *RL, f"trainer.resume={two['rl_fsdp'] / 'checkpoints' / 'step_000002'}"))
    return {"one": one, "two": two, "from_two": from_two, "from_two_history": res["history"], "log": out}


def _kill_rank_after(job: subprocess.Popen, marker: Path, rank: int) -> bool:
    """SIGKILL torchrun worker `rank` once `marker` exists; False if the job ended first."""
    deadline = time.time() + 600
    while not marker.exists() and job.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    victim = _rank_pid(job.pid, rank)
    if victim is None or job.poll() is not None:
        return False
    os.kill(victim, signal.SIGKILL)
    return True


@pytest.mark.parametrize("name", ["sft_fsdp", "sft_ddp"])
def test_two_process_sft_equals_one_process(runs, name):
    ref = _weights(runs["one"]["sft"], 4)
    assert _diff(ref, _weights(runs["two"][name], 4)) <= TOL
    assert _diff(ref, _weights(runs["one"]["sft"], 2)) > 100 * TOL  # the weights did move between the checkpoints
    rows = [json.loads(x) for x in (runs["two"][name] / "metrics.jsonl").read_text().splitlines()]
    ref_rows = [json.loads(x) for x in (runs["one"]["sft"] / "metrics.jsonl").read_text().splitlines()]
    assert [r["sft/loss"] for r in rows] == pytest.approx([r["sft/loss"] for r in ref_rows], rel=1e-5)  # global mean


@pytest.mark.parametrize("name", ["rl_fsdp", "rl_ddp"])
def test_two_process_vgpo_equals_one_process(runs, name):
    ref = _weights(runs["one"]["rl"], 4)
    assert _diff(ref, _weights(runs["two"][name], 4)) <= TOL
    assert _diff(ref, _weights(runs["one"]["rl"], 2)) > 100 * TOL
    rows = [json.loads(x) for x in (runs["two"][name] / "metrics.jsonl").read_text().splitlines()]
    ref_rows = [json.loads(x) for x in (runs["one"]["rl"] / "metrics.jsonl").read_text().splitlines()]
    for key in ("reward/mean", "batch/groups", "batch/rounds", "batch/dropped_groups", "eval/accuracy"):
        assert [r.get(key) for r in rows] == [r.get(key) for r in ref_rows], key  # the same rollouts, whole groups
    assert [r["vgpo/alpha_mean"] for r in rows] == pytest.approx([r["vgpo/alpha_mean"] for r in ref_rows], abs=1e-5)
    assert any(r["batch/rounds"] > 1 for r in ref_rows)  # dynamic sampling dropped groups and refilled


def test_checkpoints_resume_across_world_sizes(runs):
    ref = _weights(runs["one"]["rl"], 4)
    assert _diff(ref, _weights(runs["two"]["rl_from1"], 4)) <= TOL  # written by 1 process, resumed by 2
    assert _diff(ref, _weights(runs["from_two"], 4)) <= TOL  # written by 2 processes, resumed by 1
    assert [h["step"] for h in runs["from_two_history"]] == [3, 4]
    ckpt = runs["two"]["rl_fsdp"] / "checkpoints" / "step_000002"
    assert sorted(p.name for p in (ckpt / "rng").iterdir()) == ["rank_00000.pt", "rank_00001.pt"]
    assert json.loads((ckpt / "meta.json").read_text())["world_size"] == 2
    assert len(list((ckpt / "state").glob("*.distcp"))) == 2  # one shard file per rank


def test_lora_under_fsdp_equals_one_process(runs):
    one, two = runs["one"]["lora"], runs["two"]["lora_fsdp"]
    assert _diff(_weights(one, 4), _weights(two, 4)) <= TOL  # the merged final models
    assert not (two / "checkpoints" / "step_000002" / "model").exists()  # intermediate: the adapters only
    a = load_file(str(one / "checkpoints" / "step_000002" / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(two / "checkpoints" / "step_000002" / "adapter" / "adapter_model.safetensors"))
    assert _diff(a, b) <= TOL and max(float(v.abs().max()) for k, v in a.items() if "lora_B" in k) > 0
    rows = [json.loads(x) for x in (two / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["actor/kl_ref"] > 0  # the KL reference is the adapter-disabled base


def test_bf16_mixed_fsdp_updates_the_float32_masters(runs):
    from mmreason.core.config import ModelConfig
    from mmreason.core.models import model_path

    start = load_file(str(next(model_path(ModelConfig()).glob("*.safetensors"))))
    end = _weights(runs["two"]["bf16"], 3)
    changed = sum(int((end[k] != start[k]).sum()) for k in end) / sum(v.numel() for v in end.values())
    assert changed >= 0.99, changed
    assert all(v.dtype == torch.float32 for v in end.values())  # model.dtype float32: stored as trained


def _rank_pid(agent: int, rank: int) -> int | None:
    """The pid of torchrun worker `rank` (a child of the agent with RANK=rank in its environment)."""
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            env = (p / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == agent and f"RANK={rank}".encode() in env:
            return int(p.name)
    return None


def test_sigkill_of_one_rank_then_resume_auto_matches(runs):
    out = runs["two"]["killed"]
    assert (out / "checkpoints" / "step_000002").exists() and not (out / "checkpoints" / "step_000004").exists()
    res = train(make_cfg(out, *RL, "trainer.resume=auto"))  # resumed in 1 process, from what the kill left
    assert res["history"][0]["step"] == 3  # from step 2 (checkpoints every 2 steps)
    assert _diff(_weights(runs["one"]["rl"], 4), _weights(out, 4)) <= TOL
