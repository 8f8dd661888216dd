"""Path sampling over the knowledge graph: a registry of samplers (users add their own).

A `Path` is an ordered list of node ids with the edge ids that join them. Every sampler has the
signature `sampler(kg, spec, rng) -> Iterator[Path]` where `spec` is a `SamplerSpec` (the task type's
`sampler` settings merged with the global `synth.sample` constraints). `sample_paths` drives one
sampler under the constraints (node types, degree bounds, hop count, required modalities), seeded,
and drops duplicate paths (the same node sequence, or its reverse).

    @register_sampler("my_sampler")
    def my_sampler(kg, spec, rng): yield Path(nodes=[...], edges=[...])
"""

from __future__ import annotations

from .base import SAMPLERS, Path, SamplerSpec, register_sampler, sample_paths
from .pattern import parse_pattern
from .samplers import bfs_subgraph, pattern_paths, random_walk

__all__ = ["SAMPLERS", "Path", "SamplerSpec", "bfs_subgraph", "parse_pattern", "pattern_paths", "random_walk",
           "register_sampler", "sample_paths"]
