"""Where the diagnostics' samples come from: a records dataset on disk, or synthetic shape images.

A records dataset follows the record schema (DESIGN.md): a `datasets.save_to_disk` directory, a
`.parquet` file or a `.jsonl` file (images as paths relative to the file, or {'bytes'|'path'}).
`synthetic` draws one coloured shape per image with PIL in-process, so the diagnostics run with no
data at all.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from mmreason.core.schema import choice_letters, make_id, validate_record

COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (235, 200, 30)}
SHAPES = ("circle", "square", "triangle")


def _draw(shape: str, colour: tuple[int, int, int], size: int, rng: random.Random):
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(im)
    r = rng.randint(size // 6, size // 3)
    cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
    if shape == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif shape == "square":
        d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return im


def synthetic_records(n: int, seed: int = 0, size: int = 84) -> list[dict]:
    """`n` schema records, each one image of a coloured shape and a 4- (colour) or 3-way (shape)
    multiple-choice question about it, alternating; deterministic in `seed`."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        shape, colour = rng.choice(SHAPES), rng.choice(list(COLOURS))
        image = _draw(shape, COLOURS[colour], size, rng)
        if i % 2 == 0:
            question, options, gold = "What colour is the shape in the image?", list(COLOURS), colour
        else:
            question, options, gold = "Which shape is drawn in the image?", list(SHAPES), shape
        letters = choice_letters(len(options))
        listing = "\n".join(f"{ltr}. {opt}" for ltr, opt in zip(letters, options))
        rec = {
            "id": make_id("diagnostics-synthetic", seed, i, shape, colour, prefix="syn-"),
            "images": [image],
            "problem": f"<image>{question}\n{listing}",
            "answer": letters[options.index(gold)],
            "answer_type": "choice",
            "choices": options,
            "task_type": "colour" if i % 2 == 0 else "shape",
            "domain": "synthetic-shapes",
            "provenance": json.dumps({"generator": "diagnostics.synthetic", "seed": seed, "index": i}),
            "quality": "",
        }
        out.append(validate_record(rec, where="diagnostics synthetic"))
    return out


def _from_jsonl(path: Path) -> list[dict]:
    from mmreason.core.io import read_jsonl

    recs = read_jsonl(path, strict=True)
    for rec in recs:
        if isinstance(rec, dict):
            ims = []
            for im in rec.get("images") or []:
                if isinstance(im, str) and not Path(im).is_absolute():
                    im = str(path.parent / im)
                ims.append(im)
            rec["images"] = ims
    return recs


def load_records(source: str, n: int | None = None, seed: int = 0, split: str | None = None) -> list[dict]:
    """The first `n` records (all when None) of `source`: `synthetic`, a save_to_disk directory, a
    `.parquet` or a `.jsonl` file. Every record is validated (the error names the file and field)."""
    if source == "synthetic":
        if n is None or n < 1:
            raise ValueError(f"diagnostics.data=synthetic needs n >= 1, got {n}")
        return synthetic_records(n, seed)
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"diagnostics.data={source!r}: no such file or directory ('synthetic' needs no data)"
        )
    if path.is_dir():
        import datasets

        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            names = list(ds)
            if split is None and len(names) != 1:
                raise ValueError(f"{path}: a DatasetDict with splits {names}; set diagnostics.split")
            ds = ds[split or names[0]]
        recs = ds.select(range(min(n, len(ds)))) if n is not None else ds
        recs = [dict(r) for r in recs]
    elif path.suffix == ".parquet":
        import datasets

        ds = datasets.Dataset.from_parquet(str(path))
        recs = [dict(r) for r in (ds.select(range(min(n, len(ds)))) if n is not None else ds)]
    elif path.suffix == ".jsonl":
        recs = _from_jsonl(path)
        recs = recs[:n] if n is not None else recs
    else:
        raise ValueError(f"{path}: expected a save_to_disk directory, a .parquet or a .jsonl file")
    if not recs:
        raise ValueError(f"{path}: no records")
    return [validate_record(r, where=str(path)) for r in recs]


__all__ = ["COLOURS", "SHAPES", "load_records", "synthetic_records"]
