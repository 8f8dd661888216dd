"""The typed config of `python -m mmreason.pipeline` (schema `pipeline_schema` of conf/pipeline.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mmreason.core.config import check_choice, register_entry
from mmreason.train.config import LoggerConfig

STAGES = ("synth", "sft", "rl", "eval", "diagnostics")


@dataclass
class StageOverrides:
    """Per stage: overrides of that stage's own entry config (conf/synth.yaml, conf/train.yaml, conf/eval.yaml,
    conf/diagnostics.yaml), so anything a stage accepts can be set here; checked (composed) before the first
    stage runs."""

    synth: list[str] = field(default_factory=list)  # synth.out_dir is <out_dir>/synth
    sft: list[str] = field(default_factory=list)  # data = the synth train/validation splits
    rl: list[str] = field(default_factory=list)  # starts from the SFT checkpoint when there is one
    eval: list[str] = field(default_factory=list)  # eval.data.synth = the synth dataset (test split)
    diagnostics: list[str] = field(default_factory=list)  # diagnostics.data = the synth test split, per model


@dataclass
class PipelineConfig:
    """synth -> sft -> rl -> eval -> diagnostics, then the report. `<out_dir>/pipeline.json` records each stage
    with the hash of its composed config and of the records of the stages it reads: a rerun skips a stage whose
    hashes match and reruns (from scratch) one whose config or inputs changed, hence every stage after it."""

    out_dir: str = "runs/pipeline"  # each stage writes <out_dir>/<stage>
    stages: list[str] = field(default_factory=lambda: list(STAGES))  # any ordered subset
    overrides: StageOverrides = field(default_factory=StageOverrides)
    report: bool = True  # write <out_dir>/report.html and report.md at the end (python -m mmreason.pipeline.report)
    logger: LoggerConfig = field(default_factory=LoggerConfig)  # logger=wandb: every stage logs to one wandb group
    #                                                             per run (train stages live; logger is not hashed)

    def __post_init__(self) -> None:
        for s in self.stages:
            check_choice("stages", s, STAGES, "stage")


register_entry("pipeline", PipelineConfig)
