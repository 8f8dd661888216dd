"""Check a local benchmark download before a long run: which layout was found, how many rows loaded,
which rows were skipped and why, and the prompt the first record gets.

    python -m mmreason.eval.check eval.data.mathvista=/data/MathVista [eval.data.wemath=/data/We-Math ...]
    python -m mmreason.eval.check eval.benchmarks=[mathvista,wemath]      # the configured paths

Arguments are Hydra overrides of conf/eval.yaml (eval.benchmark_args.<name>.* and
eval.max_skipped_fraction apply). The benchmarks checked are those given an `eval.data.<name>=` override,
else `eval.benchmarks`. Exit status 1 when a benchmark is missing or its load would stop a run (no
record, or more than eval.max_skipped_fraction of the rows skipped).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .benchmarks import MissingDataError, get_benchmark

N_SKIPPED_SHOWN = 20


def check_benchmark(name: str, path: str, args: dict, max_skipped: float | None, out=print) -> bool:
    """Load one benchmark and print what was found; True when a run could use it."""
    out(f"== {name}: {path}")
    args = dict(args)
    limit = args.pop("max_skipped_fraction", max_skipped)
    bench = get_benchmark(name, max_skipped_fraction=limit, **args)
    try:
        loaded = bench.load(path, enforce=False)
    except MissingDataError as e:
        out(f"MISSING: {e}")
        return False
    out(f"layout: {loaded.layout} ({loaded.source})")
    out("files: " + ", ".join(loaded.files[:5]) + (f" … ({len(loaded.files)} files)" if len(loaded.files) > 5 else ""))
    out(f"rows: {loaded.n_rows}  loaded: {len(loaded.records)}  skipped: {len(loaded.skipped)} "
        f"({loaded.skipped_share:.1%})")
    if loaded.records:
        types: dict[str, int] = {}
        for r in loaded.records:
            types[r["answer_type"]] = types.get(r["answer_type"], 0) + 1
        n_img = sum(len(r["images"]) for r in loaded.records)
        out(f"answer types: {dict(sorted(types.items()))}  images: {n_img}")
    for s in loaded.skipped[:N_SKIPPED_SHOWN]:
        out(f"  skipped row {s['row_id']}: {s['reason']}")
    if len(loaded.skipped) > N_SKIPPED_SHOWN:
        out(f"  … and {len(loaded.skipped) - N_SKIPPED_SHOWN} more")
    if loaded.records:
        rec = loaded.records[0]
        out(f"sample prompt ({rec['id']}, {len(rec['images'])} image(s), answer {rec['answer']!r}):")
        out(bench.build_prompt(rec))
    problem = loaded.problem(name, limit)
    out(f"FAIL: {problem}" if problem else "OK")
    return problem is None


def main(argv: list[str] | None = None) -> int:
    from mmreason.core.config import compose

    from .runner import eval_config

    argv = list(sys.argv[1:] if argv is None else argv)
    ec = eval_config(compose("eval", argv))  # validated: unknown keys, types and benchmark names fail here
    named = [m.group(1) for a in argv if (m := re.match(r"^\+?eval\.data\.(\w+)=", a))]
    names = named or list(ec["benchmarks"])
    if not names:
        print("nothing to check: pass eval.data.<name>=PATH", file=sys.stderr)
        return 2
    ok = True
    for name in names:
        path = (ec.get("data") or {}).get(name)
        if not path:
            print(f"== {name}: no eval.data.{name} path")
            ok = False
            continue
        args = dict((ec.get("benchmark_args") or {}).get(name) or {})
        ok &= check_benchmark(name, str(Path(path)), args, ec.get("max_skipped_fraction"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
