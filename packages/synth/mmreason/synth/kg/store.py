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
    """GraphML (lists/dicts as JSON strings, None left out) for Gephi / yEd / neo4j import.

    A streaming writer: networkx's generic one is several times slower on large graphs.
    Readable back with `nx.read_graphml` (a MultiDiGraph with the edge keys).
    """
    from xml.sax.saxutils import quoteattr

    def kind(v) -> str:
        return "boolean" if isinstance(v, bool) else "long" if isinstance(v, int) else \
            "double" if isinstance(v, float) else "string"

    def text(v) -> str:
        v = _scalar(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        s = repr(v) if isinstance(v, float) else str(v)
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    keys: dict[tuple[str, str], str] = {}  # (for, name) -> GraphML type; mixed types become string
    for dom, items in (("node", (d for _, d in kg.g.nodes(data=True))), ("edge", (d for *_, d in kg.g.edges(data=True)))):
        for d in items:
            for a, v in d.items():
                if v is None:
                    continue
                t = kind(_scalar(v))
                old = keys.get((dom, a))
                keys[(dom, a)] = t if old in (None, t) else ("double" if {old, t} == {"long", "double"} else "string")
    ids = {k: f"d{i}" for i, k in enumerate(sorted(keys))}

    def cast(t, v):
        v = _scalar(v)
        return float(v) if t == "double" and not isinstance(v, bool) else str(v) if t == "string" else v

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
        for (dom, a), t in sorted(keys.items()):
            f.write(f'<key id="{ids[(dom, a)]}" for="{dom}" attr.name={quoteattr(a)} attr.type="{t}" />\n')
        f.write('<graph edgedefault="directed">\n')
        for n, d in kg.g.nodes(data=True):
            f.write(f"<node id={quoteattr(n)}>")
            for a, v in d.items():
                if v is not None:
                    f.write(f'<data key="{ids[("node", a)]}">{text(cast(keys[("node", a)], v))}</data>')
            f.write("</node>\n")
        for u, v, k, d in kg.g.edges(keys=True, data=True):
            f.write(f"<edge source={quoteattr(u)} target={quoteattr(v)} id={quoteattr(k)}>")
            for a, x in d.items():
                if x is not None:
                    f.write(f'<data key="{ids[("edge", a)]}">{text(cast(keys[("edge", a)], x))}</data>')
            f.write("</edge>\n")
        f.write("</graph>\n</graphml>\n")
