"""`synth`: a split written by mmreason's synth stage (record schema of DESIGN.md).

Release: a `datasets.save_to_disk` directory or a parquet file (or a directory of parquet files) with
the schema columns.
Prompt: the problem plus `instruction` (default: a step-by-step boxed-answer instruction), or, when
`template` is given, `template.format(problem=...)` — the trainer's `data.prompt_template`, so a
checkpoint is evaluated on the prompt it was trained with (the pipeline passes it).
Scoring: `core.grading.grade(response, answer, answer_type, choices)` — the same rule as the training
reward. Breakdowns by task_type, domain and answer_type.
"""

from __future__ import annotations

import json

from .base import Benchmark
from .registry import register_benchmark
from .release import BadRow, Layout, plain, read_table

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@register_benchmark("synth")
class Synth(Benchmark):
    release = "a synth split: datasets.save_to_disk directory or parquet with the record schema columns"
    breakdown_fields = ("task_type", "domain", "answer_type")

    def __init__(self, instruction: str | None = INSTRUCTION, split: str | None = "test", template: str | None = None,
                 **kw):
        super().__init__(**kw)
        if template is not None and "{problem}" not in template:
            raise ValueError(f"synth: template {template!r} has no {{problem}} field")
        self.instruction = instruction or ""
        self.template = template  # str.format template over the problem (overrides `instruction`)
        self.split = split  # split of a DatasetDict directory (synth writes train / validation / test)

    layouts = (
        Layout("save_to_disk", "datasets.save_to_disk folder (dataset_dict.json or state.json)",
               ("dataset_dict.json", "state.json")),
        Layout("parquet", "parquet file(s) with the record schema columns", ("*.parquet", "**/*.parquet")),
    )

    def rows(self, files):
        if self.layout.name == "parquet":
            for f in files:
                self.use_file(f)
                yield from ((row.get("id") or f"{f.stem}:{i}", row) for i, row in enumerate(read_table(f)))
            return
        import datasets

        path = files[0].parent
        self.use_file(files[0])
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            if self.split is not None and self.split not in ds:
                raise ValueError(f"{path}: no split {self.split!r} (splits: {sorted(ds)}); "
                                 f"set eval.benchmark_args.synth.split")
            ds = ds[self.split if self.split is not None else next(iter(ds))]
        if "images" in ds.column_names:
            ds = ds.cast_column("images", datasets.Sequence(datasets.Image(decode=False)))
        for i, row in enumerate(ds):
            yield row.get("id") or i, plain(row)

    def to_record(self, row_id, row):
        images = [self.image(im, f"image {k}") for k, im in enumerate(row.get("images") or [])]
        rec = {k: row.get(k) for k in ("id", "problem", "answer", "answer_type", "task_type", "domain",
                                       "provenance", "quality")}
        rec["choices"] = list(row.get("choices") or [])
        rec["images"] = images
        if not rec.get("id"):
            raise BadRow("field 'id' is missing")
        rec["quality"] = rec.get("quality") or ""
        if isinstance(rec.get("provenance"), dict):
            rec["provenance"] = json.dumps(rec["provenance"])
        rec["meta"] = {"task_type": rec.get("task_type"), "domain": rec.get("domain"), "answer_type": rec["answer_type"]}
        return rec

    def build_prompt(self, record):
        if self.template is not None:
            text = self.template.format(problem=record["problem"])
        else:
            text = f"{record['problem']}\n{self.instruction}" if self.instruction else record["problem"]
        return self.with_suffix(text)
