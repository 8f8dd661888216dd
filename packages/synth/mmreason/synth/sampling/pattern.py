"""Typed path patterns: `Chunk-[refers_to]->Image-[plots]->Table<-[has_attribute]-Entity`.

A pattern alternates node types and edges. `-[t]->` follows an edge of type t forward (u -> v),
`<-[t]-` backward (the path node is the edge's head). `*` matches any node or edge type.
"""

from __future__ import annotations

import re

_EDGE = re.compile(r"(<-\[(?P<b>[\w*]+)\]-|-\[(?P<f>[\w*]+)\]->)")


def parse_pattern(pattern: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(node types, [(edge type, 'out' | 'in')]); raises ValueError naming the bad part."""
    parts = _EDGE.split(pattern.replace(" ", ""))
    # re.split with groups yields: node, whole, b, f, node, whole, b, f, node ...
    nodes = [parts[0]]
    edges: list[tuple[str, str]] = []
    for i in range(1, len(parts), 4):
        b, f, node = parts[i + 1], parts[i + 2], parts[i + 3]
        edges.append((b, "in") if b else (f, "out"))
        nodes.append(node)
    for n in nodes:
        if not re.fullmatch(r"[A-Za-z]+|\*", n or ""):
            raise ValueError(f"pattern {pattern!r}: bad node type {n!r} (write Type-[edge]->Type or Type<-[edge]-Type)")
    return nodes, edges


def match_from(kg, start: str, nodes: list[str], edges: list[tuple[str, str]]):
    """All (node list, edge key list) matches of the pattern starting at `start` (simple paths only)."""
    g = kg.g

    def type_ok(n, t):
        return t == "*" or g.nodes[n]["type"] == t

    if not type_ok(start, nodes[0]):
        return

    def rec(path, keys):
        i = len(path) - 1
        if i == len(edges):
            yield list(path), list(keys)
            return
        etype, direction = edges[i]
        cur = path[-1]
        it = g.out_edges(cur, keys=True, data=True) if direction == "out" else g.in_edges(cur, keys=True, data=True)
        for u, v, k, d in sorted(it, key=lambda e: e[2]):
            nxt = v if direction == "out" else u
            if (etype == "*" or d["type"] == etype) and nxt not in path and type_ok(nxt, nodes[i + 1]):
                path.append(nxt)
                keys.append(k)
                yield from rec(path, keys)
                path.pop()
                keys.pop()

    yield from rec([start], [])
