"""wandb for a pipeline run (`logger=wandb`): every stage is a wandb run in one group, the run's id (run.json).

- sft, rl: the trainer logs live (`train.logging_utils.RunLogger`) with `logger.group` / `logger.job_type` set
  here (`train_logger_overrides`).
- synth, eval, diagnostics: one run each when the stage finishes, with its summary numbers (dataset and KG counts,
  accuracies, attention ratios) and the diagnostics plots.
- report: the report's plots as images and the page itself (`wandb.Html`).

Mode: `logger.mode` (offline by default), `WANDB_MODE` in the environment wins; files go to `WANDB_DIR` if set,
else `<out_dir>/wandb`. Nothing is imported or logged unless `logger.wandb` is true.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmreason.core.io import read_json


def group_name(info: dict) -> str:
    return f"pipeline-{info['id']}"


def train_logger_overrides(cfg, out: Path, stage: str) -> list[str]:
    """The train stage's `logger.*` overrides that put its run in the pipeline's group (none without wandb)."""
    lc = cfg.logger
    if not lc.wandb:
        return []
    info = read_json(out / "run.json") if (out / "run.json").exists() else {"id": "unset"}  # run_pipeline writes it first
    return ["logger.wandb=true", f"logger.project={lc.project}", f"logger.mode={lc.mode}",
            f"logger.group={group_name(info)}", f"logger.job_type={stage}", f"logger.run_name={stage}"]


def _init(cfg, out: Path, info: dict, stage: str, config: dict | None = None):
    import wandb

    lc = cfg.logger
    return wandb.init(project=lc.project, group=group_name(info), job_type=stage, name=stage,
                      mode=os.environ.get("WANDB_MODE") or lc.mode, dir=os.environ.get("WANDB_DIR") or str(out),
                      config=config, reinit="create_new")


def _flat(prefix: str, obj, out: dict) -> dict:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flat(f"{prefix}/{k}" if prefix else str(k), v, out)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[prefix] = obj
    return out


def stage_summary(out: Path, stage: str, record: dict) -> tuple[dict, list[Path]]:
    """(numbers, image files) a finished non-training stage logs."""
    if stage == "synth":
        numbers = {}
        for name in ("kg/stats.json", "dataset/stats.json"):
            p = out / "synth" / name
            if p.exists():
                _flat(name.split("/")[0], read_json(p), numbers)
        return numbers, []
    if stage == "diagnostics":
        images = sorted((out / "diagnostics").glob("*/*.png"))
        return _flat("late_early_ratio", record.get("late_early_ratio", {}), {}), images
    return _flat("", {k: v for k, v in record.items() if k not in ("config_hash", "inputs_hash")}, {}), []


def log_stage(cfg, out: Path, info: dict, stage: str, state: dict) -> None:
    """Log a finished synth / eval / diagnostics stage as its own run of the group (train stages log themselves)."""
    if not cfg.logger.wandb or stage in ("sft", "rl"):
        return
    import wandb

    numbers, images = stage_summary(out, stage, state[stage])
    run = _init(cfg, out, info, stage)
    try:
        run.log({**numbers, **{f"plots/{p.parent.name}/{p.stem}": wandb.Image(str(p)) for p in images}})
        run.summary.update(numbers)
    finally:
        run.finish()


def log_report(cfg, out: Path, info: dict, paths: dict[str, str]) -> None:
    """The report's plots (report_files/*.png) and report.html as the group's `report` run."""
    if not cfg.logger.wandb:
        return
    import wandb

    run = _init(cfg, out, info, "report")
    try:
        plots = {f"report/{p.stem}": wandb.Image(str(p)) for p in sorted(Path(paths["files"]).glob("*.png"))
                 if not p.name.startswith("q_")}
        run.log({**plots, "report/html": wandb.Html(Path(paths["html"]).read_text())})
    finally:
        run.finish()
