"""Save / load the graph as node-link JSON (lossless round trip) and export GraphML."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

from mmreason.core.io import atomic_path, atomic_write_json, read_json

from .graph import KG

FORMAT = "mmreason-kg"
VERSION = 1


def to_json(kg: KG) -> dict:
    data = nx.node_link_data(kg.g, edges="edges")
    return {"format": FORMAT, "version": VERSION, "graph": data}


def from_json(obj: dict, where: str = "graph") -> KG:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{where}: not a {FORMAT} file (format={obj.get('format') if isinstance(obj, dict) else None!r})")
    if obj.get("version") != VERSION:
        raise ValueError(f"{where}: version {obj.get('version')!r}, this code reads version {VERSION}")
    g = nx.node_link_graph(obj["graph"], directed=True, multigraph=True, edges="edges")
    return KG(g)


def save_graph(kg: KG, path: str | Path) -> None:
    atomic_write_json(path, to_json(kg), indent=None)


def load_graph(path: str | Path) -> KG:
    return from_json(read_json(path), where=str(path))


def _scalar(v):
    if v is None:
        return ""
    if isinstance(v, (bool, int, float, str)):
        return v
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def export_graphml(kg: KG, path: str | Path) -> None:
    """GraphML (lists/dicts as JSON strings, None as ""); for Gephi/yEd/neo4j import."""
    h = nx.MultiDiGraph()
    for n, d in kg.g.nodes(data=True):
        h.add_node(n, **{k: _scalar(v) for k, v in d.items()})
    for u, v, k, d in kg.g.edges(keys=True, data=True):
        h.add_edge(u, v, key=k, **{a: _scalar(b) for a, b in d.items()})
    # GraphML wants one type per attribute name: mixed numeric/str columns become strings
    for items in (h.nodes(data=True), h.edges(data=True)):
        types: dict[str, set] = {}
        for *_, d in items:
            for a, b in d.items():
                types.setdefault(a, set()).add(type(b))
        mixed = {a for a, ts in types.items() if len(ts) > 1}
        for *_, d in items:
            for a in mixed & d.keys():
                d[a] = str(d[a])
    with atomic_path(path) as tmp:
        nx.write_graphml(h, tmp)
