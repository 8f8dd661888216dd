"""The `Benchmark` base class: load a release, build prompts, score responses.

A benchmark reads its public release from a local path (`load`): it finds which published layout is
there (`layouts`, see `release.find_layout`), maps each row onto the record schema
(`mmreason.core.schema`) plus a JSON-serialisable `meta` dict of its own fields, builds the prompt its
own evaluation uses (`build_prompt`), and scores responses by its official rule (`score`).

Bad rows (missing or unreadable image, answer in an unexpected form, choices that do not match the
answer) raise `BadRow` inside `to_record`; `load` reports them with the row id and reason in
`LoadResult.skipped` and goes on. Any other exception is a bug in the loader and propagates (with a note
naming the benchmark, file and row). A load that yields no record, or skips more than
`max_skipped_fraction` of the rows (default 5 %), raises `DataLoadError` naming the first skipped rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmreason.core.schema import RecordError, validate_record

from .. import metrics
from .release import (
    BadRow,
    ImageResolver,
    Layout,
    MissingDataError,
    find_layout,
    load_image,
    read_table,
    snapshot_root,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_SKIPPED = 0.05  # eval.max_skipped_fraction: above this share of skipped rows a load fails
N_SHOWN = 10  # skipped rows named in a DataLoadError


class DataLoadError(RuntimeError):
    """A release was found but (almost) nothing could be read from it; the message names the rows."""


@dataclass
class LoadResult:
    records: list[dict]
    skipped: list[dict] = field(default_factory=list)  # [{"row_id": str, "reason": str}]
    layout: str = ""  # Layout.name that was read
    source: str = ""  # Layout.source (where that layout comes from)
    files: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return len(self.records) + len(self.skipped)

    @property
    def skipped_share(self) -> float:
        return len(self.skipped) / self.n_rows if self.n_rows else 0.0

    def problem(self, name: str, max_skipped: float | None) -> str | None:
        """Why this load is unusable (no record, or too many rows skipped), else None."""
        head = f"{name}: layout {self.layout!r} ({', '.join(self.files[:3])}{' …' if len(self.files) > 3 else ''})"
        if not self.records:
            why = f"{head}: none of the {self.n_rows} rows could be read"
        elif max_skipped is not None and self.skipped_share > max_skipped:
            why = (f"{head}: {len(self.skipped)} of {self.n_rows} rows ({self.skipped_share:.1%}) were skipped, "
                   f"more than eval.max_skipped_fraction={max_skipped:g}")
        else:
            return None
        shown = "\n".join(f"  row {s['row_id']}: {s['reason']}" for s in self.skipped[:N_SHOWN])
        more = f"\n  … and {len(self.skipped) - N_SHOWN} more" if len(self.skipped) > N_SHOWN else ""
        return f"{why}. First skipped rows:\n{shown}{more}" if shown else why


class Benchmark:
    """Base class: subclasses set `name`, `release` (what to put where), `layouts` and implement
    `to_record` (+ `rows`/`row_id` for their files, `judge_one` / `aggregate` where the official rule
    differs from plain grading)."""

    name: str = ""
    release: str = ""  # human description of the expected files and where to get them
    layouts: tuple[Layout, ...] = ()  # accepted layouts, in order of preference
    breakdown_fields: tuple[str, ...] = ()  # meta fields to break accuracy down by

    def __init__(self, prompt_suffix: str | None = None, max_skipped_fraction: float | None = DEFAULT_MAX_SKIPPED,
                 image_cache: str | Path | None = None, **options: Any):
        self.prompt_suffix = prompt_suffix or ""
        self.max_skipped_fraction = max_skipped_fraction
        self.image_cache = Path(image_cache) if image_cache else None
        self.options = options
        self.root = Path(".")
        self.layout: Layout | None = None
        self.current_file: Path | None = None
        self.images = ImageResolver([self.root])

    # ---------------------------------------------------------------- loading
    def load(self, path: str | Path, enforce: bool = True) -> LoadResult:
        """Read the release at `path` (a folder or one data file). With `enforce`, an unusable load (no
        record, or more than `max_skipped_fraction` skipped) raises DataLoadError."""
        path = snapshot_root(Path(path).expanduser())
        if not path.exists():
            raise MissingDataError(
                f"{self.name}: no data at {path}. Nothing is downloaded; put {self.release} there "
                f"(or point eval.data.{self.name} at it)."
            )
        self.root = path if path.is_dir() else path.parent
        self.layout, files = find_layout(path, self.layouts, self.name)
        records, skipped, seen = [], [], set()
        for row_id, row in self.rows(files):
            try:
                rec = self.to_record(str(row_id), row)
                if rec["id"] in seen:
                    raise BadRow(f"duplicate id {rec['id']!r}")
                rec.setdefault("quality", "")
                validate_record(rec, where=self.name)
            except (BadRow, RecordError) as e:
                skipped.append({"row_id": str(row_id), "reason": str(e)})
                log.debug("%s: skipping row %s: %s", self.name, row_id, e)
                continue
            except Exception as e:  # a loader bug, not a bad row: name where it happened and raise
                e.add_note(f"{self.name}: while reading row {row_id} of {self.current_file} "
                           f"(layout {self.layout.name!r})")
                raise
            json.dumps(rec.get("meta", {}))  # meta must stay JSON-serialisable (TypeError = loader bug)
            seen.add(rec["id"])
            records.append(rec)
        result = LoadResult(records, skipped, self.layout.name, self.layout.source, [str(f) for f in files])
        if skipped:
            log.warning("%s: %d of %d rows skipped (first: row %s: %s)", self.name, len(skipped), result.n_rows,
                        skipped[0]["row_id"], skipped[0]["reason"])
        if enforce:
            problem = result.problem(self.name, self.max_skipped_fraction)
            if problem:
                raise DataLoadError(problem)
        return result

    def use_file(self, f: Path) -> None:
        """Make `f` the current data file: images resolve relative to its folder, then the root, then the
        zip archives in either."""
        self.current_file = f
        bases = [f.parent, self.root]
        archives = sorted({z for b in bases for z in b.glob("*.zip")})
        self.images = ImageResolver(bases, archives, self.image_cache)

    def image(self, value: Any, what: str = "image") -> dict:
        return load_image(value, self.images, what)

    def rows(self, files: list[Path]) -> Iterator[tuple[str, dict]]:
        """(row id, raw row) pairs in the release's own format (default: every row of every file)."""
        for f in files:
            self.use_file(f)
            for i, row in enumerate(read_table(f)):
                yield self.row_id(row, f, i), row

    def row_id(self, row: dict, f: Path, i: int) -> str:
        return f"{f.name}:{i}"

    def to_record(self, row_id: str, row: dict) -> dict:
        """Map one raw row onto the record schema (+ `meta`); raise BadRow on bad input."""
        raise NotImplementedError

    def make_record(self, source_id: str, *, images: list, problem: str, answer: str, answer_type: str,
                    choices: list[str] | None = None, task_type: str = "", domain: str = "",
                    meta: dict | None = None) -> dict:
        return {
            "id": f"{self.name}-{source_id}",
            "images": images,
            "problem": problem,
            "answer": answer,
            "answer_type": answer_type,
            "choices": list(choices or []),
            "task_type": task_type or "",
            "domain": domain or "",
            "provenance": json.dumps({"benchmark": self.name, "source_id": source_id}),
            "quality": "",
            "meta": meta or {},
        }

    # ---------------------------------------------------------------- prompting
    def build_prompt(self, record: dict) -> str:
        """The text the model sees (`<image>` markers place the images); default: the problem."""
        return self.with_suffix(record["problem"])

    def with_suffix(self, text: str) -> str:
        return f"{text}\n{self.prompt_suffix}" if self.prompt_suffix else text

    # ---------------------------------------------------------------- scoring
    def judge_one(self, record: dict, response: str) -> dict:
        """{'correct': bool, 'extracted': str | None} for one response (default: core.grading, strict unless
        the benchmark option `lenient: true`, e.g. eval.benchmark_args.synth.lenient=true)."""
        from ..rules import extract_answer, grade

        lenient = bool(self.options.get("lenient", False))
        ok = grade(response, record["answer"], record["answer_type"], record["choices"], lenient=lenient)
        return {"correct": ok, "extracted": extract_answer(response)}

    def free_form(self, record: dict) -> bool:
        """Whether an LLM judge's verdict may overrule the rule for this record (free-form answers only)."""
        return record["answer_type"] in ("number", "expression", "text")

    # ---------------------------------------------------------------- LLM judge hooks (eval.judge)
    def judge_prompt(self, record: dict, response: str) -> str | None:
        """The official judge's prompt for `protocol: verdict`; None = judge.PROMPT."""
        return None

    def parse_judgement(self, record: dict, reply: str) -> bool | None:
        """The verdict in a judge's reply to `judge_prompt` (None: it names none)."""
        from ..judge import parse_verdict

        return parse_verdict(reply)

    def extraction_prompt(self, record: dict, response: str) -> str:
        """The prompt for `protocol: extract` (default judge.EXTRACT over the question and its options)."""
        from ..judge import EXTRACT, question_text

        return EXTRACT.format(question=question_text(record), response=response)

    def judge_extracted(self, record: dict, extracted: str) -> bool:
        """Score an answer the judge extracted by this benchmark's rule ("Z" = no option chosen)."""
        if record.get("choices") and extracted.strip().upper() == "Z":
            return False
        return bool(self.judge_one(record, extracted)["correct"])

    def aggregate(self, records: list[dict], flags: list[bool]) -> dict:
        """Overall accuracy and accuracy per `breakdown_fields` (override for official extra metrics)."""
        return {
            "overall": metrics.accuracy(flags),
            "breakdowns": {f: metrics.group_accuracy([r["meta"].get(f) for r in records], flags)
                           for f in self.breakdown_fields},
        }

    def score(self, records: list[dict], predictions: dict[str, str], skipped: list[dict] | tuple = (),
              judgments: dict[str, bool] | None = None) -> dict:
        """Score responses: {'overall', 'breakdowns', 'n', 'n_skipped', 'n_missing', 'samples', …}.

        A record without a prediction counts as wrong and in `n_missing`; `judgments` (id -> bool, from
        an LLM judge) overrule the rule for the samples they name.
        """
        samples: dict[str, dict] = {}
        for rec in records:
            resp = predictions.get(rec["id"])
            if resp is None:
                samples[rec["id"]] = {"correct": False, "extracted": None, "missing": True}
                continue
            res = dict(self.judge_one(rec, resp))
            res["correct"] = bool(res["correct"])
            if judgments and rec["id"] in judgments and judgments[rec["id"]] is not None:
                res["rule_correct"] = res["correct"]
                res["correct"] = bool(judgments[rec["id"]])
                res["judged"] = True
            samples[rec["id"]] = res
        flags = [samples[r["id"]]["correct"] for r in records]
        out = {"overall": 0.0, "breakdowns": {}}
        out.update(self.aggregate(records, flags))
        out.update(
            n=len(records),
            n_correct=sum(flags),
            n_skipped=len(skipped),
            n_missing=sum(1 for s in samples.values() if s.get("missing")),
            skipped=list(skipped),
            samples=samples,
        )
        return out


