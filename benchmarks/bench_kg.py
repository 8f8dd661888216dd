"""Benchmark the knowledge-graph stage.

1. Structural build (`build_kg`, extractors=[structural]) on N generated documents (default 1,000,
   written to a temp dir by mmreason.synth.corpus), with fact precision / recall on their truth files.
2. Entity resolution on 10,000 entities: blocked candidates scored in one rapidfuzz `cpdist` call
   (`fuzzy_pairs`) against the naive all-pairs Python loop with the same rule (`all_pairs_baseline`),
   both timed with cold name caches (the blocked one as the best of 5), and the share of the baseline's
   pairs the blocking finds. With --subset the baseline runs on a random subset and is extrapolated
   quadratically (pairs grow as n²); the output says so.

    .venv/bin/python benchmarks/bench_kg.py [--docs 1000] [--entities 10000] [--subset 1500]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path


def _gen(args):
    from mmreason.synth.corpus import make_document

    out, domain, i, seed = args
    make_document(domain, i, seed, Path(out), render=True)


def generate_docs(out: Path, n: int, seed: int, workers: int) -> float:
    from mmreason.synth.corpus import DOMAINS

    jobs = [(str(out), DOMAINS[k % len(DOMAINS)], k // len(DOMAINS), seed) for k in range(n)]
    t = time.perf_counter()
    with Pool(workers) as pool:
        pool.map(_gen, jobs, chunksize=20)
    return time.perf_counter() - t


def synthetic_entities(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """n names over 5 types: ~n/3 distinct bases, the rest copies with a typo, case or punctuation change."""
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ra", "ten", "vor", "quin", "sel", "dax", "pho", "ber", "gun", "tri", "nel", "os"]
    words = ["Corp", "Holdings", "Institute", "River", "Battle of", "Acid", "Act", "Court", "Labs", "Group"]
    types = ["Company", "Place", "Person", "Compound", "Law"]
    bases = []
    for _ in range(n // 3):
        name = "".join(rng.choice(syll) for _ in range(rng.randint(2, 4))).capitalize()
        bases.append((f"{name} {rng.choice(words)}" if rng.random() < 0.6 else name, rng.choice(types)))
    names, tys = [], []
    for k in range(n):
        base, t = bases[k % len(bases)] if k < len(bases) else rng.choice(bases)
        if k >= len(bases):
            op = rng.randrange(4)
            i = rng.randrange(1, len(base) - 1)
            base = {0: base[:i] + base[i + 1:], 1: base[:i] + rng.choice("aeiou") + base[i:], 2: base.upper(),
                    3: base + "."}[op]
        names.append(base)
        tys.append(t.casefold())
    return names, tys


def _clear_caches() -> None:
    from mmreason.synth.kg.graph import norm_name
    from mmreason.synth.kg.resolution import _digits, compare_name

    for f in (norm_name, compare_name, _digits):
        f.cache_clear()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--entities", type=int, default=10000)
    ap.add_argument("--subset", type=int, default=None,
                    help="entities timed with the all-pairs baseline (default: all; fewer = extrapolated n²)")
    ap.add_argument("--threshold", type=float, default=95.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from mmreason.synth.kg import build_kg
    from mmreason.synth.kg.resolution import all_pairs_baseline, fuzzy_pairs

    con = Console()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_gen = generate_docs(tmp / "corpus", a.docs, a.seed, a.workers)
        rows.append(("generate corpus (matplotlib figures)", f"{a.docs} docs", f"{t_gen:.1f} s",
                     f"{a.docs / t_gen:.1f} docs/s ({a.workers} procs)"))
        t = time.perf_counter()
        r = build_kg({"input_dir": str(tmp / "corpus"), "out_dir": str(tmp / "out"),
                      "kg": {"resume": False}}, progress=True)
        t_build = time.perf_counter() - t
        n_nodes = sum(r["counts"]["nodes"].values())
        n_edges = sum(r["counts"]["edges"].values())
        f = r["eval"]["facts"]
        rows.append(("structural build_kg (1 proc)", f"{a.docs} docs", f"{t_build:.1f} s",
                     f"{a.docs / t_build:.1f} docs/s; {n_nodes} nodes, {n_edges} edges; "
                     f"P {f['precision']:.4f} R {f['recall']:.4f}; errors {len(r['errors'])}"))
        t = time.perf_counter()
        r2 = build_kg({"input_dir": str(tmp / "corpus"), "out_dir": str(tmp / "out")}, progress=False)
        t_resume = time.perf_counter() - t
        rows.append(("resumed rerun (all partials reused)", f"{r2['reused']} reused", f"{t_resume:.1f} s", ""))

    names, types = synthetic_entities(a.entities, a.seed)
    fuzzy_pairs(*synthetic_entities(300, a.seed + 1), a.threshold)  # first calls into numpy / rapidfuzz, other names
    t_blocked = float("inf")
    for _ in range(5):  # best of 5, each with cold name caches (both methods normalise every name)
        _clear_caches()
        t = time.perf_counter()
        blocked = fuzzy_pairs(names, types, a.threshold)
        t_blocked = min(t_blocked, time.perf_counter() - t)
    rows.append(("resolution: blocked cpdist (best of 5)", f"{a.entities} entities", f"{t_blocked:.3f} s",
                 f"{len(blocked)} pairs"))
    from mmreason.synth.kg.graph import KG, prov
    from mmreason.synth.kg.resolution import resolve_entities

    kg = KG()
    for k, (n, ty) in enumerate(zip(names, types)):
        kg.add_entity(n, ty, prov(f"doc{k % 97}", k))
    n_before = len(kg.nodes_of("Entity"))
    t = time.perf_counter()
    merged = resolve_entities(kg, a.threshold)
    t_resolve = time.perf_counter() - t
    rows.append(("resolve_entities on a KG (pairs + union-find + merge)", f"{n_before} entity nodes",
                 f"{t_resolve:.2f} s", f"{len(merged)} merged into others"))
    rng = random.Random(a.seed)
    idx = sorted(rng.sample(range(a.entities), min(a.subset or a.entities, a.entities)))
    sub_n, sub_t = [names[i] for i in idx], [types[i] for i in idx]
    _clear_caches()
    t = time.perf_counter()
    base = all_pairs_baseline(sub_n, sub_t, a.threshold)
    t_base = time.perf_counter() - t
    t_base_full = t_base * (a.entities / len(idx)) ** 2
    got = set(fuzzy_pairs(sub_n, sub_t, a.threshold)) if len(idx) < a.entities else set(blocked)
    recall = len(got & set(base)) / len(base) if base else 1.0
    rows.append(("resolution: all-pairs loop (measured)", f"{len(idx)} entities", f"{t_base:.2f} s",
                 f"{len(base)} pairs; blocking finds {recall:.3f} of them"))
    if len(idx) == a.entities:
        rows.append(("resolution: blocking vs all-pairs (both measured)", f"{a.entities} entities",
                     f"{t_base:.2f} s / {t_blocked:.2f} s", f"speed-up of blocking {t_base / t_blocked:.0f}x"))
    else:
        rows.append(("resolution: all-pairs loop (EXTRAPOLATED n²)", f"{a.entities} entities", f"~{t_base_full:.0f} s",
                     f"speed-up of blocking ~{t_base_full / t_blocked:.0f}x"))

    table = Table(title="bench_kg")
    for c in ("what", "size", "time", "notes"):
        table.add_column(c)
    for row in rows:
        table.add_row(*row)
    con.print(table)


if __name__ == "__main__":
    main()
