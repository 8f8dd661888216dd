"""Hydra entry: `python -m mmreason.synth stage=kg synth.input_dir=DIR synth.out_dir=OUT`.

Config: conf/synth.yaml (+ conf/synth/default.yaml, conf/model, conf/generation), typed by
`synth_schema` (config.py: every key, its default and meaning). The conf directory is `<repo>/conf`, or
$MMREASON_CONF_DIR. Stages are looked up in `STAGES` (name -> callable(cfg)):
kg (kg/build.py); sample, generate, score, export (run.py); qa = sample..export from an existing graph;
all = kg..export. `stage` may also be a list, run in order.
"""

from __future__ import annotations

from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from mmreason.core.config import conf_dir, validate

from . import config as _config  # noqa: F401  (registers synth_schema; config.STAGES names the keys below)
from . import run as _run

CONF_DIR = str(conf_dir())  # the repo's conf/, or env MMREASON_CONF_DIR


def run_kg(cfg: DictConfig):
    from .kg import build_kg

    return build_kg(cfg)


STAGES: dict[str, Callable[[DictConfig], object]] = {
    "kg": run_kg, "sample": _run.run_sample, "generate": _run.run_qa, "score": _run.run_score,
    "export": _run.run_export, "qa": _run.run_from_graph, "all": _run.run_synth,
}


def run_stage(cfg: DictConfig):
    stages = cfg.stage if isinstance(cfg.stage, str) else list(cfg.stage)
    out = None
    for name in [stages] if isinstance(stages, str) else stages:
        if name not in STAGES:
            raise SystemExit(f"stage={name!r}: unknown stage; choose one of {sorted(STAGES)}")
        out = STAGES[name](cfg)
    return out


@hydra.main(config_path=CONF_DIR, config_name="synth", version_base="1.3")
def main(cfg: DictConfig) -> None:
    validate(cfg)  # every choice checked before a stage starts
    run_stage(cfg)


if __name__ == "__main__":
    main()
