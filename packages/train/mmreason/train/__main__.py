"""`python -m mmreason.train algorithm=vgpo|grpo|dapo|sft [key=value ...]` (Hydra; multirun with -m).

Composes conf/train.yaml against the `train_schema` (config.py), validates it into a TrainConfig
(every choice checked against its registry, before any model is built) and runs `trainer.train`.
Outputs (checkpoints, metrics.jsonl, the composed config) go to `trainer.out_dir`, by default Hydra's
run directory (outputs/<date>/<time>, or multirun/<date>/<time>/<job> with -m).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from mmreason.core.config import conf_dir

from .config import load_config  # registers train_schema


@hydra.main(config_path=str(conf_dir()), config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    tc = load_config(cfg)
    from .trainer import train

    result = train(tc)
    final = result.get("final", {})
    return final.get("eval/accuracy", final.get("reward/mean"))  # a sweeper's objective


if __name__ == "__main__":
    main()
