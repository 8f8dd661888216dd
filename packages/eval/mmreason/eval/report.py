"""Markdown tables for one run and for comparing runs (checkpoint A vs B, per benchmark and breakdown).

    python -m mmreason.eval.report show RUN                 # RUN: a run directory or its results.json
    python -m mmreason.eval.report compare RUN_A RUN_B [-o compare.md]

Scores are stored as fractions in results.json and shown here as percentages (one decimal);
counts (keys starting with n_) are shown as integers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mmreason.core.io import atomic_write_text, read_json


def load_results(run: str | Path) -> dict:
    """results.json of a run directory (or the file itself)."""
    p = Path(run)
    p = p / "results.json" if p.is_dir() else p
    if not p.exists():
        raise FileNotFoundError(f"{p}: no results.json (run `python -m mmreason.eval` first)")
    return read_json(p)


def fmt(key: str, value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if key.startswith("n_") or key == "n" or isinstance(value, int):
        return str(int(value))
    return f"{100 * float(value):.1f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def flat_scores(bench: dict) -> list[tuple[str, str, float | int | None]]:
    """(section, key, value) rows of one benchmark: overall, extra metrics, then every breakdown."""
    rows: list[tuple[str, str, float | int | None]] = [("overall", "overall", bench.get("overall"))]
    for k, v in (bench.get("metrics") or {}).items():
        rows.append(("metrics", k, v))
    for section, table in (bench.get("breakdowns") or {}).items():
        for k, v in table.items():
            rows.append((section, k, v))
    return rows


def results_markdown(results: dict) -> str:
    """Markdown for one run: a summary table, then each benchmark's metrics and breakdowns."""
    out = [f"# Eval run `{results.get('run')}`", "",
           f"model: `{results.get('model')}` · generation: `{json.dumps(results.get('generation'))}`"
           + (f" · judge: `{results['judge']}`" if results.get("judge") else ""), ""]
    rows = []
    for name, b in results.get("benchmarks", {}).items():
        rows.append([name, fmt("overall", b.get("overall")), fmt("n", b.get("n")), fmt("n_skipped", b.get("n_skipped")),
                     fmt("n_missing", b.get("n_missing")), fmt("n_judged", b.get("n_judged"))])
    out += [_table(["benchmark", "overall (%)", "n", "skipped", "missing", "judged"], rows), ""]
    for name, b in results.get("benchmarks", {}).items():
        out += [f"## {name}", ""]
        if b.get("metrics"):
            out += [_table(["metric", "value"], [[k, fmt(k, v)] for k, v in b["metrics"].items()]), ""]
        for section, table in (b.get("breakdowns") or {}).items():
            if table:
                out += [f"**{section}**", "", _table([section, "%"], [[str(k), fmt(k, v)] for k, v in table.items()]), ""]
        if b.get("skipped"):
            out += ["skipped rows:", ""] + [f"- `{s['row_id']}`: {s['reason']}" for s in b["skipped"][:50]]
            if len(b["skipped"]) > 50:
                out.append(f"- … {len(b['skipped']) - 50} more (see results.json)")
            out.append("")
    return "\n".join(out)


def _delta(key: str, a, b) -> str:
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
        return "–"
    if key.startswith("n_") or key == "n" or (isinstance(a, int) and isinstance(b, int)):
        return f"{int(b) - int(a):+d}"
    return f"{100 * (b - a):+.1f}"


def compare_markdown(runs: list[tuple[str, dict]]) -> str:
    """One table over all runs: benchmark, section, key, one column per run, and Δ of each run vs the first."""
    labels = [label for label, _ in runs]
    header = ["benchmark", "section", "key"] + labels + [f"Δ {label}" for label in labels[1:]]
    names: list[str] = []
    for _, res in runs:
        names += [n for n in res.get("benchmarks", {}) if n not in names]
    rows = []
    for name in names:
        keys: list[tuple[str, str]] = []
        vals: list[dict] = []
        for _, res in runs:
            b = res.get("benchmarks", {}).get(name)
            d = {(s, k): v for s, k, v in flat_scores(b)} if b else {}
            keys += [sk for sk in d if sk not in keys]
            vals.append(d)
        for s, k in keys:
            cells = [v.get((s, k)) for v in vals]
            row = [name, s, str(k)] + [fmt(k, c) for c in cells]
            for c in cells[1:]:
                row.append(_delta(str(k), cells[0], c))
            rows.append(row)
    title = "# Comparison: " + " vs ".join(f"`{label}`" for label in labels)
    return "\n".join([title, "", "Scores in %; Δ in points against the first run.", "", _table(header, rows), ""])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m mmreason.eval.report")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("show", help="Markdown table of one run")
    s.add_argument("run")
    c = sub.add_parser("compare", help="compare runs (the first is the baseline)")
    c.add_argument("runs", nargs="+")
    for p in (s, c):
        p.add_argument("-o", "--out", help="write the Markdown here instead of printing it")
    a = ap.parse_args(argv)
    if a.cmd == "show":
        md = results_markdown(load_results(a.run))
    else:
        if len(a.runs) < 2:
            ap.error("compare needs at least two runs")
        md = compare_markdown([(Path(r).name if Path(r).is_dir() else Path(r).parent.name, load_results(r))
                               for r in a.runs])
    if a.out:
        atomic_write_text(a.out, md)
    else:
        print(md)


if __name__ == "__main__":
    main()
