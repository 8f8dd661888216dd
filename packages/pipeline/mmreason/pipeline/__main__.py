"""`python -m mmreason.pipeline [out_dir=...] [stages=[synth,sft]] ["overrides.rl=['algorithm=grpo','trainer.steps=2']"]`.

Composes each stage's own entry config (synth.yaml, train.yaml, eval.yaml, diagnostics.yaml) with the overrides listed in
conf/pipeline.yaml — all of them first, so a typo in any stage's overrides fails before anything runs —
and runs the stages in order. `<out_dir>/pipeline.json` holds one record per stage: its outputs, the hash
of its composed config(s) and the hash of the records of the stages it reads (DEPENDS), written
atomically when the stage starts (`done: false`) and when it ends. On a rerun a stage is
- skipped when it is done and both hashes match,
- resumed from its own state (trainer checkpoints with resume=auto, the eval prediction cache, synth's
  per-stage hashes) when it was interrupted with the same hashes,
- rerun from scratch when a hash changed: its directory is cleared (sft, rl, eval; synth's own stages
  check their inputs), and its new record changes the inputs hash of every stage after it, so they rerun too.
The eval stage asks the base, SFT and RL models with the prompt the checkpoints were trained on (the last
training stage's data.prompt_template and data.system) and grades them as its reward did (reward.lenient
-> eval.benchmark_args.synth.lenient), unless overrides.eval sets them; the diagnostics stage traces the same
models' visual attention on the image questions of the test split with that prompt.

Each stage's record also holds its wall time and peak memory (`resources`); its composed config(s) are written
to `<out_dir>/configs/<stage>.yaml`, the pipeline's own to `configs/pipeline.yaml`, the package versions to
`environment.json`. At the end `report.html` / `report.md` are written from the run folder alone
(report.py). With `logger=wandb` every stage logs to the wandb group named in `<out_dir>/run.json`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra import compose
from omegaconf import DictConfig, OmegaConf, open_dict

import mmreason.eval.config  # noqa: F401  (registers eval_schema)
import mmreason.synth.config  # noqa: F401  (registers synth_schema)
import mmreason.train.config  # noqa: F401  (registers train_schema)
from mmreason.core.config import conf_dir, validate
from mmreason.core.io import atomic_write_json, atomic_write_text, read_json

from . import config as _config  # noqa: F401  (registers pipeline_schema)
from . import tracking
from .resources import StageMeter, environment

log = logging.getLogger("mmreason.pipeline")
DEPENDS = {"synth": (), "sft": ("synth",), "rl": ("synth", "sft"), "eval": ("synth", "sft", "rl"),
           "diagnostics": ("synth", "sft", "rl")}
FRESH_START = ("sft", "rl", "eval", "diagnostics")  # stages whose directory is cleared when their config or inputs changed
UNHASHED = ("logger",)  # config sections that do not change a stage's results (a logger switch reruns nothing)
PLACEHOLDERS = {"synth": {"dataset": "synth-dataset"}, "sft": {"model": "sft-model"}, "rl": {"model": "rl-model"}}


def q(value) -> str:
    """A value (a path) as a quoted Hydra override value, so '=', ',' or spaces in it are not grammar. Hydra's
    rule: inside quotes only backslashes right before a quote (or the closing quote) are escapes."""
    text = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", str(value))
    return "'" + re.sub(r"(\\+)$", lambda m: m.group(1) * 2, text) + "'"


def _compose(name: str, overrides: list[str]) -> DictConfig:
    c = compose(name, overrides)
    validate(c)
    return c


# ---------------------------------------------------------------------------------------------- stage configs


def synth_configs(cfg: DictConfig, out: Path, state: dict) -> dict[str, DictConfig]:
    return {"synth": _compose("synth", [*cfg.overrides.synth, f"synth.out_dir={q(out / 'synth')}"])}


def _train_config(cfg: DictConfig, out: Path, state: dict, name: str) -> dict[str, DictConfig]:
    ds = _need(state, "synth", "dataset")
    over = ["data=path", f"data.path={q(ds)}", "data.split=train", f"data.eval_path={q(ds)}",
            f"trainer.out_dir={q(out / name)}", "trainer.resume=auto"]
    init_model = state.get("sft", {}).get("model") if name == "rl" else None
    if init_model:
        over.append(f"model.path={q(init_model)}")
    return {name: _compose("train", [*over, *cfg.overrides[name], *tracking.train_logger_overrides(cfg, out, name)])}


def _train_prompt(cfg: DictConfig, state: dict) -> tuple[str, str | None, bool]:
    """(data.prompt_template, data.system, reward.lenient) of the last training stage (rl if it ran, else sft)."""
    name = "rl" if "rl" in state else "sft"
    c = _compose("train", ["data=path", "data.path=-", *cfg.overrides[name]])
    return c.data.prompt_template, c.data.get("system"), bool(c.reward.lenient)


def _models(state: dict) -> dict[str, str | None]:
    """label -> checkpoint of the models to evaluate: base (the configured model), then SFT and RL if they ran."""
    models = {"base": None, "sft": state.get("sft", {}).get("model"), "rl": state.get("rl", {}).get("model")}
    return {label: path for label, path in models.items() if label == "base" or path is not None}


def eval_configs(cfg: DictConfig, out: Path, state: dict) -> dict[str, DictConfig]:
    """One eval config per model: base, and the SFT and RL checkpoints the state records."""
    ds = _need(state, "synth", "dataset")
    template, system, lenient = _train_prompt(cfg, state)  # asked and graded the way the checkpoints were trained
    configs = {}
    for label, path in _models(state).items():
        over = ["eval.benchmarks=[synth]", f"eval.data.synth={q(ds)}", f"eval.run_name={label}",
                f"eval.out_dir={q(out / 'eval' / label)}", f"eval.cache_dir={q(out / 'eval' / 'cache')}"]
        if path:
            over.append(f"model.path={q(path)}")
        c = _compose("eval", [*over, *cfg.overrides.eval])
        with open_dict(c.eval):  # unless overrides.eval sets them
            synth_args = dict(c.eval.benchmark_args.get("synth") or {})
            c.eval.benchmark_args.synth = {"template": template, "lenient": lenient, **synth_args}
            if c.eval.system_prompt is None:
                c.eval.system_prompt = system
        configs[label] = c
    return configs


def diagnostics_configs(cfg: DictConfig, out: Path, state: dict) -> dict[str, DictConfig]:
    """One diagnostics config per model (as eval): the image questions of the synth test split, asked with the
    training prompt (data.prompt_template, data.system) unless overrides.diagnostics sets them."""
    ds = _need(state, "synth", "dataset")
    template, system, _ = _train_prompt(cfg, state)
    own = {o.split("=", 1)[0] for o in cfg.overrides.diagnostics}
    configs = {}
    for label, path in _models(state).items():
        over = [f"diagnostics.data={q(ds)}", "diagnostics.split=test", "diagnostics.images_only=true",
                f"diagnostics.out_dir={q(out / 'diagnostics' / label)}"]
        if path:
            over.append(f"model.path={q(path)}")
        c = _compose("diagnostics", [*over, *cfg.overrides.diagnostics])
        if "diagnostics.template" not in own:
            c.diagnostics.template = template
        if "diagnostics.system" not in own:
            c.diagnostics.system = system
        validate(c)
        configs[label] = c
    return configs


CONFIGS: dict[str, Callable[[DictConfig, Path, dict], dict[str, DictConfig]]] = {
    "synth": synth_configs,
    "sft": lambda cfg, out, state: _train_config(cfg, out, state, "sft"),
    "rl": lambda cfg, out, state: _train_config(cfg, out, state, "rl"),
    "eval": eval_configs,
    "diagnostics": diagnostics_configs,
}


# ---------------------------------------------------------------------------------------------- stage runs


def run_synth_stage(configs: dict[str, DictConfig], out: Path) -> dict:
    from mmreason.synth.run import run_synth

    return {"dataset": str(Path(run_synth(configs["synth"])).resolve())}


def run_train_stage(configs: dict[str, DictConfig], out: Path) -> dict:
    from mmreason.train.checkpoint import list_checkpoints
    from mmreason.train.config import load_config
    from mmreason.train.trainer import train

    (name, c), = configs.items()
    result = train(load_config(c))
    ckpts = list_checkpoints(out / name)
    if not ckpts:
        raise RuntimeError(f"pipeline stage {name!r}: the trainer wrote no checkpoint under {out / name}")
    final = {k: v for k, v in (result.get("final") or {}).items() if isinstance(v, (int, float))}
    return {"model": str(ckpts[-1][1] / "model"), "final": final}


def run_eval_stage(configs: dict[str, DictConfig], out: Path) -> dict:
    from mmreason.core.generation import make_backend
    from mmreason.eval.report import compare_markdown
    from mmreason.eval.runner import run_eval

    runs, scores = [], {}
    for label, c in configs.items():
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


def run_diagnostics_stage(configs: dict[str, DictConfig], out: Path) -> dict:
    from mmreason.eval.diagnostics.run import run_diagnostics

    ratios = {}
    for label, c in configs.items():
        agg = run_diagnostics(c)["aggregate"]
        ratios[label] = {g: agg[g]["late_early_ratio_mean"] for g in ("correct", "incorrect")}
    return {"late_early_ratio": ratios}


RUNNERS = {"synth": run_synth_stage, "sft": run_train_stage, "rl": run_train_stage, "eval": run_eval_stage,
           "diagnostics": run_diagnostics_stage}


def _need(state: dict, stage: str, key: str):
    if key not in state.get(stage, {}):
        raise RuntimeError(f"pipeline: this stage needs the {stage!r} stage's {key}; run it first (stages=[{stage},...])")
    return state[stage][key]


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _inputs(stage: str, state: dict) -> dict:
    """The records of the stages `stage` reads, without what a rerun may change and results do not depend on
    (their wall time and memory)."""
    return {d: {k: v for k, v in state[d].items() if k != "resources"} if d in state else None for d in DEPENDS[stage]}


def stage_key(stage: str, configs: dict[str, DictConfig], state: dict) -> dict[str, str]:
    """The hashes a stage's record is checked against: its composed config(s) (UNHASHED sections left out), and
    its inputs' records."""
    composed = {label: {k: v for k, v in OmegaConf.to_container(c, resolve=True).items() if k not in UNHASHED}
                for label, c in configs.items()}
    return {"config_hash": _hash(composed), "inputs_hash": _hash(_inputs(stage, state))}


class StageConfigs:
    """Composes a stage's config(s) once per (stage, records of the stages it reads)."""

    def __init__(self, cfg: DictConfig, out: Path):
        self.cfg, self.out, self.seen = cfg, out, {}

    def __call__(self, stage: str, state: dict) -> dict[str, DictConfig]:
        key = (stage, _hash(_inputs(stage, state)))
        if key not in self.seen:
            self.seen[key] = CONFIGS[stage](self.cfg, self.out, state)
        return self.seen[key]


def check_stages(stage_configs: StageConfigs, stages, state: dict) -> None:
    """Compose every selected stage's config now (inputs not made yet stand in as placeholders), so a bad
    override fails before the first stage runs, naming the stage."""
    stand_in = {**PLACEHOLDERS, **state}
    for stage in stages:
        try:
            stage_configs(stage, stand_in)
        except Exception as e:
            cause = f" ({e.__cause__})" if e.__cause__ else ""
            raise ValueError(f"pipeline: overrides.{stage}: {e}{cause}") from e


def run_info(out: Path) -> dict:
    """`<out>/run.json`: the run's id (the wandb group of its stages), created once per out_dir."""
    path = out / "run.json"
    if path.exists():
        return read_json(path)
    info = {"id": secrets.token_hex(4), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_write_json(path, info)
    return info


def save_configs(out: Path, stage: str, configs: dict[str, DictConfig]) -> None:
    """The exact composed config(s) of a stage, resolved, to `<out>/configs/<stage>.yaml` (one document per model)."""
    docs = [f"# {stage}: {label}\n" + OmegaConf.to_yaml(c, resolve=True) for label, c in configs.items()]
    atomic_write_text(out / "configs" / f"{stage}.yaml", "---\n".join(docs))


def run_pipeline(cfg: DictConfig) -> dict:
    """Run the selected stages (skipping those done with the same hashes), then write the report; returns the state.
    Callable from code (`run_pipeline(mmreason.core.config.compose("pipeline", [...]))`) as well as from Hydra."""
    from hydra.core.global_hydra import GlobalHydra

    if not GlobalHydra.instance().is_initialized():  # called from code: stage configs compose from conf/ too
        from hydra import initialize_config_dir

        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return run_pipeline(cfg)
    validate(cfg)
    out = Path(cfg.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "pipeline.json"
    state = read_json(state_path) if state_path.exists() else {}
    info = run_info(out)
    atomic_write_text(out / "configs" / "pipeline.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    atomic_write_json(out / "environment.json", environment())
    stage_configs = StageConfigs(cfg, out)
    check_stages(stage_configs, cfg.stages, state)
    for stage in cfg.stages:
        configs = stage_configs(stage, state)
        key = stage_key(stage, configs, state)
        rec = state.get(stage)
        same = rec is not None and all(rec.get(k) == v for k, v in key.items())
        if same and rec.get("done"):
            log.info("pipeline: %s already done (%s), skipped", stage, state_path)
            continue
        if rec is not None and not same:
            log.info("pipeline: %s: its config or inputs changed, rerunning it", stage)
            if stage in FRESH_START:
                shutil.rmtree(out / stage, ignore_errors=True)  # no resuming from the old run's checkpoints/caches
        log.info("pipeline: running %s", stage)
        state[stage] = {**key, "done": False}
        atomic_write_json(state_path, state)
        save_configs(out, stage, configs)
        with StageMeter() as meter:
            result = RUNNERS[stage](configs, out)
        state[stage] = {**key, **result, "resources": meter.result, "done": True}
        atomic_write_json(state_path, state)
        tracking.log_stage(cfg, out, info, stage, state)
    if cfg.report:
        from .report import write_report

        paths = write_report(out)
        tracking.log_report(cfg, out, info, paths)
        log.info("pipeline: report %s", paths["html"])
    print(json.dumps(state, indent=2))
    return state


@hydra.main(config_path=str(conf_dir()), config_name="pipeline", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_pipeline(cfg)


if __name__ == "__main__":
    main()
