"""The record: the one contract between synth, train and eval (DESIGN.md, "The record").

Every dataset the stages exchange has these columns. `validate_record` names the bad field;
`make_id` gives stable content-derived ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from .grading.grade import ANSWER_TYPES, gold_error

# ANSWER_TYPES lives with the grader (one rule per type), which never imports this module

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


MAX_IMAGE_PIXELS = 8192 * 8192  # default per-image pixel limit (width × height, read from the header)
_TEXT_FIELDS = ("id", "problem", "answer", "answer_type", "task_type", "domain")


def _utf8_error(s: str) -> str | None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate ("\\udc80"): what a bad decode or a JSON escape leaves
        return f"is not valid UTF-8 text (character {e.start}: {s[e.start]!r})"
    return None


def image_error(im: Any, max_pixels: int | None = MAX_IMAGE_PIXELS) -> str | None:
    """Why `im` (a PIL image, a `datasets` image dict {'bytes', 'path'} or a path) is not a usable image,
    or None. Files and bytes are checked from the header and structure (`PIL.Image.verify`): they must
    exist, not be a directory, be an image PIL can identify, and have at most `max_pixels` pixels —
    nothing is decoded, so an oversized or truncated image costs nothing here."""
    import io
    import os
    import warnings

    from PIL import Image

    if isinstance(im, Image.Image):
        src, size = None, im.size
    else:
        if isinstance(im, dict):
            if im.get("bytes") is None and not im.get("path"):
                return "is an image dict with neither bytes nor a path"
            im = im["bytes"] if im.get("bytes") is not None else im["path"]
        if isinstance(im, (bytes, bytearray)):
            src = io.BytesIO(im)
        elif isinstance(im, (str, os.PathLike)):
            if os.path.isdir(im):
                return f"path {str(im)!r} is a directory, not an image"
            if not os.path.isfile(im):
                return f"image file {str(im)!r} does not exist"
            src = im
        else:
            return f"is a {type(im).__name__}, not an image (a path, image bytes or a PIL image)"
        size = None
    if src is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(src) as opened:
                    size = opened.size
                    if max_pixels is None or size[0] * size[1] <= max_pixels:
                        opened.verify()  # structure and checksums (PNG chunks, ...), no pixel decoding
        except Image.DecompressionBombError as e:
            return f"is over the pixel limit PIL accepts ({e})"
        except Image.UnidentifiedImageError:
            return "is not an image PIL can identify"
        except Exception as e:  # OSError, SyntaxError (bad PNG chunk), struct.error ...: a corrupt file
            return f"is corrupt ({type(e).__name__}: {e})"
    if max_pixels is not None and size[0] * size[1] > max_pixels:
        return f"is {size[0]}x{size[1]} = {size[0] * size[1]:,} pixels, over the limit of {max_pixels:,} (max_image_pixels)"
    return None


def validate_record(rec: dict, where: str = "", *, max_image_pixels: int | None = MAX_IMAGE_PIXELS) -> dict:
    """Check one record against the schema; raise RecordError naming the record and field.

    Returns the record unchanged so it can be used inline. `quality` may be missing or empty
    (benchmarks); every other column is required. Beyond types: text is valid UTF-8, the gold answer is
    readable for its `answer_type` (`core.grading.gold_error`: boolean "maybe" or number "banana" are
    errors), and every image passes `image_error` (exists, is an image, at most `max_image_pixels`).
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
    for col in _TEXT_FIELDS:
        if not isinstance(rec[col], str):
            raise bad(col, f"must be a string, got {type(rec[col]).__name__}")
        if (why := _utf8_error(rec[col])) is not None:
            raise bad(col, why)
    if not rec["id"]:
        raise bad("id", "is empty")
    if not rec["problem"].strip():
        raise bad("problem", "is empty")
    if rec["answer_type"] not in ANSWER_TYPES:
        raise bad("answer_type", f"is {rec['answer_type']!r}, expected one of {ANSWER_TYPES}")
    if not isinstance(rec["images"], (list, tuple)):
        raise bad("images", f"must be a list, got {type(rec['images']).__name__}: {rec['images']!r:.80}")
    n_markers = rec["problem"].count(IMAGE_MARKER)
    if n_markers and n_markers != len(rec["images"]):
        raise bad("problem", f"has {n_markers} {IMAGE_MARKER} markers but there are {len(rec['images'])} images")
    if not isinstance(rec["choices"], (list, tuple)) or not all(isinstance(c, str) for c in rec["choices"]):
        raise bad("choices", "must be a list of strings")
    for i, c in enumerate(rec["choices"]):
        if (why := _utf8_error(c)) is not None:
            raise bad("choices", f"item {i} {why}")
    if rec["answer_type"] == "choice":
        if len(rec["choices"]) < 2:
            raise bad("choices", "needs at least 2 options for answer_type 'choice'")
        letters = choice_letters(len(rec["choices"]))
        if rec["answer"] not in letters:
            raise bad("answer", f"is {rec['answer']!r}; for 'choice' it must be one of {letters}")
    elif rec["choices"]:
        raise bad("choices", f"must be empty for answer_type {rec['answer_type']!r}")
    if (why := gold_error(rec["answer"], rec["answer_type"], rec["choices"])) is not None:
        raise bad("answer", f"cannot be graded: {why}")
    for col in ("provenance", "quality"):
        val = rec.get(col)
        if col == "quality" and val in (None, ""):
            continue
        if not isinstance(val, str):
            raise bad(col, "must be a JSON string")
        if (why := _utf8_error(val)) is not None:
            raise bad(col, why)
        try:
            parsed = json.loads(val)
        except json.JSONDecodeError as e:
            raise bad(col, f"is not valid JSON ({e.msg})") from None
        if not isinstance(parsed, dict):
            raise bad(col, "must encode a JSON object")
    for i, im in enumerate(rec["images"]):  # last: the only checks that read files
        if (why := image_error(im, max_image_pixels)) is not None:
            raise bad("images", f"item {i} {why}")
    return rec


def choice_letters(n: int) -> list[str]:
    """The option letters of `n` choices: A, B, C, ..."""
    return [chr(ord("A") + i) for i in range(n)]


def read_records(path, split: str | None = None, limit: int | None = None, what: str = "data", *,
                 max_image_pixels: int | None = MAX_IMAGE_PIXELS,
                 on_invalid: Callable[[RecordError], None] | None = None) -> list[dict]:
    """Records (validated) from a `save_to_disk` directory (a Dataset, or a split of a DatasetDict), a
    `.parquet` file or a `.jsonl` file (relative image paths are relative to the file). Errors name the
    file, the row and the field; `what` names the config key the path came from (e.g. `data.path`).

    Every row is validated before any is returned (`validate_record`; images are checked from their
    headers, then decoded, so a corrupt image is named here, not in a later traceback). An invalid row
    raises RecordError, or, with `on_invalid`, is passed to it and dropped (`data.skip_invalid`)."""
    from pathlib import Path

    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what}={str(p)!r} does not exist")
    if p.is_dir() or p.suffix == ".parquet":
        import datasets

        if p.is_dir():
            ds = datasets.load_from_disk(str(p))
            if isinstance(ds, datasets.DatasetDict):
                names = list(ds)
                if split is None and len(names) != 1:
                    raise ValueError(f"{p}: a DatasetDict with splits {names}: choose one")
                if split is not None and split not in ds:
                    raise ValueError(f"{p}: no split {split!r} (has {names})")
                ds = ds[split or names[0]]
            where = f"{p}" + (f" split {split!r}" if split else "")
        else:
            ds = datasets.Dataset.from_parquet(str(p))
            where = str(p)
        if isinstance(getattr(ds.features.get("images"), "feature", None), datasets.Image):
            ds = ds.cast_column("images", datasets.Sequence(datasets.Image(decode=False)))  # checked before decoding
        rows = [dict(r) for r in (ds.select(range(min(limit, len(ds)))) if limit is not None else ds)]
    elif p.suffix in (".jsonl", ".json"):
        from .io import read_jsonl

        rows = read_jsonl(p, strict=True)[:limit]
        where = str(p)
        for r in rows:
            if isinstance(r, dict) and isinstance(r.get("images"), list):
                r["images"] = [str(p.parent / im) if isinstance(im, str) and not Path(im).is_absolute() else im
                               for im in r["images"]]
    else:
        raise ValueError(f"{what}={str(p)!r}: expected a save_to_disk directory, .parquet or .jsonl")
    out = []
    for i, r in enumerate(rows):
        if isinstance(r, dict):
            if r.get("quality") is None:
                r["quality"] = ""
            if isinstance(r.get("provenance"), dict):
                r["provenance"] = json.dumps(r["provenance"])
        try:
            validate_record(r, where=f"{where} row {i}", max_image_pixels=max_image_pixels)
            if isinstance(r["images"], list):
                r["images"] = [_decode(im, f"{where} row {i}", r["id"], k) for k, im in enumerate(r["images"])]
        except RecordError as e:
            if on_invalid is None:
                raise
            on_invalid(e)
            continue
        out.append(r)
    return out


def _decode(im: Any, where: str, rid: str, k: int):
    """A `datasets` image dict -> a loaded PIL image, as `datasets` would decode it (paths stay paths)."""
    if not isinstance(im, dict):
        return im
    import io

    from PIL import Image

    try:
        out = Image.open(io.BytesIO(im["bytes"]) if im.get("bytes") is not None else im["path"])
        out.load()
        return out
    except Exception as e:  # e.g. "image file is truncated": the header was fine, the pixel data is not
        raise RecordError(f"{where}: record {rid!r}: field 'images' item {k} cannot be decoded "
                          f"({type(e).__name__}: {e})") from None
