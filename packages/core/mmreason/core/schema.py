"""The record: the one contract between synth, train and eval (DESIGN.md, "The record").

Every dataset the stages exchange has these columns. `validate_record` names the bad field;
`make_id` gives stable content-derived ids.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

ANSWER_TYPES = ("choice", "number", "expression", "text", "boolean")
IMAGE_MARKER = "<image>"

COLUMNS = (
    "id",
    "images",
    "problem",
    "answer",
    "answer_type",
    "choices",
    "task_type",
    "domain",
    "provenance",
    "quality",
)


class RecordError(ValueError):
    """A record that breaks the schema; the message names the record and the field."""


def features():
    """The schema as `datasets.Features` (imported lazily: `datasets` is slow to import)."""
    import datasets

    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "images": datasets.Sequence(datasets.Image()),
            "problem": datasets.Value("string"),
            "answer": datasets.Value("string"),
            "answer_type": datasets.Value("string"),
            "choices": datasets.Sequence(datasets.Value("string")),
            "task_type": datasets.Value("string"),
            "domain": datasets.Value("string"),
            "provenance": datasets.Value("string"),
            "quality": datasets.Value("string"),
        }
    )


def make_id(*parts: Any, prefix: str = "") -> str:
    """Stable id from content: same parts -> same id (sha1 of their canonical JSON)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    try:
        data = blob.encode("utf-8")
    except UnicodeEncodeError:  # a file name with invalid UTF-8 bytes (os.fsdecode's surrogates): its raw bytes
        data = blob.encode("utf-8", "surrogateescape" if _escaped_only(blob) else "surrogatepass")
    digest = hashlib.sha1(data).hexdigest()[:16]
    return f"{prefix}{digest}" if prefix else digest


def _escaped_only(s: str) -> bool:
    return all("\udc80" <= ch <= "\udcff" for ch in s if "\ud800" <= ch <= "\udfff")


def _is_image(x: Any) -> bool:
    from PIL import Image

    if isinstance(x, Image.Image):
        return True
    # datasets' decoded=False form, or a path
    return isinstance(x, dict) and ("bytes" in x or "path" in x) or isinstance(x, str)


def validate_record(rec: dict, where: str = "") -> dict:
    """Check one record against the schema; raise RecordError naming the record and field.

    Returns the record unchanged so it can be used inline. `quality` may be missing or empty
    (benchmarks); every other column is required.
    """
    rid = rec.get("id", "?") if isinstance(rec, dict) else "?"
    loc = f"{where}: " if where else ""

    def bad(field: str, why: str) -> RecordError:
        return RecordError(f"{loc}record {rid!r}: field {field!r} {why}")

    if not isinstance(rec, dict):
        raise RecordError(f"{loc}record is a {type(rec).__name__}, expected a dict")
    for col in COLUMNS:
        if col not in rec and col != "quality":
            raise bad(col, "is missing")
    for col in ("id", "problem", "answer", "answer_type", "task_type", "domain"):
        if not isinstance(rec[col], str):
            raise bad(col, f"must be a string, got {type(rec[col]).__name__}")
    if not rec["id"]:
        raise bad("id", "is empty")
    if not rec["problem"].strip():
        raise bad("problem", "is empty")
    if rec["answer_type"] not in ANSWER_TYPES:
        raise bad("answer_type", f"is {rec['answer_type']!r}, expected one of {ANSWER_TYPES}")
    if not isinstance(rec["images"], (list, tuple)):
        raise bad("images", f"must be a list, got {type(rec['images']).__name__}")
    for i, im in enumerate(rec["images"]):
        if not _is_image(im):
            raise bad("images", f"item {i} is a {type(im).__name__}, not an image")
    n_markers = rec["problem"].count(IMAGE_MARKER)
    if n_markers and n_markers != len(rec["images"]):
        raise bad("problem", f"has {n_markers} {IMAGE_MARKER} markers but there are {len(rec['images'])} images")
    if not isinstance(rec["choices"], (list, tuple)) or not all(isinstance(c, str) for c in rec["choices"]):
        raise bad("choices", "must be a list of strings")
    if rec["answer_type"] == "choice":
        if len(rec["choices"]) < 2:
            raise bad("choices", "needs at least 2 options for answer_type 'choice'")
        letters = choice_letters(len(rec["choices"]))
        if rec["answer"] not in letters:
            raise bad("answer", f"is {rec['answer']!r}; for 'choice' it must be one of {letters}")
    elif rec["choices"]:
        raise bad("choices", f"must be empty for answer_type {rec['answer_type']!r}")
    for col in ("provenance", "quality"):
        val = rec.get(col)
        if col == "quality" and val in (None, ""):
            continue
        if not isinstance(val, str):
            raise bad(col, "must be a JSON string")
        try:
            parsed = json.loads(val)
        except json.JSONDecodeError as e:
            raise bad(col, f"is not valid JSON ({e.msg})") from None
        if not isinstance(parsed, dict):
            raise bad(col, "must encode a JSON object")
    return rec


def choice_letters(n: int) -> list[str]:
    """The option letters of `n` choices: A, B, C, ..."""
    return [chr(ord("A") + i) for i in range(n)]


def read_records(path, split: str | None = None, limit: int | None = None, what: str = "data") -> list[dict]:
    """Records (validated) from a `save_to_disk` directory (a Dataset, or a split of a DatasetDict), a
    `.parquet` file or a `.jsonl` file (relative image paths are relative to the file). Errors name the
    file, the row and the field; `what` names the config key the path came from (e.g. `data.path`)."""
    from pathlib import Path

    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what}={str(p)!r} does not exist")
    if p.is_dir():
        import datasets

        ds = datasets.load_from_disk(str(p))
        if isinstance(ds, datasets.DatasetDict):
            names = list(ds)
            if split is None and len(names) != 1:
                raise ValueError(f"{p}: a DatasetDict with splits {names}: choose one")
            if split is not None and split not in ds:
                raise ValueError(f"{p}: no split {split!r} (has {names})")
            ds = ds[split or names[0]]
        rows = [dict(r) for r in (ds.select(range(min(limit, len(ds)))) if limit is not None else ds)]
    elif p.suffix == ".parquet":
        import datasets

        ds = datasets.Dataset.from_parquet(str(p))
        rows = [dict(r) for r in (ds.select(range(min(limit, len(ds)))) if limit is not None else ds)]
    elif p.suffix in (".jsonl", ".json"):
        from .io import read_jsonl

        rows = read_jsonl(p, strict=True)[:limit]
        for r in rows:
            if isinstance(r, dict):
                r["images"] = [str(p.parent / im) if isinstance(im, str) and not Path(im).is_absolute() else im
                               for im in r.get("images") or []]
    else:
        raise ValueError(f"{what}={str(p)!r}: expected a save_to_disk directory, .parquet or .jsonl")
    out = []
    for i, r in enumerate(rows):
        if isinstance(r, dict):
            if r.get("quality") is None:
                r["quality"] = ""
            if isinstance(r.get("provenance"), dict):
                r["provenance"] = json.dumps(r["provenance"])
        out.append(validate_record(r, where=f"{p} row {i}"))
    return out
