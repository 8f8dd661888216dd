"""The `Benchmark` base class and the readers every benchmark module shares.

A benchmark reads its public release from a local path (`load`), maps each row onto the record schema
(`mmreason.core.schema`) plus a JSON-serialisable `meta` dict of its own fields, builds the prompt its
own evaluation uses (`build_prompt`), and scores responses by its official rule (`score`).

Bad rows (missing or unreadable image, answer in an unexpected form, choices that do not match the
answer) raise `BadRow` inside `to_record`; `load` reports them with the row id and reason in
`LoadResult.skipped` and goes on.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmreason.core.schema import RecordError, validate_record

from .. import metrics

log = logging.getLogger(__name__)


class BadRow(ValueError):
    """A row that cannot be turned into a record; the message is the reason."""


class MissingDataError(FileNotFoundError):
    """The benchmark's data is not at the configured path (nothing is ever downloaded)."""


@dataclass
class LoadResult:
    records: list[dict]
    skipped: list[dict] = field(default_factory=list)  # [{"row_id": str, "reason": str}]


class Benchmark:
    """Base class: subclasses set `name`, `release` (what to put where) and implement `rows` + `to_record`
    (+ `judge_one` / `aggregate` where the official rule differs from plain grading)."""

    name: str = ""
    release: str = ""  # human description of the expected files and where to get them
    breakdown_fields: tuple[str, ...] = ()  # meta fields to break accuracy down by

    def __init__(self, prompt_suffix: str | None = None, **options: Any):
        self.prompt_suffix = prompt_suffix or ""
        self.options = options
        self.root = Path(".")

    # ---------------------------------------------------------------- loading
    def load(self, path: str | Path) -> LoadResult:
        path = Path(path).expanduser()
        if not path.exists():
            raise MissingDataError(
                f"{self.name}: no data at {path}. Nothing is downloaded; put {self.release} there "
                f"(or point eval.data.{self.name} at it)."
            )
        self.root = path if path.is_dir() else path.parent
        records, skipped, seen = [], [], set()
        for row_id, row in self.rows(path):
            try:
                rec = self.to_record(str(row_id), row)
                if rec["id"] in seen:
                    raise BadRow(f"duplicate id {rec['id']!r}")
                rec.setdefault("quality", "")
                validate_record(rec, where=self.name)
                json.dumps(rec.get("meta", {}))  # meta must stay JSON-serialisable
            except (BadRow, RecordError, KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
                reason = f"missing field {e}" if isinstance(e, KeyError) else str(e)
                skipped.append({"row_id": str(row_id), "reason": reason})
                log.warning("%s: skipping row %s: %s", self.name, row_id, reason)
                continue
            seen.add(rec["id"])
            records.append(rec)
        if not records and not skipped:
            raise MissingDataError(f"{self.name}: {path} holds no rows; expected {self.release}")
        return LoadResult(records, skipped)

    def rows(self, path: Path) -> Iterator[tuple[str, dict]]:
        """(row id, raw row) pairs in the release's own format."""
        raise NotImplementedError

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
        """Whether an LLM judge may overrule the rule for this record (free-form answers only)."""
        return record["answer_type"] in ("number", "expression", "text")

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


# -------------------------------------------------------------------- readers
def read_table(path: Path) -> list[dict]:
    """Rows of a .parquet / .tsv / .csv / .json (list or {id: row}) / .jsonl file, as plain Python."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pandas as pd

        return [plain(r) for r in pd.read_parquet(path).to_dict("records")]
    if suffix in (".tsv", ".csv"):
        import pandas as pd

        df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
        return df.to_dict("records")
    if suffix == ".jsonl":
        from mmreason.core.io import read_jsonl

        return read_jsonl(path, strict=True)
    if suffix == ".json":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict):
            for key in ("questions", "data", "problems"):
                if isinstance(data.get(key), list):
                    return data[key]
            return [dict(v, _key=k) if isinstance(v, dict) else {"_key": k, "value": v} for k, v in data.items()]
        if isinstance(data, list):
            return data
        raise MissingDataError(f"{path}: expected a JSON list or object of rows, got {type(data).__name__}")
    raise MissingDataError(f"{path}: unsupported file type {suffix!r} (parquet, tsv, json, jsonl)")


def find_files(path: Path, patterns: tuple[str, ...]) -> list[Path]:
    """`path` itself if it is a file, else the files under it matching the first pattern that matches."""
    if path.is_file():
        return [path]
    for pat in patterns:
        hits = sorted(p for p in path.glob(pat) if p.is_file())
        if hits:
            return hits
    raise MissingDataError(f"no files matching {list(patterns)} under {path}")


def plain(x: Any) -> Any:
    """numpy / pandas values -> plain Python (lists, dicts, str, int, float, None)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "tolist") and not isinstance(x, (bytes, str)):
        return plain(x.tolist())
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(x, str) and not x.strip())


def text(row: dict, key: str, required: bool = True) -> str:
    """A string field; BadRow when required and missing."""
    val = row.get(key)
    if is_missing(val):
        if required:
            raise BadRow(f"field {key!r} is missing or empty")
        return ""
    return str(val)


_B64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")


def load_image(value: Any, root: Path, what: str = "image") -> dict:
    """An image field -> {'bytes': ..., 'path': ...} that `chat.to_pil` opens; BadRow if it is missing or
    unreadable. Accepts `datasets` image dicts, raw bytes, a path relative to `root`, or base64 (TSV)."""
    data, path = None, None
    if is_missing(value):
        raise BadRow(f"{what} is missing")
    if isinstance(value, dict):
        if value.get("bytes"):
            data = value["bytes"]
        elif value.get("path"):
            value = value["path"]
        else:
            raise BadRow(f"{what} is missing (empty image dict)")
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif data is None and isinstance(value, str):
        rel = value[2:] if value.startswith("./") else value
        cand = Path(rel) if Path(rel).is_absolute() else root / rel
        try:
            is_file = len(rel) < 1024 and cand.is_file()
        except OSError:  # e.g. a base64 string too long to be a file name
            is_file = False
        if is_file:
            path = cand
        elif len(value) > 64 and _B64.match(value[:256]):
            try:
                data = base64.b64decode(value, validate=False)
            except (binascii.Error, ValueError) as e:
                raise BadRow(f"{what}: bad base64 ({e})") from None
        else:
            raise BadRow(f"{what} file {cand if len(rel) < 1024 else rel[:64] + '…'} does not exist")
    elif data is None:
        raise BadRow(f"{what} has unexpected type {type(value).__name__}")
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data) if data is not None else path) as im:
            im.verify()
    except Exception as e:  # PIL raises many types for broken files
        raise BadRow(f"{what} is unreadable ({type(e).__name__}: {e})") from None
    return {"bytes": data, "path": None} if data is not None else {"bytes": None, "path": str(path)}


def letter_of(answer: str, choices: list[str]) -> str:
    """The option letter of `answer` among `choices` (answer given as a letter or as the option text)."""
    ans = answer.strip()
    letters = [chr(ord("A") + i) for i in range(len(choices))]
    if ans in choices:
        return letters[choices.index(ans)]
    if len(ans) == 1 and ans.upper() in letters:
        return ans.upper()
    raise BadRow(f"answer {answer!r} is not one of the {len(choices)} choices {choices}")
