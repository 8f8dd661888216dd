"""Crash leftovers (issue 13): a kill during a save left `checkpoints/.step_NNNNNN.*.tmp/` forever; a kill
during pruning left half-deleted `step_*` dirs that pruning never removed, and save_limit was exceeded.

Each test below forks a child that saves step 3 of a real 2-step run (save_limit=2) and SIGKILLs itself at
one point of `save_checkpoint` (no `finally`, no atexit: what a kill leaves). Then `clean_checkpoints` —
what the trainer runs at start and after every save — must leave only complete `step_*` checkpoints, at
most save_limit of them, the newest one complete and loadable, and nothing else of the trainer's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal

import pytest
import torch
from conftest import make_cfg

from mmreason.core import io as core_io
from mmreason.core import models as core_models
from mmreason.train import checkpoint as ck
from mmreason.train.checkpoint import clean_checkpoints, list_checkpoints, load_trainer_state, save_checkpoint
from mmreason.train.parallel import as_policy
from mmreason.train.trainer import train

SAVE_LIMIT = 2


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """A real 2-step GRPO run with a checkpoint after each step, and the objects to save step 3 with."""
    out = tmp_path_factory.mktemp("base")
    train(make_cfg(out, "trainer.steps=2", "trainer.save_every=1", f"trainer.save_limit={SAVE_LIMIT}"))
    assert [s for s, _ in list_checkpoints(out)] == [1, 2]
    from mmreason.core.config import ModelConfig

    model, processor = core_models.load_policy(ModelConfig(path=str(out / "checkpoints" / "step_000002" / "model")))
    policy = as_policy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    ck.restore_trainer_state(out / "checkpoints" / "step_000002", policy, opt, sched)
    return out, (policy, processor, opt, sched)


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_during_save(out, objs, step, patch, meta=None):
    """Fork; in the child apply `patch(die)` and save `step`; the child must die by SIGKILL."""
    pid = os.fork()
    if pid == 0:
        try:
            patch()
            save_checkpoint(out, step, *objs, {"cursor": step}, SAVE_LIMIT, meta=meta)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(3)  # reached only when the kill point was never hit
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the kill point was not reached"


def _state(out):
    root = out / "checkpoints"
    return sorted(p.name for p in root.iterdir())


def _replace_then(die_if):
    real = os.replace

    def replace(src, dst, *a, **k):
        real(src, dst, *a, **k)
        if die_if(str(src), str(dst)):
            _die()

    return replace


def _patch(target, name, value):
    return lambda: setattr(target, name, value)


def _die_saving(filename):
    """torch.save that dies when it is asked to write `filename` (and works for every other file)."""
    real = torch.save
    return lambda obj, f, *a, **k: _die() if str(f).endswith(filename) else real(obj, f, *a, **k)


KILLS = {  # kill point -> (patch to apply in the child, leftovers expected before cleaning, steps after cleaning)
    "writing the model": (_patch(core_models, "save_processor", lambda *a, **k: _die()), r"\.step_000003\..*\.tmp", [1, 2]),
    "writing the sharded state": (_patch(ck, "_dcp_state", lambda *a: _die()), r"\.step_000003\..*\.tmp", [1, 2]),
    "writing the RNG states": (_patch(torch, "save", _die_saving("rank_00000.pt")), r"\.step_000003\..*\.tmp", [1, 2]),
    "writing trainer_state.pt": (_patch(torch, "save", _die_saving("trainer_state.pt")), r"\.step_000003\..*\.tmp", [1, 2]),
    "writing meta.json": (_patch(ck, "atomic_write_json", lambda *a, **k: _die()), r"\.step_000003\..*\.tmp", [1, 2]),
    # complete but never renamed: recovered, then pruned to the limit
    "before the rename": (_patch(core_io.os, "replace", lambda s, d: _die() if str(d).endswith("step_000003") else os.rename(s, d)),
                          r"\.step_000003\..*\.tmp", [2, 3]),
    "before pruning": (_patch(ck, "clean_checkpoints", lambda *a, **k: _die()), r"step_000003", [2, 3]),
    "after renaming for prune": (_patch(ck.os, "replace", _replace_then(lambda s, d: d.endswith(".prune"))),
                                 r"\.step_000001\.prune", [2, 3]),
}


@pytest.mark.parametrize("point", list(KILLS))
def test_kill_during_save_leaves_nothing_after_cleanup(base_run, tmp_path, point):
    src, objs = base_run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    patch, leftover, steps = KILLS[point]
    _kill_during_save(out, objs, 3, patch)  # the patches live in the child only
    before = _state(out)
    assert any(re.fullmatch(leftover, n) for n in before), before  # the kill left it behind
    clean_checkpoints(out, SAVE_LIMIT)
    assert _state(out) == [f"step_{s:06d}" for s in steps]
    assert [s for s, _ in list_checkpoints(out)] == steps
    assert load_trainer_state(out / "checkpoints" / f"step_{steps[-1]:06d}")["step"] == steps[-1]


def test_kill_mid_delete_of_a_pruned_checkpoint(base_run, tmp_path):
    src, objs = base_run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    real_unlink, n = os.unlink, [0]

    def unlink(path, *a, **k):
        real_unlink(path, *a, **k)
        n[0] += 1
        if n[0] == 2:  # the prune's delete has begun: some files of .step_000001.prune are gone
            _die()

    def patch():
        real_rmtree = shutil.rmtree

        def rmtree(path, *a, **k):  # only the prune of step 1 gets the killing unlink
            if str(path).endswith(".step_000001.prune") and os.path.exists(path):
                os.unlink = unlink
            return real_rmtree(path, *a, **k)

        shutil.rmtree = rmtree

    _kill_during_save(out, objs, 3, patch)
    assert ".step_000001.prune" in _state(out)
    clean_checkpoints(out, SAVE_LIMIT)
    assert _state(out) == ["step_000002", "step_000003"]


def test_kill_between_the_renames_of_a_resave_recovers_the_new_one(base_run, tmp_path):
    """A fresh run re-saving step 2 parks the old step 2 as .step_000002.old.<pid> and is killed before
    the new one takes its place: cleaning recovers the newer save, not the parked one."""
    src, objs = base_run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    die_if = _replace_then(lambda s, d: ".step_000002.old." in d)
    _kill_during_save(out, objs, 2, _patch(core_io.os, "replace", die_if), meta={"run": "new"})
    before = _state(out)
    assert "step_000002" not in before and any(".step_000002.old." in n for n in before), before
    clean_checkpoints(out, SAVE_LIMIT)
    assert _state(out) == ["step_000001", "step_000002"]
    assert core_io.read_json(out / "checkpoints" / "step_000002" / "meta.json")["run"] == "new"


def test_half_deleted_step_dir_from_an_in_place_prune_is_removed(base_run, tmp_path):
    """Before pruning renamed first, a kill inside shutil.rmtree(step_000001) left a step dir without its
    trainer state, invisible to list_checkpoints and never pruned."""
    src, _ = base_run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    (out / "checkpoints" / "step_000001" / "trainer_state.pt").unlink()
    (out / "checkpoints" / "unrelated_notes").mkdir()  # not the trainer's: left alone
    assert clean_checkpoints(out, SAVE_LIMIT) == ["step_000001"]
    assert _state(out) == ["step_000002", "unrelated_notes"]


def test_trainer_cleans_at_start_and_resumes(base_run, tmp_path):
    src, objs = base_run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    _kill_during_save(out, objs, 3, KILLS["writing trainer_state.pt"][0])
    res = train(make_cfg(out, "trainer.steps=3", "trainer.save_every=1", f"trainer.save_limit={SAVE_LIMIT}",
                         "trainer.resume=auto"))
    assert res["history"][0]["step"] == 3  # resumed from step 2, the last complete one
    assert _state(out) == ["step_000002", "step_000003"]
