"""`Path`, `SamplerSpec`, the sampler registry and `sample_paths` (constraints + dedup + seeding)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

MODALITY = {"Table": "table", "Image": "image", "Formula": "formula", "Chunk": "text"}


@dataclass
class Path:
    nodes: list[str]
    edges: list[str] = field(default_factory=list)  # edge keys, len(nodes) - 1 for a walk; any for a subgraph

    def key(self) -> tuple[str, ...]:
        """Order-free for the direction: a path and its reverse are the same path."""
        t = tuple(self.nodes)
        return min(t, t[::-1])

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SamplerSpec:
    """What a sampler may produce. Counts in `node_counts` are exact ints or "N+" (at least N)."""

    name: str = "pattern"
    pattern: str | None = None  # typed path pattern (sampler "pattern")
    start_types: list[str] | None = None  # random walk / bfs start node types
    hops: int = 2  # random walk length / bfs depth (a task's `max_steps` sets it)
    min_hops: int | None = None  # random walk: also shorter walks of at least this many steps (None = exactly hops)
    node_types: list[str] | None = None  # whitelist of node types a path may contain (None = any)
    node_counts: dict[str, Any] = field(default_factory=dict)  # e.g. {"Table": 1, "Chunk": "2+"}
    min_degree: int = 0  # every node on the path has total degree within [min_degree, max_degree]
    max_degree: int | None = None
    modalities: list[str] = field(default_factory=list)  # required: any of table, image, formula, text
    same_document: bool = True  # all block nodes on the path come from one document
    max_paths: int = 200  # stop after this many distinct paths
    tries: int = 2000  # random samplers: attempts


SamplerFn = Callable[[Any, SamplerSpec, random.Random], Iterator[Path]]
SAMPLERS: dict[str, SamplerFn] = {}


def register_sampler(name: str):
    def deco(fn: SamplerFn) -> SamplerFn:
        SAMPLERS[name] = fn
        return fn

    return deco


def _count_ok(n: int, want: Any) -> bool:
    if isinstance(want, str) and want.endswith("+"):
        return n >= int(want[:-1])
    return n == int(want)


def path_ok(kg, p: Path, spec: SamplerSpec) -> bool:
    """Whether a path meets the spec's constraints (checked on the graph)."""
    g = kg.g
    types = [g.nodes[n]["type"] for n in p.nodes]
    if spec.node_types is not None and any(t not in spec.node_types for t in types):
        return False
    for t, want in (spec.node_counts or {}).items():
        if not _count_ok(len({n for n in p.nodes if g.nodes[n]["type"] == t}), want):
            return False
    for n in p.nodes:
        deg = g.degree(n)
        if deg < spec.min_degree or (spec.max_degree is not None and deg > spec.max_degree):
            return False
    mods = {MODALITY[t] for t in types if t in MODALITY}
    if any(m not in mods for m in spec.modalities):
        return False
    if spec.same_document:
        docs = {g.nodes[n]["doc"] for n in p.nodes if g.nodes[n].get("doc")}
        if len(docs) > 1:
            return False
    return True


def sample_paths(kg, spec: SamplerSpec, seed: int) -> list[Path]:
    """Distinct paths from the named sampler that satisfy the constraints, in a seeded order."""
    if spec.name not in SAMPLERS:
        raise ValueError(f"unknown sampler {spec.name!r}; registered: {sorted(SAMPLERS)}")
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    out: list[Path] = []
    for p in SAMPLERS[spec.name](kg, spec, rng):
        k = p.key()
        if k in seen or len(set(p.nodes)) != len(p.nodes) or not path_ok(kg, p, spec):
            continue
        seen.add(k)
        out.append(p)
        if len(out) >= spec.max_paths:
            break
    return out
