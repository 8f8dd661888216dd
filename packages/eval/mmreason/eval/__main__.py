"""Hydra entry: `python -m mmreason.eval model.path=… eval.benchmarks=[mathvista,wemath]`.

Config: conf/eval.yaml (+ conf/model, conf/generation), typed by `eval_schema` (config.py; benchmark names
and every other choice are checked before a model is built). `eval.rescore=true` re-scores the cached
predictions of `eval.run_name` without building a model. The conf directory is `<repo>/conf`, or
$MMREASON_CONF_DIR.
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

from mmreason.core.config import conf_dir, validate

from . import config as _config  # noqa: F401  (registers eval_schema)

CONF_DIR = str(conf_dir())  # the repo's conf/, or env MMREASON_CONF_DIR
log = logging.getLogger("mmreason.eval")


def build_judge_backend(cfg: DictConfig):
    """The judge's GenerationBackend from `eval.judge` ({generation: {...}, model: {...}}), or None."""
    jc = cfg.eval.get("judge")
    if not jc:
        return None
    from mmreason.core.generation import make_backend

    return make_backend(jc.get("generation"), jc.get("model"))


@hydra.main(config_path=CONF_DIR, config_name="eval", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from .report import results_markdown
    from .runner import rescore, run_eval

    validate(cfg)
    if cfg.eval.get("rescore"):
        results = rescore(cfg)
    else:
        from mmreason.core.generation import make_backend

        backend = make_backend(cfg.generation, cfg.model)
        judge = build_judge_backend(cfg)
        try:
            results = run_eval(cfg, backend, judge_backend=judge)
        finally:
            backend.close()
            if judge is not None:
                judge.close()
    print(results_markdown(results))
    log.info("results in %s", cfg.eval.out_dir)


if __name__ == "__main__":
    main()
