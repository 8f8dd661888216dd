"""The synth stages after the graph, and `run_synth(cfg)` for the whole pipeline.

    kg      documents -> OUT/kg/graph.json                        (kg/build.py)
    sample  graph -> OUT/sample/paths.json                        paths per task type
    qa      paths -> OUT/qa/records.jsonl                          template (+ llm) questions, verified answers
    score   records -> OUT/score/records.jsonl                     quality JSON, thresholds, near-dup removal
    export  scored records -> OUT/dataset/                         HF dataset, messages, ShareGPT, verl, stats;
                                                                   OUT/report.json: per document blocks, facts,
                                                                   paths, questions and why none (report.py)

Every stage writes its outputs atomically and then `meta.json` with the hash of its input and settings;
a stage whose meta matches is skipped, so a killed run resumes at the stage it was in. Model calls go
through the on-disk cache (cache.py) in fixed, seeded batches: a resumed run repeats none of them and
ends with the same dataset as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from mmreason.core.io import atomic_write_json, atomic_write_text, read_json, read_jsonl

from .config import synth_settings

log = logging.getLogger("mmreason.synth")

settings = synth_settings  # cfg -> (the validated `synth` settings, root config as a dict); keys in config.py


def _hash(*parts) -> str:
    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, Path):
            h.update(p.read_bytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _fresh(stage_dir: Path, key: str, outputs: list[str]) -> bool:
    meta = stage_dir / "meta.json"
    if not meta.is_file() or not all((stage_dir / o).exists() for o in outputs):
        return False
    try:
        return read_json(meta).get("input_hash") == key
    except ValueError:
        return False


def _done(stage_dir: Path, key: str, info: dict) -> None:
    atomic_write_json(stage_dir / "meta.json", {"input_hash": key, **info})


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    disable=not enabled)


def _graph_path(s: dict) -> Path:
    p = s["out_dir"] / "kg" / "graph.json"
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist: run the kg stage first (python -m mmreason.synth stage=kg)")
    return p


def _tasks(s: dict):
    from .tasks import load_task_types

    t = s["tasks"]
    over: dict[str, Any] = {}
    for k in ("max_records", "per_path"):
        if t.get(k) is not None:
            over[k] = t[k]
    if s["sample"].get("max_paths") is not None:
        over["sampler"] = {"max_paths": s["sample"]["max_paths"]}
    return load_task_types(t["dirs"], t["include"], {"*": over} if over else None)


# ------------------------------------------------------------------ stages
def run_sample(cfg) -> Path:
    from dataclasses import asdict

    from .kg.store import load_graph
    from .sampling import sample_paths

    s, _ = settings(cfg)
    gp = _graph_path(s)
    tasks = _tasks(s)
    d = s["out_dir"] / "sample"
    key = _hash(gp, [asdict(t.sampler) | {"name": t.name} for t in tasks], s["seed"])
    if _fresh(d, key, ["paths.json"]):
        log.info("sample: up to date (%s)", d)
        return d / "paths.json"
    kg = load_graph(gp)
    out = {}
    with _progress(s["progress"]) as bar:
        job = bar.add_task("sample", total=len(tasks))
        for t in tasks:
            out[t.name] = [p.to_dict() for p in sample_paths(kg, t.sampler, s["seed"])]
            bar.advance(job)
    atomic_write_json(d / "paths.json", out, indent=None)
    _done(d, key, {"paths": {k: len(v) for k, v in out.items()}})
    return d / "paths.json"


def _backend(root: dict, s: dict):
    from .cache import CachedBackend, GenerationCache
    from .kg.build import make_default_backend

    cache = GenerationCache(s["cache_dir"] or s["out_dir"] / "cache" / "generation")
    return CachedBackend(make_default_backend(root), cache)


def run_qa(cfg, backend=None) -> Path:
    from .generate.template import generate_for_task
    from .kg.store import load_graph
    from .sampling import Path as SPath

    s, root = settings(cfg)
    gp = _graph_path(s)
    pp = s["out_dir"] / "sample" / "paths.json"
    if not pp.is_file():
        raise FileNotFoundError(f"{pp} does not exist: run the sample stage first")
    tasks = _tasks(s)
    d = s["out_dir"] / "qa"
    key = _hash(gp, pp, s["generate"], s["closed_book"], s["seed"],
                [(t.name, t.questions, t.nodes, t.hidden, t.per_path, t.max_records) for t in tasks])
    if _fresh(d, key, ["records.jsonl"]):
        log.info("qa: up to date (%s)", d)
        return d / "records.jsonl"
    kg = load_graph(gp)
    paths = read_json(pp)
    records, stats = [], {}
    root_dir = s["input_dir"].resolve()
    with _progress(s["progress"]) as bar:
        job = bar.add_task("qa (template)", total=len(tasks))
        for t in tasks:
            ps = [SPath(**p) for p in paths.get(t.name, [])]
            recs, st = generate_for_task(kg, t, ps, s["seed"], root_dir, s["closed_book"],
                                         s["generate"]["max_table_columns"])
            records += recs
            stats[t.name] = {**st, "records": len(recs)}
            bar.advance(job)
    if s["generate"]["generator"] == "llm":
        from .generate.llm import rephrase

        own = backend is None
        backend = backend or _backend(root, s)
        records, llm_stats = rephrase(kg, records, backend, **s["generate"]["llm"])
        stats["llm"] = llm_stats
        if own:
            backend.close()
    elif s["generate"]["generator"] != "template":
        raise ValueError(f"synth.generate.generator={s['generate']['generator']!r}: expected template or llm")
    atomic_write_text(d / "records.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    _done(d, key, {"records": len(records), "stats": stats})
    return d / "records.jsonl"


def run_score(cfg, backend=None) -> Path:
    from .kg.store import load_graph
    from .score import complexity, dedup, solver_pass_rates, support

    s, root = settings(cfg)
    gp = _graph_path(s)
    qp = s["out_dir"] / "qa" / "records.jsonl"
    if not qp.is_file():
        raise FileNotFoundError(f"{qp} does not exist: run the qa stage first")
    sc = s["score"]
    diff = sc["difficulty"]
    solver_id = None
    if diff["solver"] is not None:
        solver_id = [root.get("model"), (root.get("generation") or {}).get("backend"), s["attn_implementation"]] \
            if diff["solver"] == "default" else diff["solver"]
    d = s["out_dir"] / "score"
    key = _hash(gp, qp, sc, solver_id, s["seed"])
    if _fresh(d, key, ["records.jsonl"]):
        log.info("score: up to date (%s)", d)
        return d / "records.jsonl"
    kg = load_graph(gp)
    records = list(read_jsonl(qp))
    counts: dict[str, Any] = {"input": len(records)}
    quality = {r["id"]: {"support": support(kg, r), "complexity": complexity(r)} for r in records}
    records = [r for r in records if quality[r["id"]]["support"]["support"] >= sc["min_support"]
               and (quality[r["id"]]["support"]["verified"] or not sc["require_verified"])]
    counts["after_support"] = len(records)
    records = sorted(records, key=lambda r: r["id"])
    records, dropped = dedup(records, sc["dedup_threshold"], sc["num_perm"], s["seed"])
    if sc["embed_dedup_threshold"] is not None:
        from .score.diversity import dedup_embeddings

        records, more = dedup_embeddings(records, sc["embed_dedup_threshold"])
        dropped.update(more)
    counts["near_duplicates_removed"] = len(dropped)
    calls = hits = 0
    if diff["solver"] is not None:
        own = backend is None
        backend = backend or _backend(root, s)
        with _progress(s["progress"]) as bar:
            job = bar.add_task("score (solver)", total=len(records))
            rates = solver_pass_rates(records, backend, diff["k"], diff["max_new_tokens"], diff["temperature"],
                                      diff["batch_size"], s["seed"], on_batch=lambda n: bar.advance(job, n),
                                      max_prompt_tokens=diff["max_prompt_tokens"], overlong=diff["overlong"],
                                      max_batch_tokens=diff["max_batch_tokens"])
        calls, hits = getattr(backend, "calls", 0), getattr(backend, "hits", 0)
        if own:
            backend.close()
        for r, rate in zip(records, rates):
            quality[r["id"]]["difficulty"] = {**rate, "solver": backend.describe()}
    for r in records:
        q = quality[r["id"]]
        q["diversity"] = {"threshold": sc["dedup_threshold"], "near_duplicates_removed": sum(1 for v in dropped.values()
                                                                                              if v == r["id"])}
        r["quality"] = json.dumps(q, sort_keys=True)
    jd = sc["judge"]
    if jd["votes"]:
        from .score.judge import judge_support

        jb = _backend(root, s)
        verdicts = judge_support(records, [jb], jd["votes"], jd["max_new_tokens"], jd["temperature"], jd["batch_size"],
                                 s["seed"])
        calls, hits = calls + jb.calls, hits + jb.hits
        jb.close()
        for r, v in zip(records, verdicts):
            q = json.loads(r["quality"])
            q["support"]["judges"] = v
            r["quality"] = json.dumps(q, sort_keys=True)
        if jd["require_majority"]:
            records = [r for r, v in zip(records, verdicts) if v["majority"]]
    lo, hi = diff["min_pass_rate"], diff["max_pass_rate"]
    if lo is not None or hi is not None:
        def keep(r):
            p = json.loads(r["quality"]).get("difficulty", {}).get("pass_rate")
            return p is None or ((lo is None or p >= lo) and (hi is None or p <= hi))
        records = [r for r in records if keep(r)]
    counts["output"] = len(records)
    atomic_write_text(d / "records.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    _done(d, key, {"counts": counts, "model_calls": calls, "cache_hits": hits})
    return d / "records.jsonl"


def run_export(cfg) -> Path:
    from .export import export_dataset
    from .report import write_report
    from .stats import write_stats

    s, _ = settings(cfg)
    sp = s["out_dir"] / "score" / "records.jsonl"
    if not sp.is_file():
        raise FileNotFoundError(f"{sp} does not exist: run the score stage first")
    d = s["out_dir"] / "dataset"
    key = _hash(sp, s["export"], s["seed"])
    if _fresh(d, key, ["hf", "stats.json"]) and (s["out_dir"] / "report.json").is_file():
        log.info("export: up to date (%s)", d)
        return d / "hf"
    records = list(read_jsonl(sp))
    info = export_dataset(records, d, tuple(s["export"]["fractions"]), s["seed"])
    st = write_stats(records, info["documents"], d)
    _print_summary(st, d)
    write_report(s["out_dir"])
    _done(d, key, {"splits": info["splits"]})
    return d / "hf"


def _print_summary(st: dict, d: Path) -> None:
    from rich.console import Console

    con = Console()
    con.print(f"[bold]dataset[/] {d}: {st['records']} records, image-grounded {st['image_grounded_share']:.1%}, "
              f"splits {st.get('split')}")
    con.print(f"task types {st['task_type']}")
    con.print(f"domains {st['domain']}")


def run_from_graph(cfg) -> Path:
    run_sample(cfg)
    run_qa(cfg)
    run_score(cfg)
    return run_export(cfg)


def run_synth(cfg) -> Path:
    """ingest -> kg -> sample -> qa -> score -> export; returns the dataset directory (OUT/dataset/hf)."""
    from .kg import build_kg

    s, _ = settings(cfg)
    build_kg(cfg, progress=s["progress"])
    return run_from_graph(cfg)
