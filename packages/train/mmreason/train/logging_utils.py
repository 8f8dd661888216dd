"""Per-step metrics to the console (rich: progress bar + a line per step), a JSONL file and wandb.

    log = RunLogger(cfg.logger, out_dir, total_steps, start_step, config)
    log.log(step, {"reward/mean": 0.5, ...})
    log.close()

`metrics.jsonl` gets one line per step (`{"step": s, ...}`); on resume from step s the lines after s
(written after the last checkpoint by the killed run) are dropped first, so the file reads as one run.
wandb is imported only when `logger.wandb` is true; `WANDB_MODE` in the environment wins over
`logger.mode` (tests run with WANDB_MODE=disabled or offline), and `WANDB_DIR` over out_dir as the place of
wandb's files.
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

from mmreason.core.io import JsonlAppender, atomic_write_text, read_jsonl

from .config import LoggerConfig

# the columns of the console line, in order (a metric that a step lacks is left out)
CONSOLE_KEYS = (
    ("reward/mean", "reward"),
    ("accuracy/mean", "acc"),
    ("eval/accuracy", "eval_acc"),
    ("response/length_mean", "len"),
    ("actor/clipfrac", "clip"),
    ("actor/approx_kl", "kl"),
    ("actor/grad_norm", "gnorm"),
    ("sft/loss", "loss"),
    ("vgpo/alpha_mean", "alpha"),
    ("time/step", "s/step"),
)


class Timer:
    """Accumulates wall time per phase: `with timer("generate"): ...`; `timer.pop()` -> {"time/x": s}."""

    def __init__(self):
        self.t: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.t[name] = self.t.get(name, 0.0) + time.perf_counter() - t0

    def pop(self) -> dict[str, float]:
        out = {f"time/{k}": v for k, v in self.t.items()}
        self.t = {}
        return out


def truncate_metrics(path: Path, last_step: int) -> None:
    """Keep only the lines with step <= last_step (atomic rewrite)."""
    if not path.exists():
        return
    import json

    rows = [r for r in read_jsonl(path) if int(r.get("step", 0)) <= last_step]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


class RunLogger:
    def __init__(self, cfg: LoggerConfig, out_dir: str | Path, total_steps: int, start_step: int = 0, config: dict | None = None):
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.jsonl = None
        if cfg.jsonl:
            path = self.out_dir / "metrics.jsonl"
            truncate_metrics(path, start_step)
            self.jsonl = JsonlAppender(path)
        self.wandb = None
        if cfg.wandb:
            self.wandb = _init_wandb(cfg, self.out_dir, config)
        self.progress = None
        self.console = None
        if cfg.console:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.console = Console(stderr=True)
            self.progress = Progress(
                TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=self.console, transient=True,
            )
            self.task = self.progress.add_task("train", total=total_steps, completed=start_step)
            self.progress.start()

    def log(self, step: int, metrics: dict[str, float]) -> None:
        metrics = {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in metrics.items()}
        if self.jsonl:
            self.jsonl.write({"step": step, **metrics})
        if self.wandb:
            self.wandb.log(metrics, step=step)
        if self.progress:
            self.progress.update(self.task, completed=step)
            if step % max(1, self.cfg.log_every) == 0:
                cols = [f"{short} {metrics[k]:.3g}" for k, short in CONSOLE_KEYS if k in metrics]
                self.console.print(f"step {step:>5d} | " + " | ".join(cols))

    def message(self, text: str) -> None:
        if self.console:
            self.console.print(text)

    def close(self) -> None:
        if self.progress:
            self.progress.stop()
        if self.jsonl:
            self.jsonl.close()
        if self.wandb:
            self.wandb.finish()


class NullLogger:
    """What ranks other than 0 log with: nothing."""

    def log(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _init_wandb(cfg: LoggerConfig, out_dir: Path, config: dict | None):
    try:
        import wandb
    except ImportError as e:  # pragma: no cover - wandb is a core dependency
        raise ImportError("logger.wandb=true needs the wandb package (pip install wandb)") from e
    mode = os.environ.get("WANDB_MODE") or cfg.mode
    id_file = out_dir / "wandb_id.txt"  # one wandb run across resumes
    run_id = id_file.read_text().strip() if id_file.exists() else secrets.token_hex(4)
    out_dir.mkdir(parents=True, exist_ok=True)
    id_file.write_text(run_id)
    return wandb.init(
        project=cfg.project, name=cfg.run_name, dir=os.environ.get("WANDB_DIR") or str(out_dir), mode=mode,
        config=config, id=run_id, resume="allow", group=cfg.group, job_type=cfg.job_type,
    )
