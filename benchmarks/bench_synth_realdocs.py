"""Benchmark synth on real documents: time and peak memory of the whole run, and the solver's attention.

1. `python -m mmreason.synth` on ../shared/realdocs/docs with the default settings (difficulty solver on),
   in a fresh process: wall time, peak RSS (the kernel's ru_maxrss of that process), records, task types,
   image-grounded share, documents with questions (OUT/report.json).
2. The difficulty solver alone on N prompts of ~9,400 characters (the issue's case), each configuration in
   its own process: the model group's eager attention (the old default: baseline) against synth's sdpa,
   as a ratio of peak memory and time measured in the same run.

Every child runs under an address-space cap (--mem-cap-gb, default 8) so an unbounded run is killed, not
the machine; a killed child is reported as such.

    .venv/bin/python benchmarks/bench_synth_realdocs.py [--docs ../shared/realdocs/docs] [--prompts 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SOLVER = """
import json, sys
import torch
from mmreason.synth.kg.build import make_default_backend
from mmreason.synth.score.difficulty import solver_pass_rates
if __name__ == "__main__":
    torch.set_num_threads(2)
    attn, n = sys.argv[1], int(sys.argv[2])
    be = make_default_backend({"model": {"name": "tiny", "attn_implementation": "eager"}, "generation": {"backend": "hf"},
                               "synth": {"attn_implementation": None if attn == "eager" else attn}})
    text = ("The model reaches 83.5 accuracy on the benchmark while the baseline stays at 71.2 points. " * 120)[:9400]
    recs = [{"id": str(i), "problem": text + f" Question {i}: what is 2+{i}?", "images": [], "answer": str(2 + i),
             "answer_type": "number", "choices": []} for i in range(n)]
    out = solver_pass_rates(recs, be, k=2, max_new_tokens=4, batch_size=32)
    print(json.dumps({"scored": sum(1 for r in out if "pass_rate" in r)}))
"""


def run_child(cmd: list[str], cap_gb: float, cwd: Path) -> dict:
    """Run a command; (wall s, peak RSS MB of that process, return code, stdout tail)."""
    cap = int(cap_gb * 2**30)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=limit)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": time.perf_counter() - t, "peak_mb": usage.ru_maxrss / 1024, "rc": p.returncode, "out": out[-3000:]}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", default=str(REPO.parent / "shared" / "realdocs" / "docs"))
    ap.add_argument("--prompts", type=int, default=3, help="long prompts for the solver comparison")
    ap.add_argument("--mem-cap-gb", type=float, default=8.0)
    ap.add_argument("--skip-run", action="store_true", help="only the solver comparison")
    a = ap.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not Path(a.docs).is_dir():
            rows.append(("synth on realdocs", "skipped", "", f"{a.docs} is not a folder (see --docs)"))
        elif not a.skip_run:
            out = tmp / "out"
            r = run_child([sys.executable, "-m", "mmreason.synth", f"synth.input_dir={a.docs}", f"synth.out_dir={out}",
                           "synth.progress=false"], a.mem_cap_gb, REPO)
            if r["rc"] != 0:
                rows.append(("synth on realdocs (defaults, solver on)", "FAILED", f"{r['wall_s']:.0f} s",
                             f"rc {r['rc']} (killed at the {a.mem_cap_gb:g} GB cap?) {r['out'][-300:]}"))
            else:
                rep = json.loads((out / "report.json").read_text())
                st = json.loads((out / "dataset" / "stats.json").read_text())
                rows.append(("synth on realdocs (defaults, solver on)", f"{len(rep['documents'])} documents",
                             f"{r['wall_s']:.0f} s, peak {r['peak_mb']:.0f} MB",
                             f"{st['records']} records, {len(st['task_type'])} task types, image-grounded "
                             f"{st['image_grounded_share']:.1%}, {rep['documents_with_questions']} documents with "
                             f"questions, solver skipped {st.get('solver_skipped', 0)}"))
        script = tmp / "solver.py"
        script.write_text(SOLVER)
        res = {}
        for attn in ("eager", "sdpa"):
            res[attn] = r = run_child([sys.executable, str(script), attn, str(a.prompts)], a.mem_cap_gb, REPO)
            ok = r["rc"] == 0
            rows.append((f"solver, {attn} attention", f"{a.prompts} prompts x ~9,400 chars, k=2",
                         f"{r['wall_s']:.1f} s, peak {r['peak_mb']:.0f} MB" if ok else f"FAILED rc {r['rc']}",
                         "baseline (the model group's default)" if attn == "eager" else "synth's default"))
        if all(r["rc"] == 0 for r in res.values()):
            rows.append(("solver: sdpa vs eager", "", f"memory / {res['eager']['peak_mb'] / res['sdpa']['peak_mb']:.1f}",
                         f"time / {res['eager']['wall_s'] / res['sdpa']['wall_s']:.1f}"))
    t = Table(title="bench_synth_realdocs")
    for c in ("what", "size", "time / memory", "notes"):
        t.add_column(c)
    for row in rows:
        t.add_row(*row)
    Console(width=160).print(t)


if __name__ == "__main__":
    main()
