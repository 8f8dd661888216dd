"""`python -m mmreason.eval.diagnostics [overrides]`: Hydra entry over conf/diagnostics.yaml."""

from __future__ import annotations

import json
import logging

import hydra
from omegaconf import DictConfig

from mmreason.core.config import conf_dir, validate

from .. import config as _config  # noqa: F401  (registers diagnostics_schema)

CONF_DIR = str(conf_dir())  # the repo's conf/, or env MMREASON_CONF_DIR


@hydra.main(config_path=CONF_DIR, config_name="diagnostics", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from .run import run_diagnostics

    validate(cfg)
    s = run_diagnostics(cfg)
    keys = (
        "n",
        "mean_image_share",
        "mean_question_share",
        "mean_generated_share",
        "late_early_ratio_mean",
        "mean_rho",
    )
    brief = {g: {k: s["aggregate"][g][k] for k in keys} for g in ("all", "correct", "incorrect")}
    logging.getLogger(__name__).info(
        "diagnostics → %s\n%s", cfg.diagnostics.out_dir, json.dumps(brief, indent=2)
    )


if __name__ == "__main__":
    main()
