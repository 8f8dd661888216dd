"""Where the diagnostics' samples come from: a records dataset on disk, or synthetic shape images.

A records dataset follows the record schema (DESIGN.md): a `datasets.save_to_disk` directory, a
`.parquet` file or a `.jsonl` file (images as paths relative to the file, or {'bytes'|'path'}).
`synthetic` draws core.toy's shape images with PIL in-process, so the diagnostics run with no data
at all.
"""

from __future__ import annotations

from pathlib import Path

from mmreason.core.schema import read_records


def synthetic_records(n: int, seed: int = 0) -> list[dict]:
    """`n` schema records of `mmreason.core.toy`'s shape tasks (one image, 4 options), alternating a
    colour question and a count question (so the prompts of a batch differ); deterministic in `seed`."""
    from mmreason.core.toy import make_shape_records

    colour = make_shape_records((n + 1) // 2, seed, "colour")
    count = make_shape_records(n // 2, seed, "count")
    return [(colour if i % 2 == 0 else count)[i // 2] for i in range(n)]


def load_records(source: str, n: int | None = None, seed: int = 0, split: str | None = None,
                 images_only: bool = False) -> list[dict]:
    """The first `n` records (all when None) of `source`: `synthetic`, a save_to_disk directory, a
    `.parquet` or a `.jsonl` file; with `images_only`, the first `n` of those with at least one image.
    Every record is validated (the error names the file and field)."""
    if source == "synthetic":
        if n is None or n < 1:
            raise ValueError(f"diagnostics.data=synthetic needs n >= 1, got {n}")
        return synthetic_records(n, seed)
    if not Path(source).expanduser().exists():
        raise FileNotFoundError(
            f"diagnostics.data={source!r}: no such file or directory ('synthetic' needs no data)"
        )
    recs = read_records(source, split=split, limit=None if images_only else n, what="diagnostics.data")
    if images_only:
        recs = [r for r in recs if r["images"]][:n]
    if not recs:
        raise ValueError(f"{source}: no records" + (" with an image (diagnostics.images_only=true)" if images_only else ""))
    return recs


__all__ = ["load_records", "synthetic_records"]
