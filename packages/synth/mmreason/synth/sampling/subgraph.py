"""Subgraph sampling before path selection (MMKG-RDS `subgraph_sampling.py`: random, bfs, acs).

A task type (or `synth.sample.subgraph`) may ask for `rounds` subgraphs of about `order` nodes; its path
sampler then runs inside each subgraph (an induced view of the graph) and the distinct paths are pooled:

    random  `order` nodes drawn at random
    bfs     breadth-first from a random node (edges in both directions) until `order` nodes
    acs     augmented chain: the shortest path between two random nodes that are not neighbours (the
            backbone), each backbone node with 1-2 of its neighbours, up to `order` nodes
"""

from __future__ import annotations

import random

import networkx as nx

from .base import Path, SamplerSpec, sample_paths

METHODS = ("none", "random", "bfs", "acs")


def _random(g, order: int, rng: random.Random) -> set[str]:
    nodes = sorted(g.nodes)
    return set(rng.sample(nodes, min(order, len(nodes))))


def _bfs(g, order: int, rng: random.Random) -> set[str]:
    u = g.to_undirected(as_view=True)
    start = rng.choice(sorted(g.nodes))
    seen, frontier = {start}, [start]
    while frontier and len(seen) < order:
        nxt = []
        for n in frontier:
            for m in sorted(u.neighbors(n)):
                if m not in seen and len(seen) < order:
                    seen.add(m)
                    nxt.append(m)
        frontier = nxt
    return seen


def _acs(g, order: int, rng: random.Random) -> set[str]:
    u = g.to_undirected(as_view=True)
    nodes = sorted(g.nodes)
    start = rng.choice(nodes)
    comp = sorted(nx.node_connected_component(u, start))
    ends = [n for n in comp if n != start and not u.has_edge(start, n)] or [n for n in comp if n != start]
    backbone = nx.shortest_path(u, start, rng.choice(ends)) if ends else [start]
    out = set(backbone)
    for n in backbone:
        free = sorted(m for m in u.neighbors(n) if m not in out)
        out.update(rng.sample(free, min(rng.randint(1, 2), len(free), max(0, order - len(out)))))
        if len(out) >= order:
            break
    return out


SUBGRAPHS = {"random": _random, "bfs": _bfs, "acs": _acs}


def subgraph_paths(kg, spec: SamplerSpec, seed: int, method: str = "none", order: int = 200,
                   rounds: int = 20) -> list[Path]:
    """Paths of the task's sampler, found inside `rounds` sampled subgraphs (method "none": the whole graph)."""
    from ..kg.graph import KG

    if method not in METHODS:
        raise ValueError(f"subgraph method {method!r}; expected one of {METHODS}")
    if method == "none" or not kg.g.number_of_nodes():
        return sample_paths(kg, spec, seed)
    rng = random.Random(seed)
    out, seen = [], set()
    for r in range(rounds):
        sub = KG(kg.g.subgraph(SUBGRAPHS[method](kg.g, order, rng)))
        for p in sample_paths(sub, spec, seed + r):
            if p.key() not in seen:
                seen.add(p.key())
                out.append(p)
        if len(out) >= spec.max_paths:
            break
    return out[: spec.max_paths]


def node_class(kg, n: str) -> str | None:
    """The official `extra_requirements` "class" of a node: an Image is a "chart" when it plots a known
    column of a table, else "other"; other node types have none."""
    if kg.g.nodes[n]["type"] != "Image":
        return None
    p = kg.plotted_table(n)
    return "chart" if p and p[1] else "other"


def meets(kg, p: Path, requirements: dict) -> bool:
    """Whether every node of the path meets its type's extra requirement ({type: attr, require: [values]};
    attr "class" is `node_class`, any other a node attribute)."""
    for n in p.nodes:
        req = requirements.get(kg.g.nodes[n]["type"])
        if req:
            attr = req.get("type", "class")
            val = node_class(kg, n) if attr == "class" else kg.g.nodes[n].get(attr)
            if val not in req.get("require", []):
                return False
    return True
