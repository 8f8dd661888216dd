"""A seeded generator of multimodal documents with ground truth (the shipped `examples/corpus`).

Five domains (chemistry, history, papers, reports, law). Each document is Markdown with prose, two
tables (one pipe table, one HTML table), charts rendered from the tables' numbers (matplotlib, Agg),
a labelled diagram, LaTeX formulas where the domain has them, captions and in-text references
("Table 2", "Figure 1", "Eq. (3)"). Beside each `<name>.md` a `<name>.truth.json` lists:

    facts       every fact put in the tables: {entity, entity_type, relation, value, unit} for a
                number, {entity, entity_type, relation, object, object_type} for an entity
    figures     {label, path, kind, table, columns, rows} (table None for a diagram, with its parts)
    formulas    {label, latex, variables: {symbol: quantity}, columns: {symbol: [table label, column]}}
    references  the in-text references, e.g. ["Table 1", "Figure 1", "Eq. (1)"]

    python -m mmreason.synth.corpus --out examples/corpus --n-per-domain 3 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from mmreason.core.schema import make_id

DOMAINS = ("chemistry", "history", "papers", "reports", "law")


@dataclass
class Col:
    """A table column: numeric (lo, hi, decimals) or entity-valued (object_type, pool)."""

    name: str
    unit: str = ""
    lo: float = 0.0
    hi: float = 1.0
    decimals: int = 1
    object_type: str = ""  # set for entity-valued columns
    pool: tuple[str, ...] = ()
    unit_in_cell: bool = False  # "0.789 g/cm³" instead of a unit in the header
    prefix: str = ""  # "$" in cells
    thousands: bool = False
    derive: str = ""  # python expression over other columns (by name) e.g. "Precision*Recall"


@dataclass
class TableSpec:
    key: str  # key column header = entity type of the rows
    plural: str
    pool: tuple[str, ...]
    cols: list[Col]
    caption: str
    n_rows: tuple[int, int] = (4, 5)


@dataclass
class FormulaSpec:
    latex: str
    variables: dict[str, str]  # latex symbol -> quantity name (as written in the prose)
    sym_names: dict[str, str]  # latex symbol -> sympy symbol name
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)  # sympy name -> (table index, column)


@dataclass
class DomainSpec:
    title: str
    kind: str
    tables: list[TableSpec]
    formulas: list[FormulaSpec]
    diagram: tuple[str, tuple[str, ...]]  # caption, parts


PEOPLE = ("Marie Curie", "Antoine Lavoisier", "Humphry Davy", "William Ramsay", "Carl Scheele",
          "Joseph Priestley", "Henry Cavendish", "Dmitri Mendeleev", "Lise Meitner", "Glenn Seaborg")
COMPOUNDS = ("Ethanol", "Methanol", "Benzene", "Acetone", "Toluene", "Glycerol", "Acetic acid", "Hexane",
             "Chloroform", "Phenol", "Pyridine", "Styrene", "Aniline", "Xylene", "Formamide", "Octane")
ELEMENTS = ("Sodium", "Potassium", "Calcium", "Barium", "Oxygen", "Chlorine", "Argon", "Neon", "Mercury",
            "Radium", "Polonium", "Fluorine", "Magnesium", "Lithium")
BATTLES = ("Battle of Hastings", "Battle of Agincourt", "Battle of Lepanto", "Battle of Vienna",
           "Battle of Poltava", "Battle of Leuthen", "Battle of Austerlitz", "Battle of Leipzig",
           "Battle of Waterloo", "Battle of Tours", "Battle of Crecy", "Battle of Blenheim")
PLACES = ("Normandy", "Flanders", "Bohemia", "Saxony", "Castile", "Lombardy", "Prussia", "Burgundy",
          "Aragon", "Silesia", "Moravia", "Brabant")
COMMANDERS = ("William the Conqueror", "Henry V", "John of Austria", "Jan Sobieski", "Peter the Great",
              "Frederick the Great", "Napoleon Bonaparte", "Arthur Wellesley", "Charles Martel",
              "Edward III", "John Churchill", "Gustavus Adolphus")
RULERS = ("Charlemagne", "Otto the Great", "Frederick Barbarossa", "Louis IX", "Philip IV", "Charles V",
          "Elizabeth I", "Louis XIV", "Catherine the Great", "Maria Theresa", "Suleiman I", "Ivan IV")
CITIES = ("Aachen", "Paris", "Vienna", "Madrid", "London", "Prague", "Toledo", "Krakow", "Istanbul",
          "Moscow", "Rome", "Lisbon")
MODELS = ("GraphNet", "TabFormer", "VisBERT", "ChartLM", "DocReader", "FormulaNet", "LayoutT5", "PlotQA-Net",
          "SciGPT", "MathViT", "TextCNN", "RelNet")
DATASETS = ("SciTab", "ChartQA-S", "DocVQA-S", "FigureSeer", "PubTables", "MathBench", "PlotBank", "TabFact-S",
            "InfoGraph", "SlideQA")
ORGS = ("Allen Lab", "Turing Institute", "Nordic AI Centre", "Pacific Research", "Alpine Labs",
        "Delta University", "Meridian AI", "Harbor Institute")
COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella Holdings", "Stark Industries", "Wayne Enterprises",
             "Hooli", "Vandelay Imports", "Soylent Foods", "Tyrell Systems", "Cyberdyne", "Wonka Industries")
SECTORS = ("Technology", "Healthcare", "Energy", "Financials", "Industrials", "Consumer Staples", "Utilities")
CASES = ("Smith v. Jones", "Brown v. Carter", "Miller v. Davis", "Wilson v. Taylor", "Moore v. Clark",
         "Hall v. Young", "Allen v. King", "Wright v. Scott", "Green v. Baker", "Adams v. Nelson")
COURTS = ("Supreme Court", "Court of Appeal", "High Court", "District Court", "Federal Court")
JUDGES = ("Judge Harlan", "Judge Warren", "Judge Marshall", "Judge Holmes", "Judge Brandeis", "Judge Story",
          "Judge Cardozo", "Judge Taney")
STATUTES = ("Consumer Protection Act", "Data Privacy Act", "Fair Trading Act", "Clean Air Act",
            "Securities Act", "Competition Act", "Employment Rights Act", "Product Safety Act")
JURISDICTIONS = ("England", "Scotland", "Ontario", "Victoria", "California", "Bavaria", "Quebec")

SPECS: dict[str, DomainSpec] = {
    "chemistry": DomainSpec(
        title="Physical properties of {first} and related compounds", kind="technical note",
        tables=[
            TableSpec("Compound", "compounds", COMPOUNDS, [
                Col("Molar mass", "g/mol", 30, 200, 2), Col("Boiling point", "°C", -40, 250, 1),
                Col("Density", "g/cm³", 0.6, 1.6, 3, unit_in_cell=True),
                Col("Mass", "g", 5, 50, 1), Col("Volume", "cm³", derive="Mass/Density", decimals=2),
            ], "Physical properties of the compounds studied"),
            TableSpec("Element", "elements", ELEMENTS, [
                Col("Atomic mass", "u", 4, 230, 3), Col("Electronegativity", "", 0.7, 4.0, 2),
                Col("Discovered by", object_type="Person", pool=PEOPLE),
            ], "Elements used as reagents and their discoverers"),
        ],
        formulas=[
            FormulaSpec(r"\rho = \frac{m}{V}", {r"\rho": "density", "m": "mass", "V": "volume"},
                        {r"\rho": "rho", "m": "m", "V": "V"},
                        {"rho": (0, "Density"), "m": (0, "Mass"), "V": (0, "Volume")}),
            FormulaSpec(r"n = \frac{m}{M}", {"n": "amount of substance", "m": "mass", "M": "molar mass"},
                        {"n": "n", "m": "m", "M": "M"}, {"m": (0, "Mass"), "M": (0, "Molar mass")}),
        ],
        diagram=("Schematic of the distillation apparatus", ("Flask", "Column", "Condenser", "Receiver")),
    ),
    "history": DomainSpec(
        title="Campaigns and rulers: {first} in context", kind="survey",
        tables=[
            TableSpec("Battle", "battles", BATTLES, [
                Col("Year", "", 1000, 1815, 0), Col("Casualties", "", 500, 60000, 0, thousands=True),
                Col("Location", object_type="Place", pool=PLACES),
                Col("Commander", object_type="Person", pool=COMMANDERS),
            ], "Major battles discussed in this survey"),
            TableSpec("Ruler", "rulers", RULERS, [
                Col("Reign start", "", 800, 1750, 0), Col("Reign length", "years", 3, 60, 0),
                Col("Capital", object_type="City", pool=CITIES),
            ], "Rulers of the period and their capitals"),
        ],
        formulas=[],
        diagram=("Succession of the ruling houses", ("Carolingians", "Ottonians", "Salians", "Hohenstaufen")),
    ),
    "papers": DomainSpec(
        title="Benchmarking {first} on document understanding", kind="paper",
        tables=[
            TableSpec("Model", "models", MODELS, [
                Col("Parameters", "M", 10, 900, 0), Col("Precision", "%", 55, 95, 1),
                Col("Recall", "%", 50, 95, 1), Col("F1", "%", derive="2*Precision*Recall/(Precision+Recall)"),
                Col("Trained on", object_type="Dataset", pool=DATASETS),
            ], "Results of the evaluated models on the test split"),
            TableSpec("Dataset", "datasets", DATASETS, [
                Col("Train size", "examples", 1000, 90000, 0, thousands=True),
                Col("Test size", "examples", 200, 9000, 0, thousands=True),
                Col("Released by", object_type="Organization", pool=ORGS),
            ], "Datasets used for training and evaluation"),
        ],
        formulas=[
            FormulaSpec(r"F_1 = \frac{2 P R}{P + R}", {"F_1": "F1", "P": "precision", "R": "recall"},
                        {"F_1": "F_{1}", "P": "P", "R": "R"},
                        {"F_{1}": (0, "F1"), "P": (0, "Precision"), "R": (0, "Recall")}),
            FormulaSpec(r"r = \frac{N_{test}}{N_{train}}", {"r": "test ratio", "N_{test}": "test size",
                                                             "N_{train}": "train size"},
                        {"r": "r", "N_{test}": "N_{test}", "N_{train}": "N_{train}"},
                        {"N_{test}": (1, "Test size"), "N_{train}": (1, "Train size")}),
        ],
        diagram=("Architecture of the evaluation pipeline", ("Parser", "Encoder", "Decoder", "Scorer")),
    ),
    "reports": DomainSpec(
        title="Equity research: {first} and peers", kind="research report",
        tables=[
            TableSpec("Company", "companies", COMPANIES, [
                Col("Revenue", "USD million", 1500, 9000, 1, thousands=True),
                Col("Net income", "USD million", 10, 900, 1),
                Col("Net margin", "%", derive="100*Net income/Revenue"),
                Col("Sector", object_type="Sector", pool=SECTORS),
            ], "Financial summary of the covered companies"),
            TableSpec("Company", "companies", COMPANIES, [
                Col("Share price", "USD", 10, 400, 2, prefix="$"), Col("EPS", "USD", 0.5, 12, 2),
                Col("P/E ratio", "", derive="Share price/EPS"),
            ], "Valuation of the covered companies"),
        ],
        formulas=[
            FormulaSpec(r"\mathrm{NM} = \frac{I}{S} \times 100",
                        {r"\mathrm{NM}": "net margin", "I": "net income", "S": "revenue"},
                        {r"\mathrm{NM}": "NM", "I": "I", "S": "S"},
                        {"NM": (0, "Net margin"), "I": (0, "Net income"), "S": (0, "Revenue")}),
            FormulaSpec(r"\mathrm{PE} = \frac{p}{e}", {r"\mathrm{PE}": "P/E ratio", "p": "share price", "e": "EPS"},
                        {r"\mathrm{PE}": "PE", "p": "p", "e": "e"},
                        {"PE": (1, "P/E ratio"), "p": (1, "Share price"), "e": (1, "EPS")}),
        ],
        diagram=("Coverage workflow of the research desk", ("Data", "Model", "Valuation", "Rating")),
    ),
    "law": DomainSpec(
        title="Recent decisions under the {first} line of cases", kind="legal memo",
        tables=[
            TableSpec("Case", "cases", CASES, [
                Col("Year", "", 1950, 2024, 0), Col("Damages awarded", "USD", 5000, 2_000_000, 0, thousands=True),
                Col("Court", object_type="Court", pool=COURTS), Col("Judge", object_type="Person", pool=JUDGES),
            ], "Cases reviewed in this memo"),
            TableSpec("Statute", "statutes", STATUTES, [
                Col("Year enacted", "", 1900, 2023, 0), Col("Maximum fine", "USD", 1000, 500000, 0, thousands=True),
                Col("Maximum sentence", "years", 1, 20, 0),
                Col("Jurisdiction", object_type="Place", pool=JURISDICTIONS),
            ], "Statutes applied in the cases"),
        ],
        formulas=[],
        diagram=("Hierarchy of the courts", ("Supreme Court", "Court of Appeal", "High Court", "District Court")),
    ),
}


# ---------------------------------------------------------------- table values


def _fmt(v: float, col: Col) -> str:
    s = f"{v:,.{col.decimals}f}" if col.thousands else f"{v:.{col.decimals}f}"
    s = f"{col.prefix}{s}"
    return f"{s} {col.unit}" if col.unit_in_cell and col.unit else s


def _header(col: Col) -> str:
    return f"{col.name} ({col.unit})" if col.unit and not col.unit_in_cell else col.name


def _make_table(spec: TableSpec, rng: random.Random, rows_from: list[str] | None) -> dict:
    names = rows_from or rng.sample(spec.pool, rng.randint(*spec.n_rows))
    rows = []
    for name in names:
        vals: dict[str, object] = {}
        for col in spec.cols:
            if col.object_type:
                vals[col.name] = rng.choice(col.pool)
            elif col.derive:
                expr = col.derive
                for other in sorted(vals, key=len, reverse=True):
                    expr = expr.replace(other, f"vals[{other!r}]")
                vals[col.name] = round(eval(expr, {"vals": vals}), col.decimals)  # noqa: S307 (our own spec)
            else:
                vals[col.name] = round(rng.uniform(col.lo, col.hi), col.decimals)
                if col.decimals == 0:
                    vals[col.name] = int(vals[col.name])
        rows.append((name, vals))
    return {"spec": spec, "rows": rows}


def _table_md(t: dict, label: str) -> str:
    spec: TableSpec = t["spec"]
    head = [spec.key] + [_header(c) for c in spec.cols]
    lines = [f"{label}: {spec.caption}.", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, vals in t["rows"]:
        cells = [name] + [str(vals[c.name]) if c.object_type else _fmt(vals[c.name], c) for c in spec.cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _table_html(t: dict, label: str) -> str:
    spec: TableSpec = t["spec"]
    head = [spec.key] + [_header(c) for c in spec.cols]
    out = ["<table>", f"<caption>{label}: {spec.caption}.</caption>",
           "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for name, vals in t["rows"]:
        cells = [name] + [str(vals[c.name]) if c.object_type else _fmt(vals[c.name], c) for c in spec.cols]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _facts(t: dict) -> list[dict]:
    spec: TableSpec = t["spec"]
    out = []
    for name, vals in t["rows"]:
        for col in spec.cols:
            base = {"entity": name, "entity_type": spec.key, "relation": col.name.lower()}
            if col.object_type:
                out.append({**base, "object": vals[col.name], "object_type": col.object_type})
            else:
                out.append({**base, "value": vals[col.name], "unit": col.unit})
    return out


# ---------------------------------------------------------------- figures


def _render(path: Path, kind: str, labels: list[str], values: list[float], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4, 3), dpi=80)  # 320x240 px
    ax = fig.add_subplot(111)
    if kind == "bar":
        ax.bar(range(len(values)), values, color="#4c72b0")
    elif kind == "line":
        ax.plot(range(len(values)), values, marker="o", color="#dd8452")
    if kind in ("bar", "line"):
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([lb[:10] for lb in labels], fontsize=6, rotation=20)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_title(title, fontsize=8)
    else:  # diagram: labelled boxes joined by arrows
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        n = len(labels)
        for i, lb in enumerate(labels):
            x = (i + 0.5) / n
            ax.text(x, 0.5, lb, ha="center", va="center", fontsize=6,
                    bbox={"boxstyle": "round", "fc": "#e8eef7", "ec": "#335"})
            if i + 1 < n:
                ax.annotate("", xy=((i + 1.5) / n - 0.09, 0.5), xytext=(x + 0.09, 0.5),
                            arrowprops={"arrowstyle": "->"})
        ax.set_title(title, fontsize=8)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.16, top=0.9)  # no tight_layout: it draws twice
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)


# ---------------------------------------------------------------- documents


def _join(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _num(v: float, col: Col) -> str:
    s = _fmt(v, Col(col.name, decimals=col.decimals, thousands=col.thousands))
    return f"{s} {col.unit}" if col.unit else s


def make_document(domain: str, index: int, seed: int, out_dir: Path, render: bool = True) -> tuple[str, dict]:
    """Write `<domain>_<index>.md` (+ images, + truth) under out_dir/<domain>; return (markdown, truth)."""
    spec = SPECS[domain]
    rng = random.Random(make_id(domain, index, seed))
    stem = f"{domain}_{index:03d}"
    ddir = out_dir / domain
    t1 = _make_table(spec.tables[0], rng, None)
    same_rows = spec.tables[1].key == spec.tables[0].key
    t2 = _make_table(spec.tables[1], rng, [n for n, _ in t1["rows"]] if same_rows else None)
    tables = [t1, t2]
    names1 = [n for n, _ in t1["rows"]]
    names2 = [n for n, _ in t2["rows"]]
    refs: list[str] = []

    def ref(label: str) -> str:
        refs.append(label)
        return label

    num_cols = [[c for c in t["spec"].cols if not c.object_type] for t in tables]
    ent_cols = [[c for c in t["spec"].cols if c.object_type] for t in tables]
    c1 = num_cols[0][rng.randrange(len(num_cols[0]))]
    c2 = num_cols[1][rng.randrange(len(num_cols[1]))]
    first_name, first_vals = t1["rows"][0]
    title = spec.title.format(first=first_name)

    md: list[str] = [f"# {title}", ""]
    md += [f"This {spec.kind} examines {len(names1)} {t1['spec'].plural}: {_join(names1)}. "
           f"Their main figures are collected in {ref('Table 1')}, and {ref('Figure 1')} plots the "
           f"{c1.name.lower()} of each of them.", ""]
    md += ["## Data", "", _table_md(t1, "Table 1"), ""]
    v = first_vals[c1.name]
    md += [f"{first_name} has a {c1.name.lower()} of {_num(v, c1)}, as listed in {ref('Table 1')}."
           + (f" The {ent_cols[0][0].name.lower()} entry for {first_name} is {first_vals[ent_cols[0][0].name]}."
              if ent_cols[0] else ""), ""]
    img_dir = "images"
    figures = []
    f1 = {"label": "Figure 1", "path": f"{img_dir}/{stem}_fig1.png", "kind": "bar", "table": "Table 1",
          "columns": [c1.name], "rows": names1}
    cap1 = f"Figure 1: {_header(Col(c1.name, c1.unit))} of the {t1['spec'].plural} in Table 1"
    md += [f"![{cap1}]({f1['path']})", ""]
    figures.append(f1)
    md += [f"## {t2['spec'].plural.capitalize()}", ""]
    md += [f"{ref('Table 2')} lists {len(names2)} {t2['spec'].plural}. {ref('Figure 2')} shows their "
           f"{c2.name.lower()}.", ""]
    md += [_table_html(t2, "Table 2"), ""]
    f2 = {"label": "Figure 2", "path": f"{img_dir}/{stem}_fig2.png", "kind": "line", "table": "Table 2",
          "columns": [c2.name], "rows": names2}
    # no explicit table reference in this caption: the link must come from the column name
    cap2 = f"Figure 2: {c2.name} by {t2['spec'].key.lower()}"
    md += [f"![{cap2}]({f2['path']})", ""]
    figures.append(f2)
    if ent_cols[1]:
        n2, v2 = t2["rows"][-1]
        md += [f"The {ent_cols[1][0].name.lower()} entry for {n2} is {v2[ent_cols[1][0].name]}.", ""]
    dcap, parts = spec.diagram
    f3 = {"label": "Figure 3", "path": f"{img_dir}/{stem}_fig3.png", "kind": "diagram", "table": None,
          "columns": [], "rows": [], "parts": list(parts)}
    md += [f"The overall process is summarised in {ref('Figure 3')}.", "", f"![Figure 3: {dcap}]({f3['path']})", ""]
    figures.append(f3)

    formulas = []
    if spec.formulas:
        md += ["## Method", ""]
        for k, fs in enumerate(spec.formulas, start=1):
            label = f"Eq. ({k})"
            md += [f"The quantities are related by {ref(label)}:", ""]
            body = f"{fs.latex} \\tag{{{k}}}"
            md += ([f"$$\n{body}\n$$"] if k % 2 else [f"\\[ {body} \\]"]) + [""]
            where = ", ".join(f"${s}$ is the {q}" for s, q in fs.variables.items())
            md += [f"where {where}.", ""]
            cols = {sym: [f"Table {ti + 1}", cname] for sym, (ti, cname) in fs.columns.items()}
            formulas.append({"label": label, "latex": fs.latex,
                             "variables": {fs.sym_names[s]: q for s, q in fs.variables.items()},
                             "columns": cols})
    md += ["## Conclusion", "", f"Taken together, {ref('Table 1')} and {ref('Table 2')} give a consistent "
           f"picture of the {t1['spec'].plural} discussed here.", ""]
    text = "\n".join(md)

    facts = _facts(t1) + _facts(t2)
    truth = {
        "doc": f"{stem}.md", "domain": domain, "title": title, "seed": seed,
        "tables": [{"label": f"Table {i + 1}", "key": t["spec"].key, "caption": t["spec"].caption,
                    "columns": [c.name for c in t["spec"].cols], "rows": [n for n, _ in t["rows"]]}
                   for i, t in enumerate(tables)],
        "facts": facts, "figures": figures, "formulas": formulas,
        "references": sorted(set(refs)),
    }
    ddir.mkdir(parents=True, exist_ok=True)
    (ddir / f"{stem}.md").write_text(text, encoding="utf-8")
    (ddir / f"{stem}.truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if render:
        for f, t, c in ((f1, t1, c1), (f2, t2, c2)):
            _render(ddir / f["path"], f["kind"], [n for n, _ in t["rows"]],
                    [float(vals[c.name]) for _, vals in t["rows"]], c.name)
        _render(ddir / f3["path"], "diagram", list(parts), [], dcap)
    return text, truth


def generate(out_dir: str | Path, n_per_domain: int = 3, seed: int = 0, domains=DOMAINS,
             render: bool = True, progress: bool = False) -> list[Path]:
    """Write n_per_domain documents for each domain; returns the Markdown paths."""
    out_dir = Path(out_dir)
    jobs = [(d, i) for d in domains for i in range(n_per_domain)]
    paths = []
    it = jobs
    if progress:
        from rich.progress import track

        it = track(jobs, description="corpus")
    for d, i in it:
        make_document(d, i, seed, out_dir, render=render)
        paths.append(out_dir / d / f"{d}_{i:03d}.md")
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-per-domain", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--domains", default=",".join(DOMAINS))
    a = ap.parse_args(argv)
    paths = generate(a.out, a.n_per_domain, a.seed, tuple(a.domains.split(",")), progress=True)
    print(f"wrote {len(paths)} documents to {a.out}")


if __name__ == "__main__":
    main()
