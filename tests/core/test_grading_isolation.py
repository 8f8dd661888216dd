"""Grading never re-runs the caller's program (issue 13).

The math-verify workers used to come from a multiprocessing forkserver, whose children re-import the
caller's `__main__`: a script without an `if __name__ == "__main__":` guard ran again inside the worker
(its output printed several times, nested copies raising multiprocessing's bootstrapping RuntimeError,
8 of 35 grading calls failing). Here a guard-less script grades 50 mixed cases (math-verify ones, a hard
one that must be cut by the budget, a call from a thread and one from a forked child) in the three ways
such code runs: piped to `python -`, as `python -c`, and exec'd by a plain script. Each must finish with
no exception, print its output once, and give the verdicts this process gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_grading import ADVERSARIAL_MATHVERIFY, CHEAP_CASES, HARD_CASES, MATHVERIFY_CASES

from mmreason.core.grading import grade

CASES = (
    [list(c[:4]) for c in CHEAP_CASES[:30]]
    + [[p, g, t, []] for p, g, t, _ in MATHVERIFY_CASES]
    + [[p, g, t, []] for p, g, t in ADVERSARIAL_MATHVERIFY]
    + [[HARD_CASES[2][0], HARD_CASES[2][1], "expression", []]]  # 10^{10^{10}}: ended by the budget
)
assert len(CASES) == 50

SCRIPT = """\
import json, os, threading
from mmreason.core.grading import grade

with open(os.environ["MARKER"], "a") as f:  # one line per time this program runs
    f.write(f"{os.getpid()}\\n")
print("BEGIN", flush=True)
cases = json.load(open(os.environ["CASES"]))
verdicts = [grade(*c) for c in cases]
box = []
t = threading.Thread(target=lambda: box.append(grade("\\\\boxed{2x+2}", "2(x+1)", "expression")))
t.start(); t.join()
r, w = os.pipe()
pid = os.fork()
if pid == 0:  # a forked child grades with its own workers
    os.write(w, b"1" if grade("\\\\boxed{x^2-1}", "(x-1)(x+1)", "expression") else b"0")
    os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({"verdicts": verdicts, "thread": box[0], "fork": os.read(r, 1) == b"1"}), flush=True)
print("END", flush=True)
"""


@pytest.fixture(scope="module")
def expected():
    return [grade(*c) for c in CASES]


@pytest.mark.parametrize("mode", ["stdin", "dash-c", "exec"])
def test_guardless_script_grades_once(mode, expected, tmp_path):
    (tmp_path / "cases.json").write_text(json.dumps(CASES))
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    (tmp_path / "driver.py").write_text(f"exec(open({str(script)!r}).read())\n")  # no main guard either
    cmd, stdin = {
        "stdin": ([sys.executable, "-"], SCRIPT),
        "dash-c": ([sys.executable, "-c", SCRIPT], None),
        "exec": ([sys.executable, str(tmp_path / "driver.py")], None),
    }[mode]
    env = {**os.environ, "MARKER": str(tmp_path / "runs.txt"), "CASES": str(tmp_path / "cases.json")}
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr and "RuntimeError" not in out.stderr, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "BEGIN" and lines[-1] == "END" and len(lines) == 3, out.stdout  # printed once
    assert len((tmp_path / "runs.txt").read_text().split()) == 1  # the program ran once, in one process
    got = json.loads(lines[1])
    assert got["verdicts"] == expected
    assert got["thread"] is True and got["fork"] is True
