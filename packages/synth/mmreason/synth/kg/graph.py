"""The multimodal knowledge graph: a `networkx.MultiDiGraph` with typed nodes and typed multi-edges.

Every node has `type` (one of NODE_TYPES) and `provenance`: a list of {doc, block, span} (span =
[start, end] character offsets in the source file; for MinerU the item index). Every edge has `type`
(one of EDGE_TYPES), `provenance` (one {doc, block, span}) and `extractor` ("structural" | "llm" |
"vlm" | "resolution"). Two edges between the same pair survive side by side (edge keys are
content-derived). Ids are content-derived (`mmreason.core.schema.make_id`), stable across runs:

    Document  doc:<id(path, sha)>        path (relative to input_dir), domain (first folder), title, sha,
                                         n_blocks, sections [heading paths "Title / Data", in order]
    (Chunk, Table, Image and Formula nodes also carry doc, block, span, section (heading path), page)
    Chunk     chunk:<id(doc, block, text)>  text (one paragraph; headings are not chunks, they are `section`)
    Table     table:<id(doc, block)>     label ("Table 1"), number, caption, header [str], columns [name
                                         without unit; "" = no usable name], units [str|None], rows [[str]]
                                         (body rows, raw cells), values [[float|None]], key_column, kinds
                                         [key|number|entity|text|empty per column], roles [data|summary|
                                         section|dropped per row], summary [{row, label, values}] ("Total"
                                         rows), header_rows; a PDF table's page crop as path, path_root,
                                         status, sha, width, height (as an Image); source "vlm" for the
                                         data a VLM read off a chart (hidden, never shown)
    Image     image:<id(doc, block)>     label ("Figure 1"), number, caption, path, path_root ("input":
                                         relative to graph["input_dir"]; "out": to graph["out_dir"], for
                                         PDF crops and embedded images), sha, width, height, status
                                         (ok|missing|corrupt|outside_input|embedded|remote), vlm ({kind, table:
                                         {header, rows}, parts} from the VLM pass, else None)
    Formula   formula:<id(doc, block)>   label ("Eq. (1)"), number, latex, sympy (str or None), srepr,
                                         variables [sympy symbol names], quantities {symbol: quantity
                                         named in the prose}, parse_error
    Entity    ent:<id(norm name, type)>  name, entity_type, aliases [str], docs [doc ids]

Edges (u -> v):

    belongs_to     Chunk/Table/Image/Formula -> Document
    next           block node -> the next block node of the same document (reading order)
    mentions       Chunk -> Entity                      span of the mention in the chunk's block
    refers_to      Chunk -> Table/Image/Formula         label, kind (in-text "Table 2"/"Figure 1"/"Eq. (3)")
                   Image/Table -> Table/Image/Formula   (a caption's reference)
    row_of         Entity -> Table                      row (0-based body row)
    has_attribute  Entity -> Table                      one per numeric/text cell: name (column, no unit),
                                                        value (float or str), unit (str|None), raw (cell),
                                                        row, col, table
    relation       Entity -> Entity                     name (e.g. "discovered by"); from a table cell
                                                        (table, row, col) or from the llm extractor (chunk)
    plots          Image -> Table                       columns [names], rows [row entity names], kind
    uses_quantity  Formula -> Table                     variable (sympy name), column, quantity
    same_as        (never stored: resolution merges nodes and keeps `aliases`)

Graph attributes (`kg.g.graph`): input_dir, out_dir (set by build_kg).

Query helpers for the QA stage: `table_cells`, `plotted_table`, `formula_columns`, `formula_expr`,
`image_file`, `chunk_texts`, `entity_relations`, `nodes_of`, `edges_of`, `by_label`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import networkx as nx

from mmreason.core.schema import make_id

NODE_TYPES = ("Document", "Chunk", "Entity", "Table", "Image", "Formula")
EDGE_TYPES = ("belongs_to", "next", "mentions", "refers_to", "row_of", "has_attribute", "relation", "plots",
              "uses_quantity")


def prov(doc: str, block: int | None = None, span=(0, 0)) -> dict:
    return {"doc": doc, "block": block, "span": [int(span[0]), int(span[1])]}


_PUNCT = re.compile(r"[^\w\s/%.+-]|_")  # "+" kept: "Command R+" is not "Command R"
_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
# the same mapping for ASCII text as a translate table (str.translate is ~10x faster than the regex)
_ASCII_PUNCT = {i: " " for i in range(128) if _PUNCT.match(chr(i))}
_ARTICLES = frozenset(("the", "a", "an"))


@functools.lru_cache(maxsize=200_000)
def norm_name(name: str) -> str:
    """Normalised entity name: NFKC, casefold, punctuation (but / % . + -) → space, articles dropped, spaces
    collapsed."""
    if name.isascii():  # NFKC and casefold are identities / lower() on ASCII
        s = name.lower().translate(_ASCII_PUNCT)
    else:
        s = _PUNCT.sub(" ", unicodedata.normalize("NFKC", name).casefold())
    if "." in s:
        s = _DOT.sub(" ", s)
    words = [w for w in s.split() if w not in _ARTICLES]
    return " ".join(words) or s.strip()


def entity_id(name: str, etype: str) -> str:
    return make_id(norm_name(name), etype.casefold(), prefix="ent:")


class KG:
    """Thin typed layer over `nx.MultiDiGraph` (`kg.g` is the graph itself)."""

    def __init__(self, g: nx.MultiDiGraph | None = None):
        self.g = g if g is not None else nx.MultiDiGraph()

    # ------------------------------------------------------------ building
    def add_node(self, nid: str, ntype: str, provenance: dict | None = None, **attrs: Any) -> str:
        if ntype not in NODE_TYPES:
            raise ValueError(f"unknown node type {ntype!r}; expected one of {NODE_TYPES}")
        if nid in self.g:
            node = self.g.nodes[nid]
            if node["type"] != ntype:
                raise ValueError(f"node {nid} is a {node['type']}, not a {ntype}")
            for k, v in attrs.items():
                if k == "aliases":
                    node["aliases"] = sorted(set(node.get("aliases", [])) | set(v))
                elif k == "docs":
                    node["docs"] = sorted(set(node.get("docs", [])) | set(v))
                elif node.get(k) in (None, "", [], {}):
                    node[k] = v
        else:
            self.g.add_node(nid, type=ntype, provenance=[], **attrs)
        if provenance is not None and provenance not in self.g.nodes[nid]["provenance"]:
            self.g.nodes[nid]["provenance"].append(provenance)
        return nid

    def add_entity(self, name: str, etype: str, provenance: dict | None = None) -> str:
        name = " ".join(name.split())
        nid = entity_id(name, etype)
        docs = [provenance["doc"]] if provenance else []
        return self.add_node(nid, "Entity", provenance, name=name, entity_type=etype, aliases=[name], docs=docs)

    def add_edge(self, u: str, v: str, etype: str, provenance: dict, extractor: str = "structural",
                 **attrs: Any) -> str:
        if etype not in EDGE_TYPES:
            raise ValueError(f"unknown edge type {etype!r}; expected one of {EDGE_TYPES}")
        for n in (u, v):
            if n not in self.g:
                raise KeyError(f"edge {etype} {u} -> {v}: node {n} is not in the graph")
        key = make_id(u, v, etype, provenance, attrs.get("name"), attrs.get("col"), attrs.get("label"), prefix="e:")
        if not self.g.has_edge(u, v, key):
            self.g.add_edge(u, v, key=key, type=etype, provenance=provenance, extractor=extractor, **attrs)
        return key

    # ------------------------------------------------------------ queries
    def nodes_of(self, ntype: str, doc: str | None = None) -> list[str]:
        return [n for n, d in self.g.nodes(data=True) if d["type"] == ntype and (doc is None or d.get("doc") == doc
                                                                              or doc in d.get("docs", ()))]

    def edges_of(self, etype: str, doc: str | None = None) -> Iterator[tuple[str, str, str, dict]]:
        for u, v, k, d in self.g.edges(keys=True, data=True):
            if d["type"] == etype and (doc is None or d["provenance"]["doc"] == doc):
                yield u, v, k, d

    def by_label(self, doc: str, label: str) -> str | None:
        """The Table/Image/Formula node of a document with that label ("Table 2"), or None."""
        return self.label_index().get((doc, label))

    def label_index(self) -> dict[tuple[str, str], str]:
        """{(doc id, label): node id}; rebuilt when the node count changed."""
        cache = getattr(self, "_labels", None)
        if cache is None or cache[0] != self.g.number_of_nodes():
            idx: dict[tuple[str, str], str] = {}
            for n, d in self.g.nodes(data=True):
                if d.get("label") and d.get("doc"):
                    idx.setdefault((d["doc"], d["label"]), n)
            self._labels = cache = (self.g.number_of_nodes(), idx)
        return cache[1]

    def table_cells(self, table_id: str) -> list[dict]:
        """Each attribute cell of a table: {entity, entity_id, column, value, unit, raw, row, col}."""
        out = []
        for u, _, _, d in self.g.in_edges(table_id, keys=True, data=True):
            if d["type"] == "has_attribute":
                out.append({"entity": self.g.nodes[u]["name"], "entity_id": u, "column": d["name"],
                            "value": d["value"], "unit": d["unit"], "raw": d["raw"], "row": d["row"], "col": d["col"]})
        return sorted(out, key=lambda c: (c["row"], c["col"]))

    def plotted_table(self, image_id: str) -> tuple[str, list[str], list[str]] | None:
        """(table id, columns, rows) that an image plots (an edge naming columns first), or None."""
        edges = [(v, d) for _, v, d in self.g.out_edges(image_id, data=True) if d["type"] == "plots"]
        edges.sort(key=lambda e: not e[1]["columns"])
        return (edges[0][0], edges[0][1]["columns"], edges[0][1]["rows"]) if edges else None

    def formula_columns(self, formula_id: str) -> dict[str, tuple[str, str]]:
        """{sympy variable name: (table id, column)} for a formula."""
        return {d["variable"]: (v, d["column"]) for _, v, d in self.g.out_edges(formula_id, data=True)
                if d["type"] == "uses_quantity"}

    def formula_expr(self, formula_id: str):
        """The formula's sympy expression (re-parsed from its srepr), or None when it did not parse."""
        srepr = self.g.nodes[formula_id].get("srepr")
        if not srepr:
            return None
        import sympy

        return sympy.sympify(srepr)  # srepr text is sympy's own constructor syntax

    def image_file(self, image_id: str):
        """Absolute path of an image's file (None when it has none or the graph has no roots)."""
        from pathlib import Path

        d = self.g.nodes[image_id]
        base = self.g.graph.get("out_dir" if d.get("path_root") == "out" else "input_dir")
        if not d.get("path") or not base or d.get("status") not in ("ok", "embedded"):
            return None
        return Path(base) / d["path"]

    def chunk_texts(self, doc: str | None = None) -> dict[str, str]:
        return {n: self.g.nodes[n]["text"] for n in self.nodes_of("Chunk", doc)}

    def entity_relations(self, entity_id: str) -> list[dict]:
        """Entity-entity relations leaving or entering an entity, with provenance."""
        out = []
        for u, v, d in list(self.g.out_edges(entity_id, data=True)) + list(self.g.in_edges(entity_id, data=True)):
            if d["type"] == "relation":
                out.append({"head": self.g.nodes[u]["name"], "relation": d["name"], "tail": self.g.nodes[v]["name"],
                            "head_id": u, "tail_id": v, "provenance": d["provenance"], "extractor": d["extractor"]})
        return out

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        from collections import Counter

        nodes = Counter(d["type"] for _, d in self.g.nodes(data=True))
        edges = Counter(d["type"] for _, _, d in self.g.edges(data=True))
        return dict(sorted(nodes.items())), dict(sorted(edges.items()))

    def merge(self, other: KG) -> KG:
        """Union another graph into this one (node attributes and provenance merged)."""
        for n, d in other.g.nodes(data=True):
            d = dict(d)
            ntype, provs = d.pop("type"), d.pop("provenance", [])
            self.add_node(n, ntype, None, **d)
            for p in provs:
                if p not in self.g.nodes[n]["provenance"]:
                    self.g.nodes[n]["provenance"].append(p)
        for u, v, k, d in other.g.edges(keys=True, data=True):
            if not self.g.has_edge(u, v, k):
                self.g.add_edge(u, v, key=k, **d)
        return self
