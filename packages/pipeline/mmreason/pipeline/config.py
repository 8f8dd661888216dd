"""The typed config of `python -m mmreason.pipeline` (schema `pipeline_schema` of conf/pipeline.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mmreason.core.config import check_choice, register_entry
from mmreason.train.config import AlgorithmConfig, LoggerConfig, TrainerConfig

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


@dataclass
class SweepConfig:
    """`python -m mmreason.pipeline.sweep` (conf/sweep.yaml, a multirun): one pipeline run per job in
    <sweep_dir>/<its overrides>, reusing the synth output (and any stage not in `stages`) of the run in `base_dir`.
    A job's `algorithm...` and `trainer...` overrides are passed to the RL stage (`trainer.seed` to SFT too), so
    anything train accepts can be swept; they are checked here against the train schema."""

    base_dir: str = "runs/pipeline"  # the pipeline run whose synth output every job reuses (run there first if missing)
    sweep_dir: str = "runs/sweep"  # job folders, sweep.md / sweep.json / sweep.png
    stages: list[str] = field(default_factory=lambda: ["sft", "rl", "eval"])  # what each job runs
    overrides: StageOverrides = field(default_factory=StageOverrides)  # appended to conf/pipeline.yaml's, per stage
    logger: LoggerConfig = field(default_factory=LoggerConfig)  # as the pipeline's (logger=wandb: a group per job)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)  # algorithm=<preset> / algorithm.<key>: the RL stage's
    trainer: TrainerConfig = field(default_factory=TrainerConfig)  # trainer.seed: both training stages'; other keys: RL's

    def __post_init__(self) -> None:
        for s in self.stages:
            check_choice("stages", s, STAGES[1:], "stage a sweep job runs (synth is always reused)")


register_entry("sweep", SweepConfig)
