"""Reading benchmark releases as published: layouts, tables, VLMEvalKit TSVs and images.

A `Layout` is one way a benchmark is distributed (the HF snapshot, the GitHub repository, the
VLMEvalKit TSV); `find_layout` picks the first layout whose files exist under the path the user gave.
Images are looked up by an `ImageResolver`: relative to the data file's folder, then the root the user
passed, then inside the zip archives found there (read in place, or extracted member by member to a
cache folder once). A VLMEvalKit TSV stores an image as base64, or as the `index` of another row whose
image it shares (VLMEvalKit image_base.ImageBaseDataset.__init__); `read_table` resolves those
references.
"""

from __future__ import annotations

import ast
import base64
import binascii
import fnmatch
import hashlib
import io
import json
import logging
import math
import re
import string
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class BadRow(ValueError):
    """A row that cannot be turned into a record; the message is the reason."""


class MissingDataError(FileNotFoundError):
    """The benchmark's data is not at the configured path (nothing is ever downloaded)."""


@dataclass(frozen=True)
class Layout:
    """One published layout: `patterns` are globs under the given folder, tried in order (the first that
    matches wins); `source` says where the layout comes from (repository, files, columns)."""

    name: str
    source: str
    patterns: tuple[str, ...]


def snapshot_root(path: Path) -> Path:
    """A Hugging Face cache repo folder (`datasets--org--name/` with `snapshots/<rev>/`) -> its newest
    snapshot; any other path unchanged."""
    snaps = path / "snapshots"
    if path.is_dir() and snaps.is_dir() and not any(path.glob("*.parquet")):
        revs = sorted((p for p in snaps.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        if revs:
            log.info("%s: using the newest snapshot %s", path, revs[-1].name)
            return revs[-1]
    return path


def find_layout(path: Path, layouts: tuple[Layout, ...], what: str) -> tuple[Layout, list[Path]]:
    """The first layout with files under `path` (or matching the file `path`) and those files."""
    if path.is_file():
        for lay in layouts:
            if any(fnmatch.fnmatch(path.name, Path(p).name) for p in lay.patterns):
                return lay, [path]
    else:
        for lay in layouts:
            for pat in lay.patterns:
                hits = sorted(p for p in path.glob(pat) if p.is_file())
                if hits:
                    return lay, hits
    expected = "\n".join(f"  - {lay.name}: {lay.source}" for lay in layouts)
    raise MissingDataError(f"{what}: no known layout at {path}; expected one of:\n{expected}")


# ------------------------------------------------------------------------------------------- tables
def read_table(path: Path) -> list[dict]:
    """Rows of a .parquet / .tsv / .csv / .json (list or {id: row}) / .jsonl file, as plain Python."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pandas as pd

        return [plain(r) for r in pd.read_parquet(path).to_dict("records")]
    if suffix in (".tsv", ".csv"):
        import pandas as pd

        df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
        rows = df.to_dict("records")
        return resolve_image_refs(rows) if suffix == ".tsv" else rows
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


class ImageRef(str):
    """A TSV image cell naming a row (by `index`) that has no image of its own."""


def resolve_image_refs(rows: list[dict]) -> list[dict]:
    """VLMEvalKit TSV: an `image` cell of at most 64 characters is the `index` of the row whose base64
    image it shares; replace it by that image (or an `ImageRef` when that row has none)."""
    if not rows or "image" not in rows[0] or "index" not in rows[0]:
        return rows
    by_index = {str(r["index"]).strip(): r["image"] for r in rows}
    for r in rows:
        cell = r.get("image")
        if isinstance(cell, str) and 0 < len(cell.strip()) <= 64:
            target = by_index.get(cell.strip())
            r["image"] = target if isinstance(target, str) and len(target) > 64 else ImageRef(cell.strip())
    return rows


def option_columns(row: dict) -> list[str]:
    """Options stored in the A, B, C, ... columns of a VLMEvalKit multiple-choice TSV (empty cells end them)."""
    out = []
    for letter in string.ascii_uppercase[:10]:
        val = row.get(letter)
        if is_missing(val):
            break
        out.append(str(val).strip())
    later = [c for c in string.ascii_uppercase[len(out) + 1: 10] if not is_missing(row.get(c))]
    if later:
        raise BadRow(f"option columns skip a letter: no {string.ascii_uppercase[len(out)]!r} but {later[0]!r}")
    return out


def literal_list(value: Any, what: str) -> list:
    """A list stored as a Python/JSON literal in a TSV cell ("['a', 'b']") or already a list."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if is_missing(value):
        return []
    try:
        out = ast.literal_eval(str(value))
    except (ValueError, SyntaxError):
        raise BadRow(f"{what} {value!r} is not a list literal") from None
    if out is None:  # "None" in a free-form row
        return []
    if not isinstance(out, (list, tuple)):
        raise BadRow(f"{what} {value!r} is not a list")
    return list(out)


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


def letter_of(answer: str, choices: list[str]) -> str:
    """The option letter of `answer` among `choices` (answer given as a letter or as the option text)."""
    ans = answer.strip()
    letters = [chr(ord("A") + i) for i in range(len(choices))]
    if ans in choices:
        return letters[choices.index(ans)]
    if len(ans) == 1 and ans.upper() in letters:
        return ans.upper()
    raise BadRow(f"answer {answer!r} is not one of the {len(choices)} choices {choices}")


# ------------------------------------------------------------------------------------------- images
class _Zip:
    """A zip archive's members, found by exact path or by a unique path suffix ("images/1.jpg" finds
    "MathVista/images/1.jpg")."""

    def __init__(self, path: Path):
        self.path = path
        self.zf = zipfile.ZipFile(path)
        self.by_suffix: dict[str, list[str]] = {}
        for name in self.zf.namelist():
            if name.endswith("/") or name.startswith("__MACOSX/"):
                continue
            parts = name.split("/")
            for k in range(len(parts)):
                self.by_suffix.setdefault("/".join(parts[k:]), []).append(name)

    def member(self, rel: str) -> str | None:
        hits = self.by_suffix.get(rel, [])
        if len(hits) > 1 and rel not in hits:
            raise BadRow(f"image {rel!r} is ambiguous in {self.path.name}: {hits[:3]}")
        return rel if rel in hits else (hits[0] if hits else None)


class ImageResolver:
    """Finds an image path relative to `bases` (in order), then inside `archives`; archive members are
    returned as bytes, or extracted once under `cache_dir` and returned as a path."""

    def __init__(self, bases: list[Path], archives: list[Path] = (), cache_dir: Path | None = None):
        self.bases = list(dict.fromkeys(bases))
        self.archive_paths = list(dict.fromkeys(archives))
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._zips: list[_Zip] | None = None

    def zips(self) -> list[_Zip]:
        if self._zips is None:
            self._zips = []
            for p in self.archive_paths:
                try:
                    self._zips.append(_Zip(p))
                except zipfile.BadZipFile as e:
                    log.warning("%s: not a readable zip (%s); ignored", p, e)
        return self._zips

    def find(self, rel: str) -> dict | None:
        """{'path': ...} or {'bytes': ...} for an image path, else None."""
        rel = rel.replace("\\", "/")
        rel = rel[2:] if rel.startswith("./") else rel
        if not rel or len(rel) > 1024 or "\n" in rel:  # base64, not a path
            return None
        if Path(rel).is_absolute():
            return {"path": rel} if _is_file(Path(rel)) else None
        for base in self.bases:
            cand = base / rel
            if _is_file(cand):
                return {"path": str(cand)}
        for z in self.zips():
            name = z.member(rel)
            if name is not None:
                return self._from_zip(z, name)
        return None

    def _from_zip(self, z: _Zip, name: str) -> dict:
        if self.cache_dir is None:
            return {"bytes": z.zf.read(name)}
        st = z.path.stat()
        key = hashlib.sha1(f"{z.path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
        target = self.cache_dir / f"{z.path.stem}-{key}" / name
        if not target.is_file():
            from mmreason.core.io import atomic_write_bytes

            atomic_write_bytes(target, z.zf.read(name))
        return {"path": str(target)}

    def describe(self) -> str:
        where = [str(b) for b in self.bases] + [p.name for p in self.archive_paths]
        return ", ".join(where)


def _is_file(p: Path) -> bool:
    try:
        return p.is_file()
    except OSError:  # e.g. a base64 string too long to be a file name
        return False


_B64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")


def load_image(value: Any, where: ImageResolver | Path, what: str = "image") -> dict:
    """An image field -> {'bytes': ..., 'path': ...} that `chat.to_pil` opens; BadRow if it is missing or
    unreadable. Accepts `datasets` image dicts, raw bytes, a relative path (found by `where`), or base64."""
    resolver = where if isinstance(where, ImageResolver) else ImageResolver([Path(where)])
    if isinstance(value, ImageRef):
        raise BadRow(f"{what} refers to row {str(value)!r}, which has no image")
    if is_missing(value):
        raise BadRow(f"{what} is missing")
    data, path = None, None
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
        found = resolver.find(value)
        if found is not None:
            data, path = found.get("bytes"), found.get("path")
        elif len(value) > 64 and _B64.match(value[:256]):
            try:
                data = base64.b64decode(value, validate=False)
            except (binascii.Error, ValueError) as e:
                raise BadRow(f"{what}: bad base64 ({e})") from None
        else:
            raise BadRow(f"{what} {value[:200]!r} not found (looked in {resolver.describe()})")
    elif data is None:
        raise BadRow(f"{what} has unexpected type {type(value).__name__}")
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data) if data is not None else path) as im:
            im.verify()
    except Exception as e:  # PIL raises many types for broken files
        raise BadRow(f"{what} is unreadable ({type(e).__name__}: {e})") from None
    return {"bytes": data, "path": None} if data is not None else {"bytes": None, "path": str(path)}
