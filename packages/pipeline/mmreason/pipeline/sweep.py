"""`python -m mmreason.pipeline.sweep [algorithm=grpo,vgpo trainer.seed=0,1,2] [stages=[rl,eval]]` (`make sweep`).

A Hydra multirun (conf/sweep.yaml sets `hydra.mode: MULTIRUN`) of the pipeline's train + eval stages. Every job
reuses one synth output: the pipeline run in `base_dir` (its synth stage, and any stage of `DEPENDS` a job does not
run, e.g. sft with `stages=[rl,eval]`), which the first job completes if needed. A job is a pipeline run in
`<sweep_dir>/<algorithm=...,seed=...>` with `algorithm` as the RL stage's preset and `trainer.seed` as the seed of
its training stages; `overrides.<stage>` are appended to conf/pipeline.yaml's. After each job the comparison over
all finished jobs is rewritten into the sweep folder:

    sweep.md / sweep.json   per setting (the job's overrides without the seed): n seeds, mean ± std (sample std
                            over seeds) of test accuracy per model (all questions, choice questions) and of the
                            RL training reward over the last quarter of steps
    sweep.png               the same, one dot per seed and mean ± std
`write_table(sweep_dir)` is a pure function of the job folders (their report.json and sweep_job.json).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import hydra
from hydra import compose
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from mmreason.core.config import conf_dir, validate
from mmreason.core.io import atomic_write_bytes, atomic_write_json, atomic_write_text, read_json

from . import config as _config  # noqa: F401  (registers pipeline_schema and sweep_schema)
from .__main__ import DEPENDS, q, run_pipeline

JOB_FILE = "sweep_job.json"
MODELS = ("sft", "rl")


def forwarded(job_overrides: list[str]) -> dict[str, list[str]]:
    """The job's own overrides that go to the training stages: `algorithm...` and `trainer...` to rl,
    `trainer.seed` to sft as well."""
    rl = [o for o in job_overrides if o.split("=", 1)[0].split(".")[0].lstrip("+~") in ("algorithm", "trainer")]
    return {"rl": rl, "sft": [o for o in rl if o.startswith("trainer.seed=")]}


def _pipeline_cfg(cfg: DictConfig, out_dir: Path, stages: list[str], job_overrides: list[str]) -> DictConfig:
    """conf/pipeline.yaml for `out_dir` running `stages`, with the sweep's `overrides.<stage>` and the job's forwarded
    overrides appended per stage (a job's `algorithm=<preset>` replaces the RL stage's)."""
    p = compose("pipeline", [f"out_dir={q(out_dir)}", f"stages=[{','.join(stages)}]"])
    fwd = forwarded(job_overrides)
    fwd["eval"] = [f"eval.cache_dir={q(Path(cfg.sweep_dir).resolve() / 'eval_cache')}"]  # base / reused SFT answered once
    for stage in p.overrides:
        items = list(p.overrides[stage]) + fwd.get(stage, []) + list(cfg.overrides[stage])
        groups = [i for i, o in enumerate(items) if o.startswith("algorithm=")]
        p.overrides[stage] = [o for i, o in enumerate(items) if i not in groups[:-1]]  # the last preset wins
    p.logger = cfg.logger
    validate(p)
    return p


def ensure_base(cfg: DictConfig, reused: list[str]) -> dict:
    """The base run's state with the `reused` stages done (running them there first if they are not)."""
    base = Path(cfg.base_dir).resolve()
    state_path = base / "pipeline.json"
    state = read_json(state_path) if state_path.exists() else {}
    if not all(state.get(s, {}).get("done") for s in reused):
        state = run_pipeline(_pipeline_cfg(cfg, base, reused, []))
    return state


def run_job(cfg: DictConfig, job_dir: Path, job_overrides: list[str]) -> dict:
    """One sweep job: the pipeline's `cfg.stages` in `job_dir`, the other stages read from the base run."""
    validate(cfg)
    reused = [s for s in DEPENDS if s not in cfg.stages and any(s in DEPENDS[t] for t in cfg.stages)]
    base = ensure_base(cfg, reused)
    job_dir.mkdir(parents=True, exist_ok=True)
    state_path = job_dir / "pipeline.json"
    state = read_json(state_path) if state_path.exists() else {}
    if any(state.get(s) != base[s] for s in reused):  # a new or changed base: take its records
        atomic_write_json(state_path, {**state, **{s: base[s] for s in reused}})
    setting = [o for o in forwarded(job_overrides)["rl"] if not o.startswith("trainer.seed=")]
    atomic_write_json(job_dir / JOB_FILE, {"overrides": job_overrides, "setting": ",".join(setting) or "default",
                                           "seed": int(cfg.trainer.seed)})
    result = run_pipeline(_pipeline_cfg(cfg, job_dir, list(cfg.stages), job_overrides))
    write_table(Path(cfg.sweep_dir))
    return result


# ---------------------------------------------------------------------------------------------- the table


def job_metrics(job_dir: Path) -> dict[str, float]:
    """The numbers a job contributes: accuracy of each model on all / choice test questions, final RL reward."""
    out: dict[str, float] = {}
    rep = read_json(job_dir / "report.json") if (job_dir / "report.json").exists() else {}
    for row in rep.get("headline", {}).get("rows", []):
        if row["group"] in ("all", "choice"):
            for m in MODELS:
                if m in row and row[m]["n"]:
                    out[f"{m} acc ({row['group']})"] = row[m]["acc"]
    metrics = job_dir / "rl" / "metrics.jsonl"
    if metrics.exists():
        from mmreason.core.io import read_jsonl

        rows = [r["reward/mean"] for r in read_jsonl(metrics) if "reward/mean" in r]
        if rows:
            k = max(1, len(rows) // 4)
            out["rl train reward (last quarter)"] = sum(rows[-k:]) / k
    return out


def collect(sweep_dir: Path) -> dict[str, list[tuple[int, dict[str, float]]]]:
    """setting -> [(seed, job_metrics)] over the finished jobs (those with a report) of the sweep folder."""
    by: dict[str, list] = defaultdict(list)
    for f in sorted(Path(sweep_dir).glob(f"*/{JOB_FILE}")):
        job = read_json(f)
        if (f.parent / "report.json").exists():
            by[job["setting"]].append((job["seed"], job_metrics(f.parent)))
    return dict(by)


def mean_std(xs: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (n - 1; None for one value)."""
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else None)


def table(jobs: dict[str, list[tuple[int, dict[str, float]]]]) -> dict:
    keys = sorted({k for runs in jobs.values() for _, m in runs for k in m})
    rows = []
    for setting, runs in sorted(jobs.items()):
        row = {"setting": setting, "seeds": sorted(s for s, _ in runs)}
        for k in keys:
            xs = [m[k] for _, m in runs if k in m]
            if xs:
                mean, std = mean_std(xs)
                row[k] = {"mean": mean, "std": std, "values": xs}
        rows.append(row)
    return {"metrics": keys, "rows": rows}


def _fmt(cell: dict | None, pct: bool) -> str:
    if not cell:
        return "–"
    f = 100.0 if pct else 1.0
    std = "–" if cell["std"] is None else f"{f * cell['std']:.{1 if pct else 3}f}"
    return f"{f * cell['mean']:.{1 if pct else 3}f} ± {std}"


def table_markdown(t: dict) -> str:
    head = ["setting", "seeds"] + [k + (" %" if "acc" in k else "") for k in t["metrics"]]
    lines = ["# Sweep", "", "Mean ± sample std over seeds (accuracy in %, on the synth test split).", "",
             "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in t["rows"]:
        cells = [r["setting"], ",".join(map(str, r["seeds"]))] + [_fmt(r.get(k), "acc" in k) for k in t["metrics"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(t: dict) -> bytes:
    from .report import _plt, _png

    plt = _plt()
    keys = t["metrics"]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(3.4 * max(1, len(keys)), 3.0), squeeze=False)
    for ax, k in zip(axes[0], keys):
        f = 100.0 if "acc" in k else 1.0
        for i, r in enumerate(t["rows"]):
            cell = r.get(k)
            if not cell:
                continue
            ax.scatter([i] * len(cell["values"]), [f * v for v in cell["values"]], s=14, color="#4c72b0", alpha=0.6,
                       label="seeds" if i == 0 else None)
            ax.errorbar([i + 0.15], [f * cell["mean"]], yerr=[f * (cell["std"] or 0.0)], fmt="o", color="black",
                        capsize=3, label="mean ± std" if i == 0 else None)
        ax.set_xticks(range(len(t["rows"])), [r["setting"] for r in t["rows"]], fontsize=7, rotation=20)
        ax.set_xlim(-0.5, len(t["rows"]) - 0.5)
        ax.set_title(k + (" (%)" if f == 100.0 else ""), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def write_table(sweep_dir: Path) -> dict:
    """sweep.md, sweep.json and sweep.png over the finished jobs of `sweep_dir`; returns the table."""
    t = table(collect(sweep_dir))
    atomic_write_json(sweep_dir / "sweep.json", t)
    atomic_write_text(sweep_dir / "sweep.md", table_markdown(t))
    if t["rows"] and t["metrics"]:
        atomic_write_bytes(sweep_dir / "sweep.png", plot(t))
    return t


@hydra.main(config_path=str(conf_dir()), config_name="sweep", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    run_job(cfg, Path(hc.runtime.output_dir).resolve(), list(hc.overrides.task))
    print(OmegaConf.to_yaml({"job": hc.runtime.output_dir, "table": str(Path(cfg.sweep_dir) / "sweep.md")}))


if __name__ == "__main__":
    main()


__all__ = ["collect", "job_metrics", "mean_std", "run_job", "table", "table_markdown", "write_table"]
