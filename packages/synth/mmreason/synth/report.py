"""The per-document report: OUT/report.json and a console table.

For every input document: its blocks by type, tables (and how many can ask questions), figures (and how
many are chart sources), facts, sampled paths, questions generated and kept (by task type) and, for a
document that gave none, the reasons — each one a fact the graph or the stage outputs show:

    "reader found no text, table, image or formula (<ingest issue>)"
    "no table with >= 3 rows and a named numeric or categorical column (Table 2: 2 rows; Table 3: no column name)"
    "3 figures, none with a known plotted column (a figure is a chart only when its caption names the table
     or 'column by row type')"
    "12 questions generated, none kept at scoring (support / verification / near-duplicates)"
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from mmreason.core.io import atomic_write_json, read_json, read_jsonl

MIN_ROWS = 3


def table_usable(kg, t: str) -> tuple[bool, str]:
    """(whether a table can give questions, why not): >= 3 rows and a named numeric or categorical column."""
    g = kg.g
    d = g.nodes[t]
    rows = sum(1 for _, _, e in g.in_edges(t, data=True) if e["type"] == "row_of")
    label = d.get("label") or "a table"
    if rows < MIN_ROWS:
        return False, f"{label}: {rows} row{'s' if rows != 1 else ''}"
    cols = Counter(e["name"] for _, _, e in g.in_edges(t, data=True)
                   if e["type"] == "has_attribute" and isinstance(e.get("value"), (int, float)))
    cats = Counter(e["name"] for _, _, _, e in kg.edges_of("relation") if e.get("table") == t)
    if any(n >= 2 for n in cols.values()) or any(n >= 2 for n in cats.values()):
        return True, ""
    named = [c for c in d.get("columns", []) if c]
    if len(named) <= 1:
        return False, f"{label}: no column names (header cells empty or numbers)"
    return False, f"{label}: no numeric or categorical column"


def build_report(kg, errors: list[dict], paths: dict, qa: list[dict], kept: list[dict]) -> dict:
    g = kg.g
    docs = {n: d for n, d in g.nodes(data=True) if d["type"] == "Document"}
    by_path = {d["path"]: n for n, d in docs.items()}
    out: dict[str, dict] = {}
    blocks: dict[str, Counter] = defaultdict(Counter)
    for _, d in g.nodes(data=True):
        if d.get("doc") in docs and d["type"] in ("Chunk", "Table", "Image", "Formula"):
            blocks[d["doc"]][d["type"].lower()] += 1
    facts = Counter(e["provenance"]["doc"] for _, _, e in g.edges(data=True) if e["type"] in ("has_attribute", "relation"))
    n_paths: Counter = Counter()
    for plist in paths.values():
        for p in plist:
            ds = {g.nodes[n].get("doc") for n in p["nodes"] if n in g and g.nodes[n].get("doc")}
            if not ds:
                ds = {next(iter(g.nodes[n].get("docs", [])), None) for n in p["nodes"] if n in g}
            for x in ds - {None}:
                n_paths[x] += 1

    def doc_of(r):
        ids = json.loads(r["provenance"]).get("doc_ids") or []
        return ids[0] if ids else None

    made, final = Counter(map(doc_of, qa)), defaultdict(Counter)
    for r in kept:
        final[doc_of(r)][r["task_type"]] += 1
    issues = defaultdict(list)
    for e in errors:
        issues[e["file"]].append(e["reason"])
    for path in sorted(set(by_path) | {e["file"] for e in errors}):
        nid = by_path.get(path)
        tables = [t for t in kg.nodes_of("Table", nid) if g.nodes[t].get("source") != "vlm"] if nid else []
        images = kg.nodes_of("Image", nid) if nid else []
        usable = [table_usable(kg, t) for t in tables]
        charts = [i for i in images if (p := kg.plotted_table(i)) and p[1]]
        rec = {"document": path, "blocks": dict(sorted(blocks[nid].items())) if nid else {},
               "tables": len(tables), "tables_usable": sum(ok for ok, _ in usable), "figures": len(images),
               "figures_charted": len(charts), "figures_without_plotted_column": len(images) - len(charts),
               "facts": facts[nid], "paths": n_paths[nid], "questions_generated": made[nid],
               "questions": sum(final[nid].values()), "by_task_type": dict(sorted(final[nid].items())), "reasons": []}
        if not rec["questions"]:
            rec["reasons"] = _reasons(rec, usable, issues[path]) if nid else \
                [f"not in the graph ({'; '.join(issues[path][:2]) or 'not read'})"]
        out[path] = rec
    total = Counter()
    for r in out.values():
        total.update(r["by_task_type"])
    return {"documents": list(out.values()), "questions": sum(total.values()), "by_task_type": dict(sorted(total.items())),
            "documents_with_questions": sum(1 for r in out.values() if r["questions"]),
            "figures_without_plotted_column": sum(r["figures_without_plotted_column"] for r in out.values())}


def _reasons(rec: dict, usable: list[tuple[bool, str]], issues: list[str]) -> list[str]:
    if not rec["blocks"] or sum(rec["blocks"].values()) == 0:
        why = "; ".join(issues[:2])
        return [f"reader found no text, table, image or formula{f' ({why})' if why else ''}"]
    out = []
    if rec["questions_generated"]:
        out.append(f"{rec['questions_generated']} questions generated, none kept at scoring "
                   "(support / verification / near-duplicates / difficulty filter)")
        return out
    if not rec["tables"]:
        out.append(f"no table (the reader found {', '.join(f'{n} {k}' for k, n in rec['blocks'].items())} blocks)")
    elif not rec["tables_usable"]:
        out.append(f"no table with >= {MIN_ROWS} rows and a named numeric or categorical column ("
                   + "; ".join(why for ok, why in usable if not ok) + ")")
    else:
        out.append(f"{rec['tables_usable']} usable tables but no question family fitted their paths ({rec['paths']} paths)")
    if rec["figures"] and not rec["figures_charted"]:
        out.append(f"{rec['figures']} figure{'s' if rec['figures'] > 1 else ''} without a known plotted column (a figure "
                   "is a chart source only when its caption names the table, or a column and 'by <row type>', or a VLM "
                   "read it)")
    elif not rec["figures"]:
        out.append("no figure")
    return out


def write_report(out_dir: Path) -> dict:
    """Build OUT/report.json from the stage outputs and print it as a table."""
    from .kg.store import load_graph

    kg = load_graph(out_dir / "kg" / "graph.json")
    errors = list(read_jsonl(out_dir / "kg" / "errors.jsonl")) if (out_dir / "kg" / "errors.jsonl").is_file() else []
    paths = read_json(out_dir / "sample" / "paths.json") if (out_dir / "sample" / "paths.json").is_file() else {}
    qa = list(read_jsonl(out_dir / "qa" / "records.jsonl")) if (out_dir / "qa" / "records.jsonl").is_file() else []
    kept = list(read_jsonl(out_dir / "score" / "records.jsonl")) if (out_dir / "score" / "records.jsonl").is_file() else []
    rep = build_report(kg, errors, paths, qa, kept)
    atomic_write_json(out_dir / "report.json", rep)
    print_report(rep, out_dir)
    return rep


def print_report(rep: dict, out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"per-document report ({out_dir / 'report.json'})")
    for c, j in (("document", "left"), ("blocks", "right"), ("tables", "right"), ("figures", "right"),
                 ("facts", "right"), ("paths", "right"), ("questions", "right"), ("why none", "left")):
        t.add_column(c, justify=j)
    for r in rep["documents"]:
        t.add_row(r["document"], str(sum(r["blocks"].values())), f"{r['tables_usable']}/{r['tables']}",
                  f"{r['figures_charted']}/{r['figures']}", str(r["facts"]), str(r["paths"]), str(r["questions"]),
                  "; ".join(x.split(" (")[0] for x in r["reasons"]))
    con = Console()
    con.width = max(con.width, 150)  # a log file (no terminal) gets the full rows
    con.print(t)
    con.print(f"{rep['questions']} questions from {rep['documents_with_questions']}/{len(rep['documents'])} documents; "
              f"figures without a known plotted column: {rep['figures_without_plotted_column']}")
