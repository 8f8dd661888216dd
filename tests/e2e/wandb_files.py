"""Read the records of an offline wandb run file (`offline-run-*/run-<id>.wandb`) to check what a run logged.

Layout (wandb's `sdk/internal/datastore` in releases that shipped the Python writer; the Go core writes the same):
a 7-byte header (":W&B", 2 magic bytes, a version byte), then the LevelDB log format: 32 KiB blocks of records,
each with a 7-byte header (CRC32-C: 4 bytes, length: 2 bytes little-endian, type: 1 = full, 2 = first,
3 = middle, 4 = last) and the payload, a `wandb_internal_pb2.Record`; a block's tail shorter than a header is padding.
"""

from __future__ import annotations

import struct
from pathlib import Path

BLOCK = 32768
HEADER = 7


def records(path: str | Path) -> list:
    from wandb.proto import wandb_internal_pb2 as pb

    raw = Path(path).read_bytes()
    if raw[:4] != b":W&B":
        raise ValueError(f"{path}: not a wandb run file")
    out, pos, pending = [], HEADER, b""
    while pos + HEADER <= len(raw):
        room = BLOCK - pos % BLOCK
        if room < HEADER:
            pos += room
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos:pos + HEADER])
        data = raw[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:  # zero padding at the end of the written part
            break
        pending = data if kind in (1, 2) else pending + data
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(pending)
            out.append(rec)
            pending = b""
    return out


def run_info(path: str | Path) -> dict:
    """The run record's group, job type and name, and the history keys logged (one set over all steps)."""
    info = {"group": None, "job_type": None, "name": None, "history_keys": set()}
    for rec in records(path):
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            info.update(group=rec.run.run_group, job_type=rec.run.job_type, name=rec.run.display_name)
        elif kind == "history":
            info["history_keys"] |= {item.key or "/".join(item.nested_key) for item in rec.history.item}
    return info
