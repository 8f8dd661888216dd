"""Complexity: hops on the path, modalities in the evidence, operations in the computation."""

from __future__ import annotations

import json


def _ops(spec) -> int:
    if isinstance(spec, dict):
        return (1 if "op" in spec else 0) + sum(_ops(v) for v in spec.values())
    if isinstance(spec, list):
        return sum(_ops(v) for v in spec)
    return 0


def complexity(record: dict) -> dict:
    """{"hops", "modalities", "operations", "images", "level"}; level = hops + modalities + operations - 2
    (a one-hop, one-modality, one-operation lookup is level 1)."""
    prov = json.loads(record["provenance"])
    hops, mods, ops = int(prov.get("hops", 0)), len(prov.get("modalities", [])), _ops(prov.get("compute"))
    return {"hops": hops, "modalities": mods, "operations": ops, "images": len(record["images"]),
            "level": max(1, hops + mods + ops - 2)}
