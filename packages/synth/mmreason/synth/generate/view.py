"""What a question family sees of a sampled path: its chunks, tables, charts, formulas, entities."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..kg.graph import KG
from ..kg.tables import singular

USABLE = ("ok", "embedded")  # Image node statuses with a file (embedded: taken out of a PDF into OUT)


@dataclass
class Draft:
    """One question before rendering. `compute` recomputes the answer from the graph (compute.py)."""

    family: str
    question: str
    answer: str  # canonical answer: a choice letter for 'choice'
    answer_type: str
    compute: dict
    cot: list[str]
    facts: list[str]  # edge keys the reasoning uses
    choices: list[str] = field(default_factory=list)
    operation: str = ""
    hide_columns: dict[str, list[str]] = field(default_factory=dict)  # table id -> columns not shown
    extra_nodes: list[str] = field(default_factory=list)  # support nodes off the path (a hidden table)
    answer_in_text_ok: bool = False  # the answer is a shown table cell; only the figure says which one

    @property
    def value(self) -> str:
        """The answer as text (the chosen option for 'choice')."""
        return self.choices[ord(self.answer) - 65] if self.answer_type == "choice" else self.answer


def cn(name: str) -> str:
    """A column or type name as a question writes it: a plain capitalised word of 4+ letters is lower-cased
    ("Boiling point" -> "boiling point"); everything else keeps the header's own spelling ("BLEU", "Acc",
    "P/E ratio", "F1", "GPU Type"); a year-like name becomes "2020 value"."""
    name = " ".join(name.split())
    if re.fullmatch(r"\d{4}", name):
        return f"{name} value"
    words = name.split()
    if words and re.fullmatch(r"[A-Z]?[a-z]{3,}[a-z'-]*", words[0]) and not any(re.search(r"[A-Z\d]", w) for w in words[1:]):
        return name[0].lower() + name[1:]
    return name


class View:
    def __init__(self, kg: KG, nodes: list[str], shown_types: set[str], table_images: bool = False):
        self.kg, self.g, self.nodes = kg, kg.g, nodes
        self.shown = shown_types
        self.table_images = table_images
        by = {t: [n for n in nodes if self.g.nodes[n]["type"] == t] for t in ("Chunk", "Table", "Image", "Formula", "Entity")}
        self.chunks, self.tables, self.images = by["Chunk"], by["Table"], by["Image"]
        # tables read by a VLM off a figure are never shown; with table_images only tables with a page crop
        self.tables = [t for t in self.tables if self.g.nodes[t].get("source") != "vlm"
                       and (not table_images or (self.g.nodes[t].get("status") in USABLE and self.g.nodes[t].get("path")))]
        self.formulas, self.entities = by["Formula"], by["Entity"]
        # figures that plot a known column of a table and have a readable file (a figure whose plotted
        # column is unknown, or a missing/corrupt one, is never asked about)
        self.charts = [i for i in self.images if self.chart(i) and self.g.nodes[i].get("status", "ok") in USABLE]

    def node(self, n) -> dict:
        return self.g.nodes[n]

    def label(self, n) -> str:
        d = self.g.nodes[n]
        return d.get("label") or d.get("name") or n

    def passage_no(self, chunk: str) -> int:
        return self.chunks.index(chunk) + 1

    # ---------------------------------------------------------------- tables
    def cells(self, table: str, column: str | None = None) -> list[dict]:
        """Numeric or entity cells with their edge keys, in row order."""
        out = []
        for u, _, k, d in self.g.in_edges(table, keys=True, data=True):
            if d["type"] == "has_attribute" and (column is None or d["name"] == column) \
                    and f"{d['name']} {d['raw']}" not in self.g.nodes[u]["name"]:  # "RankMistral (N 20)": N is its name
                out.append({"key": k, "entity": self.g.nodes[u]["name"], "entity_id": u, "column": d["name"],
                            "value": d["value"], "unit": d["unit"], "raw": d["raw"], "row": d["row"], "col": d["col"]})
        return sorted(out, key=lambda c: (c["row"], c["col"]))

    def numeric_columns(self, table: str) -> list[str]:
        d = self.g.nodes[table]
        return [c for c, kind in zip(d["columns"], d.get("kinds") or []) if kind == "number"
                and len(self.num_cells(table, c)) >= 2]

    def num_cells(self, table: str, column: str) -> list[dict]:
        return [c for c in self.cells(table, column) if isinstance(c["value"], (int, float))]

    def unit(self, table: str, column: str) -> str | None:
        d = self.g.nodes[table]
        if column in d["columns"]:
            u = d["units"][d["columns"].index(column)]
            if u:
                return u
        units = {c["unit"] for c in self.num_cells(table, column) if c["unit"]}
        return units.pop() if len(units) == 1 else None

    def key_type(self, table: str) -> str:
        """What a row is called: the key column's header ("compound"), or "entry" when it has none."""
        d = self.g.nodes[table]
        words = cn(d["columns"][d.get("key_column", 0)]).split(" ")
        words[-1] = singular(words[-1])  # "models" -> "model": one row is one of them
        return " ".join(words) or "entry"

    def row_count(self, table: str) -> int:
        """Row entities of a table (summary and dropped rows are not rows)."""
        return sum(1 for _, _, d in self.g.in_edges(table, data=True) if d["type"] == "row_of")

    def complete(self, table: str, column: str) -> bool:
        """Every row of the table has a number in this column, and no row left out of the graph (a duplicate
        key) has one: aggregates over "all rows" need that."""
        n = len(self.num_cells(table, column))
        if n < 2 or n != self.row_count(table):
            return False
        d = self.g.nodes[table]
        j = d["columns"].index(column) if column in d["columns"] else -1
        return not any(role == "dropped" and j >= 0 and j < len(vals) and vals[j] is not None
                       for role, vals in zip(d.get("roles") or [], d.get("values") or []))

    def relations_of_table(self, table: str) -> list[tuple[str, str, str, dict]]:
        return [(u, v, k, d) for u, v, k, d in self.kg.edges_of("relation") if d.get("table") == table]

    # ---------------------------------------------------------------- charts / formulas
    def chart(self, image: str) -> tuple[str, str] | None:
        """(plotted table, plotted column) of a chart image."""
        p = self.kg.plotted_table(image)
        if not p or not p[1]:
            return None
        return p[0], p[1][0]

    def formula_bindings(self, f: str) -> dict[str, tuple[str, str]]:
        return self.kg.formula_columns(f)

    def mentions(self, chunk: str) -> list[tuple[int, str, str]]:
        """(span start, entity id, edge key) of the entities a chunk mentions, in reading order."""
        out = [(d["provenance"]["span"][0], v, k) for _, v, k, d in self.g.out_edges(chunk, keys=True, data=True)
               if d["type"] == "mentions"]
        return sorted(out)
