"""Support: the facts behind an answer lie on the sampled path, checked on the graph."""

from __future__ import annotations

import json

from ..generate.compute import ComputeError, edge_index, evaluate, render, spec_refs


def support(kg, record: dict) -> dict:
    """{"support": fraction of facts on the path, "facts": n, "verified": answer recomputes from the graph}.

    A fact counts when its edge exists in the graph and one of its ends — or the table it was read
    from — is a node of the path or a support node the record names (the table a chart plots, the
    table whose rows the Entity facts list). Every edge the computation reads
    must be among the facts.
    """
    prov = json.loads(record["provenance"])
    idx = edge_index(kg)
    nodes = set(prov["node_ids"])
    facts = list(dict.fromkeys(prov.get("fact_ids", []) + spec_refs(prov.get("compute"))))
    ok = sum(1 for f in facts if f in idx and (idx[f][0] in nodes or idx[f][1] in nodes
                                               or idx[f][2].get("table") in nodes))  # a cell's / row fact's table
    try:
        value = render(evaluate(kg, prov["compute"]), prov["compute"])
        verified = value == prov["answer_value"]
    except (ComputeError, KeyError):
        verified = False
    return {"support": round(ok / len(facts), 4) if facts else 1.0, "facts": len(facts), "verified": verified}
