"""Statistics of a synthesized dataset: counts per task type, domain and split; score histograms (PNG)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from mmreason.core.io import atomic_path, atomic_write_json


def summarize(records: list[dict], splits: dict[str, str] | None = None) -> dict:
    """Counts and score summaries; `splits` maps doc id -> split."""
    q = [json.loads(r["quality"]) if r.get("quality") else {} for r in records]
    prov = [json.loads(r["provenance"]) for r in records]
    out = {"records": len(records),
           "task_type": dict(sorted(Counter(r["task_type"] for r in records).items())),
           "domain": dict(sorted(Counter(r["domain"] for r in records).items())),
           "answer_type": dict(sorted(Counter(r["answer_type"] for r in records).items())),
           "generator": dict(sorted(Counter(p["generator"] for p in prov).items())),
           "image_grounded": sum(1 for p in prov if p.get("image_grounded")),
           "documents": len({p["doc_ids"][0] for p in prov if p["doc_ids"]})}
    out["image_grounded_share"] = round(out["image_grounded"] / max(1, len(records)), 4)
    if splits:
        out["split"] = dict(sorted(Counter(splits.get(p["doc_ids"][0] if p["doc_ids"] else "", "?") for p in prov).items()))
    diffs = [x["difficulty"] for x in q if isinstance(x.get("difficulty"), dict)]
    rates = [d["pass_rate"] for d in diffs if d.get("pass_rate") is not None]
    if rates:
        out["pass_rate_mean"] = round(sum(rates) / len(rates), 4)
    if any("skipped" in d for d in diffs):
        out["solver_skipped"] = sum(1 for d in diffs if "skipped" in d)
    return out


def plot_histograms(records: list[dict], out_dir: Path) -> list[str]:
    """PNG histograms of pass rate, support, complexity level and hops."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    q = [json.loads(r["quality"]) for r in records if r.get("quality")]
    series = {"difficulty_pass_rate": [x["difficulty"]["pass_rate"] for x in q if isinstance(x.get("difficulty"), dict)
                                       and x["difficulty"].get("pass_rate") is not None],
              "support": [x["support"]["support"] for x in q if "support" in x],
              "complexity_level": [x["complexity"]["level"] for x in q if "complexity" in x],
              "hops": [x["complexity"]["hops"] for x in q if "complexity" in x]}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, vals in series.items():
        if not vals:
            continue
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.hist(vals, bins=min(20, max(1, len(set(vals)))))
        ax.set_title(name)
        ax.set_ylabel("records")
        fig.tight_layout()
        with atomic_path(out_dir / f"{name}.png") as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        written.append(str(out_dir / f"{name}.png"))
    return written


def write_stats(records: list[dict], splits: dict[str, str], out_dir: Path) -> dict:
    s = summarize(records, splits)
    s["plots"] = plot_histograms(records, out_dir / "plots")
    atomic_write_json(out_dir / "stats.json", s)
    return s
