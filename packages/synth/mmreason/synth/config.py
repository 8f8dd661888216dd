"""The typed config of `python -m mmreason.synth` (schema `synth_schema` of conf/synth.yaml).

Every key of the `synth:` block is a field below with its meaning beside it; conf/synth/default.yaml holds
values only. `synth_settings(cfg)` reads the block (from the composed config, or a plain dict holding a
`synth` block or the block itself) into a validated dict: unknown keys and wrong types raise naming the
key, unknown choices list the valid ones. Adding a key is one field here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmreason.core.config import GenerationConfig, ModelConfig, check_choice, register_entry, to_dataclass

STAGES = ("all", "kg", "qa", "sample", "generate", "score", "export")  # __main__.py runs them
EXTRACTORS = ("structural", "llm")  # kg/build.py runs them (kg/extractors/)
GENERATORS = ("template", "llm")
OVERLONG = ("skip", "truncate")  # score/difficulty.py: what the solver does with a prompt over its context


@dataclass
class KGSchemaConfig:
    """Types the llm extractor's output is validated against (null: the built-in lists)."""

    entity_types: list[str] | None = None  # e.g. [Person, Organization, Place, Compound]
    relation_types: list[str] | None = None  # e.g. [located in, discovered by, part of]


@dataclass
class KGLLMConfig:
    max_retries: int = 2  # re-asks after a reply that is not valid JSON; then recorded in errors.jsonl
    max_new_tokens: int = 512
    describe_images: bool = True  # VLM pass: chart -> its data as a table, diagram -> its parts
    cache_dir: str | None = None  # model-call cache; null = OUT/cache/generation


@dataclass
class ResolutionConfig:
    """Entity resolution after the per-document graphs are merged."""

    enabled: bool = True
    fuzzy_threshold: float = 95.0  # rapidfuzz ratio (0-100) within blocks of the same entity type
    embeddings: bool = False  # also compare embeddings (needs the `embed` extra: all-MiniLM-L6-v2, offline)
    embed_threshold: float = 0.95  # cosine (MMKG-RDS merges at 0.95)


@dataclass
class PDFIngestConfig:
    """The PDF reader (ingest/pdf.py; its PDF_DEFAULTS equal these)."""

    dpi: int = 120  # page rendering for figure / table crops (PNG on the block)
    max_pixels: int = 2_000_000  # a crop larger than this is downscaled
    max_pages: int = 2000  # pages past this are not read (reported in errors.jsonl)


@dataclass
class IngestConfig:
    """The readers (mmreason/synth/ingest; its INGEST_DEFAULTS equal these). Inputs not read are listed in
    OUT/kg/errors.jsonl; a change here (or a new reader version) redoes the kg partials."""

    max_file_mb: float = 200.0  # larger input files are skipped and reported
    pdf: PDFIngestConfig = field(default_factory=PDFIngestConfig)


@dataclass
class KGConfig:
    """documents -> OUT/kg/{graph.json, graph.graphml, errors.jsonl, stats.json, eval.json, docs/}."""

    extractors: list[str] = field(default_factory=lambda: ["structural"])  # structural (no model), llm (+ VLM image pass)
    resume: bool = True  # reuse OUT/kg/docs/<id>.json partials whose file sha and settings still match
    graphml: bool = True  # also write OUT/kg/graph.graphml
    evaluate: bool = True  # fact precision/recall where *.truth.json files exist
    schema: KGSchemaConfig = field(default_factory=KGSchemaConfig)
    llm: KGLLMConfig = field(default_factory=KGLLMConfig)
    resolution: ResolutionConfig = field(default_factory=ResolutionConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)

    def __post_init__(self) -> None:
        for name in self.extractors:
            check_choice("synth.kg.extractors", name, EXTRACTORS, "extractor")


@dataclass
class TasksConfig:
    dirs: list[str] | None = None  # folders of task type YAML files; null = conf/synth/tasks
    include: list[str] | None = None  # e.g. [SISC, STSF]; null = all
    max_records: int | None = None  # override every task type's cap
    per_path: int | None = None  # override questions per path


@dataclass
class SampleConfig:
    max_paths: int | None = None  # override every task type's sampler.max_paths


@dataclass
class GenerateLLMConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    batch_size: int = 16
    limit: int | None = None  # rephrase only the first N records


@dataclass
class GenerateConfig:
    generator: str = "template"  # template (no model) | llm (a model phrases question + reasoning; checked)
    max_table_columns: int = 12  # a wider table is shown with its key, the columns asked about and the first others
    llm: GenerateLLMConfig = field(default_factory=GenerateLLMConfig)

    def __post_init__(self) -> None:
        check_choice("synth.generate.generator", self.generator, GENERATORS, "generator")


@dataclass
class DifficultyConfig:
    """Pass rate of a solver model over k samples per record."""

    solver: str | None = "default"  # default = the `model` + `generation` groups; null disables
    k: int = 2
    max_new_tokens: int = 4
    temperature: float = 1.0
    batch_size: int = 32
    max_prompt_tokens: int | None = None  # longer prompts are skipped or truncated; null = model context - max_new_tokens
    overlong: str = "skip"  # skip (the record's difficulty says why) | truncate (evidence cut in the middle, images kept)
    max_batch_tokens: int = 32768  # a batch holds at most this many padded tokens (records x k x longest prompt)
    min_pass_rate: float | None = None  # keep only records with pass rate in [min, max]
    max_pass_rate: float | None = None

    def __post_init__(self) -> None:
        check_choice("synth.score.difficulty.overlong", self.overlong, OVERLONG, "overlong mode")


@dataclass
class JudgeVotesConfig:
    """Optional LLM judges of support (the `model` + `generation` groups)."""

    votes: int = 0  # samples per record (0 = off); the majority of yes votes decides
    max_new_tokens: int = 8
    temperature: float = 1.0
    batch_size: int = 16
    require_majority: bool = False  # drop records the judges do not support


@dataclass
class ScoreConfig:
    min_support: float = 1.0  # share of the reasoning's facts that must lie on the path
    require_verified: bool = True  # the answer must recompute from the graph
    dedup_threshold: float = 0.8  # Jaccard of word 3-grams (question, answer, images) for near-duplicates
    num_perm: int = 128  # MinHash permutations
    embed_dedup_threshold: float | None = None  # e.g. 0.95: also drop semantic near-duplicates (needs the `embed` extra)
    difficulty: DifficultyConfig = field(default_factory=DifficultyConfig)
    judge: JudgeVotesConfig = field(default_factory=JudgeVotesConfig)


@dataclass
class ExportConfig:
    fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])  # train / validation / test, by source document


@dataclass
class SynthConfig:
    """The `synth:` block: where documents come from and where every stage writes, then each stage's settings."""

    input_dir: str | None = None  # documents: .md .html .pdf .txt .docx .xlsx .xlsm .pptx *content_list.json (MinerU);
    #                               *.truth.json = ground truth
    out_dir: str | None = None  # OUT/kg, OUT/sample, OUT/qa, OUT/score, OUT/dataset
    kg: KGConfig = field(default_factory=KGConfig)
    seed: int = 0
    attn_implementation: str | None = "sdpa"  # attention of the models synth loads itself (solver, judge, llm): replaces
    #   the model group's eager (an L x L matrix per head: 6 GB for five 4k-token prompts); null keeps the group's
    closed_book: bool = False  # true leaves the text evidence (chunks, tables, formulas, facts) out; figures stay
    progress: bool = True  # progress bars
    cache_dir: str | None = None  # model-call cache for qa/score; null = OUT/cache/generation
    tasks: TasksConfig = field(default_factory=TasksConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    export: ExportConfig = field(default_factory=ExportConfig)


@dataclass
class SynthRunConfig:
    """conf/synth.yaml: which stage(s) to run, their settings, and the model an llm extractor/generator/solver uses."""

    stage: Any = "all"  # all | kg | qa (sample..export from an existing graph) | sample | generate | score | export, or a list
    synth: SynthConfig = field(default_factory=SynthConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)

    def __post_init__(self) -> None:
        for name in [self.stage] if isinstance(self.stage, str) else list(self.stage):
            check_choice("stage", name, STAGES, "stage")


register_entry("synth", SynthRunConfig)


def _plain(cfg) -> dict:
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def synth_settings(cfg) -> tuple[dict, dict]:
    """(the `synth` block as a validated plain dict, input_dir/out_dir as Paths; the root config as a dict).

    `cfg` is the composed config, or a dict holding a `synth` block, or the block itself."""
    root = _plain(cfg)
    block = root["synth"] if isinstance(root.get("synth"), dict) else root
    s = dataclasses.asdict(to_dataclass(block, SynthConfig))
    if not s["input_dir"] or not s["out_dir"]:
        raise ValueError("synth.input_dir and synth.out_dir must be set (e.g. synth.input_dir=examples/corpus)")
    s["input_dir"], s["out_dir"] = Path(s["input_dir"]), Path(s["out_dir"])
    return s, root
