"""The typed configs of `python -m mmreason.eval` (schema `eval_schema` of conf/eval.yaml) and
`python -m mmreason.eval.diagnostics` (`diagnostics_schema` of conf/diagnostics.yaml).

Every key is a field below with its meaning beside it; the YAML files hold values only. Benchmark names
are checked against the benchmark registry (benchmarks/registry.py) when the config is composed.
Adding a key is one field here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmreason.core.config import GenerationConfig, ModelConfig, check_choice, register_entry, to_dataclass

from .benchmarks import BENCHMARKS
from .judge import PROTOCOLS as JUDGE_PROTOCOLS

JUDGE_MODES = ("fallback", "all")
DEFAULT_TEMPLATE = "{problem}\nPut the final answer (the option letter or the value) in \\boxed{{}}."


@dataclass
class JudgeConfig:
    """An optional LLM judge of free-form answers (`eval.judge`), e.g. {generation: {backend: openai,
    base_url: http://127.0.0.1:8001/v1}, model: {name: judge}}."""

    generation: GenerationConfig = field(default_factory=GenerationConfig)  # the judge's backend
    model: ModelConfig = field(default_factory=ModelConfig)  # the judge's model (hf / vllm backends)
    mode: str = "fallback"  # fallback: only the samples the rules mark wrong | all: every sample the judge covers
    max_new_tokens: int = 64
    protocol: str = "verdict"  # verdict: the judge decides right/wrong (free-form samples) | extract: the judge
    #                            extracts the answer (as lmms-eval/VLMEvalKit's GPT step) and the benchmark's rule scores it

    def __post_init__(self) -> None:
        check_choice("eval.judge.mode", self.mode, JUDGE_MODES, "judge mode")
        check_choice("eval.judge.protocol", self.protocol, JUDGE_PROTOCOLS, "judge protocol")


@dataclass
class EvalConfig:
    """The `eval:` block: which benchmarks, where their data is, how to ask, where results go."""

    benchmarks: list[str] = field(default_factory=list)  # registered names: mathvista mathverse mathvision wemath
    #                                                      logicvista dynamath hallusionbench mmstar geometry3k mmk12 superclevr synth
    data: dict[str, str] = field(default_factory=dict)  # benchmark -> local path (nothing is downloaded)
    benchmark_args: dict[str, Any] = field(default_factory=dict)  # per benchmark, e.g. {mathvision: {split: test},
    #   mathverse: {prompt: wo, versions: all}, mathvista: {prompt: build}}; any benchmark: max_skipped_fraction,
    #   lenient (true: core.grading's lenient rule for the rule-graded answers; default false, strict)
    batch_size: int = 8  # chats per generate call (and per cache append)
    max_new_tokens: int = 1024  # response budget per question
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0  # nucleus sampling (temperature > 0)
    seed: int | None = 0  # sampling seed (when temperature > 0)
    system_prompt: str | None = None  # system message of every chat (null: none)
    prompt_suffix: str | None = None  # appended to every benchmark prompt (e.g. a \boxed{} instruction)
    run_name: str = "default"  # names the run's results (the model's name in conf/eval.yaml)
    out_dir: str = "outputs/eval/default"  # results.json, results.md, samples/, judge/
    cache_dir: str = "outputs/eval/cache"  # predictions, reused by any later run of the same model + generation settings
    judge: Any = None  # null: rules only; else a JudgeConfig as a dict, e.g. {generation: {backend: openai}, mode: all}
    limit: int | None = None  # first N records per benchmark (smoke runs)
    max_skipped_fraction: float | None = 0.05  # a load skipping more than this share of rows (or every row) stops
    #                                            the run, naming the rows; per benchmark: benchmark_args.<name>.max_skipped_fraction
    image_cache_dir: str | None = None  # zipped image folders (images.zip …) are extracted here once; null = <cache_dir>/images
    rescore: bool = False  # true: score cached predictions only, no model is built

    def __post_init__(self) -> None:
        for name in self.benchmarks:
            BENCHMARKS.check(name)
        if self.judge is not None:  # an untyped node (Hydra cannot override a null dataclass node): checked here
            to_dataclass(self.judge, JudgeConfig)


@dataclass
class EvalRunConfig:
    """conf/eval.yaml: the model under test, its generation backend and the `eval` block."""

    eval: EvalConfig = field(default_factory=EvalConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)


@dataclass
class DiagnosticsConfig:
    """The `diagnostics:` block of conf/diagnostics.yaml (visual-attention diagnostics, diagnostics/run.py)."""

    data: str = "synthetic"  # synthetic (core.toy shape images) | records: save_to_disk dir, .parquet, .jsonl
    split: str | None = None  # split of a DatasetDict directory
    n: int | None = 8  # first n records (synthetic: how many to draw); null = all
    images_only: bool = False  # keep only records with an image (a text-only question has no visual attention)
    seed: int = 0  # synthetic images; sampling when temperature > 0
    batch_size: int = 2  # records per generate + teacher-forced forward (attention memory ~ layers·B·heads·S²)
    max_new_tokens: int = 64  # response budget per record
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0  # nucleus sampling (temperature > 0)
    system: str | None = None  # system prompt
    template: str = DEFAULT_TEMPLATE  # wraps record["problem"] (str.format, so braces doubled)
    n_bins: int = 10  # bins of the normalised response step in the curves
    out_dir: str = "outputs/diagnostics"  # samples.jsonl, summary.json and the PNG plots
    resume: bool = True  # reuse samples.jsonl entries computed with the same settings

    def __post_init__(self) -> None:
        problems = []
        if self.batch_size < 1:
            problems.append(f"batch_size {self.batch_size} < 1")
        if self.n_bins < 1:
            problems.append(f"n_bins {self.n_bins} < 1")
        if self.n is not None and self.n < 1:
            problems.append(f"n {self.n} < 1")
        if "{problem}" not in self.template:
            problems.append("template has no {problem}")
        if problems:
            raise ValueError("diagnostics config: " + "; ".join(problems))


@dataclass
class DiagnosticsRunConfig:
    """conf/diagnostics.yaml: the model (always loaded with eager attention) and the `diagnostics` block."""

    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)


register_entry("eval", EvalRunConfig)
register_entry("diagnostics", DiagnosticsRunConfig)
