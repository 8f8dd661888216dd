"""Template question generation throughput (records per second) on the graph of examples/corpus.

    python benchmarks/bench_synth_qa.py [--repeat 3 --input examples/corpus]

Builds the graph once (structural extractor, into a temporary folder), samples the paths of every task
type, then times `generate_for_task` over all task types (answers computed from the graph, records
rendered and leak-checked), best of `--repeat`. Rows: sampling, template generation (all task types),
per task type, and support + recompute scoring of the generated records. The first generation pass
also pays for parsing each formula's LaTeX once (memoised), reported as "first pass".
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default=str(REPO / "examples" / "corpus"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    from mmreason.synth.generate import generate_for_task
    from mmreason.synth.kg import build_kg
    from mmreason.synth.sampling import sample_paths
    from mmreason.synth.score import support
    from mmreason.synth.tasks import load_task_types

    with tempfile.TemporaryDirectory() as tmp:
        kg = build_kg({"synth": {"input_dir": a.input, "out_dir": tmp, "kg": {"graphml": False, "evaluate": False}}},
                      progress=False)["graph"]
    tasks = load_task_types()
    t0 = time.perf_counter()
    paths = {t.name: sample_paths(kg, t.sampler, 0) for t in tasks}
    t_sample = time.perf_counter() - t0

    root = Path(a.input).resolve()
    timings, per_task, recs = [], {}, []
    for _rep in range(a.repeat + 1):
        recs = []
        t0 = time.perf_counter()
        for t in tasks:
            s = time.perf_counter()
            r, _ = generate_for_task(kg, t, paths[t.name], 0, root)
            per_task[t.name] = (len(r), time.perf_counter() - s)
            recs += r
        timings.append(time.perf_counter() - t0)
    first, best = timings[0], min(timings[1:])
    t0 = time.perf_counter()
    for r in recs:
        support(kg, r)
    t_support = time.perf_counter() - t0

    n = len(recs)
    print(f"graph: {kg.g.number_of_nodes()} nodes, {kg.g.number_of_edges()} edges; {len(tasks)} task types; "
          f"{sum(len(p) for p in paths.values())} paths")
    print(f"{'row':<34}{'records':>9}{'seconds':>10}{'records/s':>12}")
    print(f"{'sampling (all task types)':<34}{'':>9}{t_sample:>10.3f}{'':>12}")
    print(f"{'template generation, first pass':<34}{n:>9}{first:>10.3f}{n / first:>12.1f}")
    print(f"{'template generation, best':<34}{n:>9}{best:>10.3f}{n / best:>12.1f}")
    for name, (k, s) in sorted(per_task.items()):
        print(f"  {name:<32}{k:>9}{s:>10.3f}{k / s if s else 0:>12.1f}")
    print(f"{'support + recompute scoring':<34}{n:>9}{t_support:>10.3f}{n / t_support:>12.1f}")


if __name__ == "__main__":
    main()
