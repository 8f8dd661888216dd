"""How good is the graph? Fact precision / recall against `*.truth.json`, figure links, references.

A fact is (document, entity, entity type, relation, value+unit) or (document, entity, entity type,
relation, object entity). Graph facts come from `has_attribute` edges (numeric values) and `relation`
edges, each counted in the document of its provenance. Names are compared normalised (`norm_name`),
numbers with relative tolerance 1e-6, units up to spelling (`same_unit`).
"""

from __future__ import annotations

import math
from pathlib import Path

from mmreason.core.io import read_json

from .graph import KG, norm_name
from .values import same_unit


def load_truth(input_dir: str | Path) -> dict[str, dict]:
    """{document path relative to input_dir: truth} for each `<name>.truth.json` beside `<name>.md`."""
    root = Path(input_dir).resolve()
    out = {}
    for p in sorted(root.rglob("*.truth.json")):
        t = read_json(p)
        doc = p.with_name(t.get("doc") or p.name.replace(".truth.json", ".md"))
        if doc.is_file():  # truth for a document that is not in the input is not scored
            out[doc.relative_to(root).as_posix()] = t
    return out


def _fact_key(f: dict) -> tuple:
    return (norm_name(f["entity"]), norm_name(f["entity_type"]), norm_name(f["relation"]))


def graph_facts(kg: KG) -> dict[str, list[dict]]:
    """{document path: [fact]} read back from the graph."""
    path_of = {n: d["path"] for n, d in kg.g.nodes(data=True) if d["type"] == "Document"}
    out: dict[str, list[dict]] = {}
    for u, v, d in kg.g.edges(data=True):
        if d["type"] not in ("has_attribute", "relation"):
            continue
        doc = path_of.get(d["provenance"]["doc"])
        head = kg.g.nodes[u]
        f = {"entity": head["name"], "entity_type": head["entity_type"], "relation": d["name"],
             "aliases": head.get("aliases", [])}
        if d["type"] == "has_attribute":
            f.update(value=d["value"], unit=d["unit"])
        else:
            f.update(object=kg.g.nodes[v]["name"])
        out.setdefault(doc, []).append(f)
    return out


def _matches(pred: dict, gold: dict) -> bool:
    if _fact_key(pred) != _fact_key(gold):
        return False
    if "object" in gold or "object" in pred:
        return norm_name(str(pred.get("object", ""))) == norm_name(str(gold.get("object", "")))
    a, b = pred.get("value"), gold.get("value")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        ok = math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    else:
        ok = norm_name(str(a)) == norm_name(str(b))
    return ok and same_unit(pred.get("unit"), gold.get("unit"))


def fact_scores(pred: list[dict], gold: list[dict]) -> tuple[int, int, int]:
    """(true positives, #pred, #gold) with one-to-one matching inside each (entity, type, relation) key."""
    by_key: dict[tuple, list[dict]] = {}
    for g in gold:
        by_key.setdefault(_fact_key(g), []).append(g)
    tp = 0
    for p in pred:
        done = False
        for name in [p["entity"]] + [a for a in p.get("aliases", []) if a != p["entity"]]:
            q = {**p, "entity": name}  # a merged entity matches under any of its aliases
            pool = by_key.get(_fact_key(q), [])
            for i, g in enumerate(pool):
                if _matches(q, g):
                    tp += 1
                    pool.pop(i)
                    done = True
                    break
            if done:
                break
    return tp, len(pred), len(gold)


def evaluate(kg: KG, truth: dict[str, dict]) -> dict:
    """Precision / recall of facts over the documents that have truth, plus figure and reference checks."""
    facts = graph_facts(kg)
    doc_ids = {d["path"]: n for n, d in kg.g.nodes(data=True) if d["type"] == "Document"}
    tp = n_pred = n_gold = 0
    per_doc = {}
    fig_ok = fig_n = ref_ok = ref_n = f_ok = f_n = 0
    problems: list[str] = []
    for path, t in sorted(truth.items()):
        a, b, c = fact_scores(facts.get(path, []), t.get("facts", []))
        tp, n_pred, n_gold = tp + a, n_pred + b, n_gold + c
        per_doc[path] = {"tp": a, "pred": b, "gold": c}
        did = doc_ids.get(path)
        for fig in t.get("figures", []):
            if not fig.get("table"):
                continue
            fig_n += 1
            img = kg.by_label(did, fig["label"]) if did else None
            tab = kg.by_label(did, fig["table"]) if did else None
            got = kg.plotted_table(img) if img else None
            if got and got[0] == tab and set(got[1]) == set(fig["columns"]):
                fig_ok += 1
            else:
                problems.append(f"{path}: {fig['label']} should plot {fig['table']} {fig['columns']}, graph has {got}")
        for label in t.get("references", []):
            ref_n += 1
            target = kg.by_label(did, label) if did else None
            hit = target is not None and any(d["type"] == "refers_to" for _, _, d in kg.g.in_edges(target, data=True))
            ref_ok += hit
            if not hit:
                problems.append(f"{path}: reference {label!r} not resolved")
        for f in t.get("formulas", []):
            fid = kg.by_label(did, f["label"]) if did else None
            f_n += 1
            cols = kg.formula_columns(fid) if fid else {}
            want = {s: tuple(v) for s, v in f.get("columns", {}).items()}
            have = {s: (kg.g.nodes[t_]["label"], c) for s, (t_, c) in cols.items()}
            if fid and have == want:
                f_ok += 1
            else:
                problems.append(f"{path}: {f['label']} columns {have} != {want}")
    return {
        "documents": len(truth),
        "facts": {"tp": tp, "pred": n_pred, "gold": n_gold,
                  "precision": tp / n_pred if n_pred else 0.0, "recall": tp / n_gold if n_gold else 0.0},
        "figures_linked": {"ok": fig_ok, "total": fig_n},
        "references_resolved": {"ok": ref_ok, "total": ref_n},
        "formulas_linked": {"ok": f_ok, "total": f_n},
        "problems": problems,
        "per_doc": per_doc,
    }
