"""The built-in samplers: typed path patterns, random walks, k-hop BFS subgraphs."""

from __future__ import annotations

import random
from collections.abc import Iterator

from .base import Path, SamplerSpec, register_sampler
from .pattern import match_from, parse_pattern


def _starts(kg, types: list[str] | None) -> list[str]:
    g = kg.g
    return sorted(n for n, d in g.nodes(data=True) if types is None or d["type"] in types)


@register_sampler("pattern")
def pattern_paths(kg, spec: SamplerSpec, rng: random.Random) -> Iterator[Path]:
    """Every match of `spec.pattern`, in a seeded random order."""
    if not spec.pattern:
        raise ValueError("sampler 'pattern' needs a pattern, e.g. 'Chunk-[refers_to]->Table'")
    nodes, edges = parse_pattern(spec.pattern)
    found = []
    for s in _starts(kg, None if nodes[0] == "*" else [nodes[0]]):
        for ns, ks in match_from(kg, s, nodes, edges):
            found.append(Path(ns, ks))
    rng.shuffle(found)
    yield from found


def _neighbours(g, n):
    """(neighbour, edge key) over edges in both directions, sorted for determinism."""
    out = [(v, k) for _, v, k in g.out_edges(n, keys=True)] + [(u, k) for u, _, k in g.in_edges(n, keys=True)]
    return sorted(out)


@register_sampler("random_walk")
def random_walk(kg, spec: SamplerSpec, rng: random.Random) -> Iterator[Path]:
    """Walks of `spec.hops` steps (or `spec.min_hops` and more) from random start nodes, never revisiting a node."""
    g = kg.g
    starts = _starts(kg, spec.start_types)
    if not starts:
        return
    for _ in range(spec.tries):
        cur = rng.choice(starts)
        nodes, keys = [cur], []
        for _ in range(spec.hops if spec.min_hops is None else rng.randint(spec.min_hops, spec.hops)):
            nb = [(v, k) for v, k in _neighbours(g, cur) if v not in nodes
                  and (spec.node_types is None or g.nodes[v]["type"] in spec.node_types)]
            if not nb:
                break
            cur, k = rng.choice(nb)
            nodes.append(cur)
            keys.append(k)
        if len(nodes) == spec.hops + 1 or (spec.min_hops is not None and len(nodes) > spec.min_hops):
            yield Path(nodes, keys)


@register_sampler("bfs")
def bfs_subgraph(kg, spec: SamplerSpec, rng: random.Random) -> Iterator[Path]:
    """k-hop BFS subgraph around a random start; yields the BFS-tree path to each node at depth k."""
    g = kg.g
    starts = _starts(kg, spec.start_types)
    rng.shuffle(starts)
    for s in starts[: spec.tries]:
        parent: dict[str, tuple[str, str] | None] = {s: None}
        frontier = [s]
        for _ in range(spec.hops):
            nxt = []
            for n in frontier:
                for v, k in _neighbours(g, n):
                    if v not in parent and (spec.node_types is None or g.nodes[v]["type"] in spec.node_types):
                        parent[v] = (n, k)
                        nxt.append(v)
            frontier = nxt
        rng.shuffle(frontier)
        for t in frontier:
            nodes, keys = [t], []
            while parent[nodes[-1]] is not None:
                p, k = parent[nodes[-1]]  # type: ignore[misc]
                nodes.append(p)
                keys.append(k)
            yield Path(nodes[::-1], keys[::-1])
