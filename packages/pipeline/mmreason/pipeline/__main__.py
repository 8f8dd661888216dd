"""`python -m mmreason.pipeline [out_dir=...] [stages=[synth,sft]] ["overrides.rl=['algorithm=grpo','trainer.steps=2']"]`.

Composes each stage's own entry config (synth.yaml, train.yaml, eval.yaml) with the overrides listed in
conf/pipeline.yaml and runs the stages in order. `<out_dir>/pipeline.json` records each finished stage
(written atomically); a rerun skips finished stages and the interrupted one resumes from its own state
(synth stage outputs, trainer checkpoints with resume=auto, the eval prediction cache). The eval stage
asks the base, SFT and RL models with the prompt the checkpoints were trained on (the last training
stage's data.prompt_template and data.system), unless overrides.eval sets them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import hydra
from hydra import compose
from omegaconf import DictConfig, open_dict

from mmreason.core.config import conf_dir
from mmreason.core.io import atomic_write_json, atomic_write_text, read_json

log = logging.getLogger("mmreason.pipeline")
STAGES = ("synth", "sft", "rl", "eval")


def run_synth_stage(cfg: DictConfig, out: Path, state: dict) -> dict:
    from mmreason.synth.run import run_synth

    c = compose("synth", [*cfg.overrides.synth, f"synth.out_dir={out / 'synth'}"])
    dataset = run_synth(c)
    return {"dataset": str(Path(dataset).resolve())}


def _train(cfg: DictConfig, out: Path, state: dict, name: str, init_model: str | None) -> dict:
    from mmreason.train.checkpoint import list_checkpoints
    from mmreason.train.config import load_config
    from mmreason.train.trainer import train

    ds = _need(state, "synth", "dataset")
    over = ["data=path", f"data.path={ds}", "data.split=train", f"data.eval_path={ds}",
            f"trainer.out_dir={out / name}", "trainer.resume=auto"]
    if init_model:
        over.append(f"model.path={init_model}")
    result = train(load_config(compose("train", [*over, *cfg.overrides[name]])))
    ckpts = list_checkpoints(out / name)
    if not ckpts:
        raise RuntimeError(f"pipeline stage {name!r}: the trainer wrote no checkpoint under {out / name}")
    final = {k: v for k, v in (result.get("final") or {}).items() if isinstance(v, (int, float))}
    return {"model": str(ckpts[-1][1] / "model"), "final": final}


def run_sft_stage(cfg, out, state):
    return _train(cfg, out, state, "sft", None)


def run_rl_stage(cfg, out, state):
    return _train(cfg, out, state, "rl", state.get("sft", {}).get("model"))


def _train_prompt(cfg: DictConfig, state: dict) -> tuple[str, str | None, bool]:
    """(data.prompt_template, data.system, reward.lenient) of the last training stage (rl if it ran, else sft)."""
    name = "rl" if "rl" in state else "sft"
    c = compose("train", ["data=path", *cfg.overrides[name]])
    return c.data.prompt_template, c.data.get("system"), bool(c.reward.get("lenient", False))


def run_eval_stage(cfg: DictConfig, out: Path, state: dict) -> dict:
    from mmreason.core.generation import make_backend
    from mmreason.eval.report import compare_markdown
    from mmreason.eval.runner import run_eval

    ds = _need(state, "synth", "dataset")
    models = {"base": None, "sft": state.get("sft", {}).get("model"), "rl": state.get("rl", {}).get("model")}
    template, system, lenient = _train_prompt(cfg, state)  # asked and graded the way the checkpoints were trained
    runs, scores = [], {}
    for label, path in models.items():
        if label != "base" and path is None:
            continue
        over = ["eval.benchmarks=[synth]", f"eval.data.synth={ds}", f"eval.run_name={label}",
                f"eval.out_dir={out / 'eval' / label}", f"eval.cache_dir={out / 'eval' / 'cache'}"]
        if path:
            over.append(f"model.path={path}")
        c = compose("eval", [*over, *cfg.overrides.eval])
        with open_dict(c.eval):  # unless overrides.eval sets them
            synth_args = dict(c.eval.benchmark_args.get("synth") or {})
            c.eval.benchmark_args.synth = {"template": template, "lenient": lenient, **synth_args}
            if c.eval.system_prompt is None:
                c.eval.system_prompt = system
        backend = make_backend(c.generation, c.model)
        try:
            res = run_eval(c, backend)
        finally:
            backend.close()
        runs.append((label, res))
        scores[label] = res["benchmarks"]["synth"]["overall"]
    table = compare_markdown(runs)
    atomic_write_text(out / "eval" / "compare.md", table)
    print(table)
    return {"synth_accuracy": scores, "compare": str(out / "eval" / "compare.md")}


RUNNERS = {"synth": run_synth_stage, "sft": run_sft_stage, "rl": run_rl_stage, "eval": run_eval_stage}


def _need(state: dict, stage: str, key: str):
    if key not in state.get(stage, {}):
        raise RuntimeError(f"pipeline: this stage needs the {stage!r} stage's {key}; run it first (stages=[{stage},...])")
    return state[stage][key]


def run_pipeline(cfg: DictConfig) -> dict:
    out = Path(cfg.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "pipeline.json"
    state = read_json(state_path) if state_path.exists() else {}
    for stage in cfg.stages:
        if stage not in RUNNERS:
            raise ValueError(f"pipeline.stages: unknown stage {stage!r} (stages: {list(STAGES)})")
        if stage in state:
            log.info("pipeline: %s already done (%s), skipped", stage, state_path)
            continue
        log.info("pipeline: running %s", stage)
        state[stage] = RUNNERS[stage](cfg, out, state)
        atomic_write_json(state_path, state)
    print(json.dumps(state, indent=2))
    return state


@hydra.main(config_path=str(conf_dir()), config_name="pipeline", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_pipeline(cfg)


if __name__ == "__main__":
    main()
