"""The realdocs audit (tests/synth/realdocs_audit.jsonl): draw the sample, and describe the facts an answer reads
by what the document says (document, table label, row, column, value), not by graph ids, so a fresh graph —
or rephrased question templates — can be checked against the audited answers.

    .venv/bin/python tests/synth/auditfacts.py OUT_DIR > draft.jsonl   # draws 60 kept records, seed 15
"""

from __future__ import annotations

import json
import random
import sys

from mmreason.synth.generate.compute import spec_refs
from mmreason.synth.kg.graph import KG

SEED, N = 15, 60


def _where(kg: KG, d: dict) -> dict:
    g = kg.g
    doc = g.nodes[d["provenance"]["doc"]]["path"]
    t = d.get("table")
    return {"doc": doc, "table": g.nodes[t]["label"] if t and t in g else None}


def describe(kg: KG, key: str) -> dict:
    """A document-level description of one edge (a table cell, a relation, a mention)."""
    u, v, d = next((u, v, d) for u, v, k, d in kg.g.edges(keys=True, data=True) if k == key)
    g = kg.g
    out = {"type": d["type"], **_where(kg, d), "row": g.nodes[u].get("name")}
    if d["type"] == "has_attribute":
        out.update(column=d["name"], value=d["value"])
    elif d["type"] == "relation":
        out.update(relation=d["name"], tail=g.nodes[v]["name"])
    elif d["type"] == "mentions":
        out.update(row=None, chunk=g.nodes[u]["text"][:80], entity=g.nodes[v]["name"])
    else:
        out.update(head=g.nodes[u].get("name") or g.nodes[u].get("label"), tail=g.nodes[v].get("name") or
                   g.nodes[v].get("label"))
    return out


def find(kg: KG, fact: dict) -> list[str]:
    """Keys of the edges of a fresh graph that state `fact` (same document, table, row, column/relation and value)."""
    g = kg.g
    hits = []
    for u, v, k, d in kg.edges_of(fact["type"]):
        if d["type"] not in ("has_attribute", "relation", "mentions") or _where(kg, d) != \
                {"doc": fact["doc"], "table": fact["table"]}:
            continue
        if fact["type"] == "has_attribute":
            ok = (g.nodes[u]["name"], d["name"], d["value"]) == (fact["row"], fact["column"], fact["value"])
        elif fact["type"] == "relation":
            ok = (g.nodes[u]["name"], d["name"], g.nodes[v]["name"]) == (fact["row"], fact["relation"], fact["tail"])
        else:
            ok = g.nodes[u]["text"].startswith(fact["chunk"]) and g.nodes[v]["name"] == fact["entity"]
        if ok:
            hits.append(k)
    return hits


def node_label(kg: KG, nid: str) -> dict:
    d = kg.g.nodes[nid]
    return {"doc": kg.g.nodes[d["doc"]]["path"], "label": d["label"]}


def portable_spec(kg: KG, spec):
    """The compute spec with graph ids replaced by what they name: {"fact": i} for the i-th read edge, and
    {"doc", "label"} for a table / formula node."""
    keys = list(dict.fromkeys(spec_refs(spec)))

    def walk(x):
        if isinstance(x, dict):
            out = {}
            for k, v in x.items():
                if k in ("cell", "rel", "head"):
                    out[k] = {"fact": keys.index(v)}
                elif k in ("table", "formula") and isinstance(v, str) and v in kg.g:
                    out[k] = node_label(kg, v)
                else:
                    out[k] = walk(v)
            return out
        return [walk(v) for v in x] if isinstance(x, list) else x

    return walk(spec), [describe(kg, k) for k in keys]


def bind_spec(kg: KG, spec, keys: list[str]):
    """A portable spec bound to a fresh graph: fact indices -> edge keys, node labels -> node ids."""
    labels = kg.label_index()

    def walk(x):
        if isinstance(x, dict):
            if set(x) == {"fact"}:
                return keys[x["fact"]]
            if set(x) == {"doc", "label"}:
                doc = next(n for n in kg.nodes_of("Document") if kg.g.nodes[n]["path"] == x["doc"])
                return labels[(doc, x["label"])]
            return {k: walk(v) for k, v in x.items()}
        return [walk(v) for v in x] if isinstance(x, list) else x

    return walk(spec)


def draw(out_dir: str) -> list[dict]:
    from mmreason.core.io import read_jsonl
    from mmreason.synth.kg.store import load_graph

    kg = load_graph(f"{out_dir}/kg/graph.json")
    g = kg.g
    recs = sorted(read_jsonl(f"{out_dir}/score/records.jsonl"), key=lambda r: r["id"])
    rows = []
    for i, r in enumerate(random.Random(SEED).sample(recs, N)):
        p = json.loads(r["provenance"])
        spec, facts = portable_spec(kg, p["compute"])
        refs = spec_refs(p["compute"])
        extra = [describe(kg, k) for k in dict.fromkeys(p["edge_ids"]) if k not in refs]
        tabs = [n for n in p["node_ids"] if n in g and g.nodes[n]["type"] == "Table"]
        rows.append({"i": i, "id": r["id"], "task": r["task_type"], "family": p["family"],
                     "doc": g.nodes[p["doc_ids"][0]]["path"] if p["doc_ids"] else None,
                     "question": p["question"], "gold": p["answer_value"], "choices": r["choices"],
                     "image_grounded": p["image_grounded"],
                     "tables": [[g.nodes[t]["label"], g.nodes[t].get("page")] for t in tabs],
                     "images": r["images"], "compute": spec, "facts": facts,
                     "evidence": [f for f in extra if f["type"] in ("has_attribute", "relation", "mentions")],
                     "verdict": "", "note": ""})
    return rows


if __name__ == "__main__":
    for row in draw(sys.argv[1]):
        print(json.dumps(row, ensure_ascii=False))
