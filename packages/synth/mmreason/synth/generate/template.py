"""Render drafts into schema records: open-book evidence (chunks, tables as text, figures as images),
the question, options, and provenance with the path, the computation and the chain of thought."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from mmreason.core.schema import IMAGE_MARKER, make_id

from ..kg.graph import KG
from ..kg.values import clean_text
from ..sampling import Path
from .compute import fmt_num
from .families import FAMILIES, entity_facts
from .view import Draft, View

if TYPE_CHECKING:  # (tasks.py reads generate/'s question families: no import back at run time)
    from ..tasks import TaskType

INSTRUCTION = {"choice": "Answer with the option letter in \\boxed{}.",
               "number": "Give the final number in \\boxed{}.",
               "text": "Give the final answer in \\boxed{}.",
               "expression": "Give the final expression in \\boxed{}.",
               "boolean": "Answer yes or no in \\boxed{}."}
OPTIONS_HEADER = "\nOptions:\n"


def table_text(kg: KG, t: str, hide: list[str] = (), used: set[str] = frozenset(), max_columns: int | None = None) -> str:
    """A table as Markdown text (cells without emphasis or link targets). A table wider than `max_columns`
    shows its key column, the `used` columns and the first others up to the limit, and says so."""
    d = kg.g.nodes[t]
    keep = [i for i, c in enumerate(d["columns"]) if c not in hide]
    note = ""
    if max_columns and len(keep) > max_columns:
        key = d.get("key_column", 0)
        first = [i for i in keep if i == key or d["columns"][i] in used]
        rest = [i for i in keep if i not in first][: max(0, max_columns - len(first))]
        note = f" ({len(first) + len(rest)} of {len(keep)} columns shown)"
        keep = sorted(first + rest)
    rows = d["rows"] if isinstance(d["rows"], list) else []
    lines = [(d.get("caption") or d.get("label") or "Table") + note,
             "| " + " | ".join(d["header"][i] for i in keep) + " |", "|" + "---|" * len(keep)]
    lines += ["| " + " | ".join(clean_text(str(r[i])) if i < len(r) else "" for i in keep) + " |" for r in rows]
    return "\n".join(lines)


def used_columns(kg: KG, draft: Draft, table: str) -> set[str]:
    """Names of the table's columns whose cells the draft's facts or computation read."""
    from .compute import edge_index, spec_refs

    idx = edge_index(kg)
    out = set()
    for k in set(draft.facts) | set(spec_refs(draft.compute)):
        if k in idx and idx[k][2].get("table") == table and idx[k][2]["type"] == "has_attribute":
            out.add(idx[k][2]["name"])
    if draft.compute.get("column"):
        out.add(draft.compute["column"])
    return out


def plotted_values(kg: KG, view: View) -> list[str]:
    """Texts of every value the path's images show: what its charts plot and, for tables shown as their
    page crop, every number in them (raw cells and canonical numbers)."""
    out = []
    for i in view.charts:
        t, cols, _ = kg.plotted_table(i)
        for c in view.cells(t):
            if c["column"] in cols and isinstance(c["value"], (int, float)):
                out += [c["raw"], fmt_num(c["value"])]
    if view.table_images:
        for t in view.tables:
            out += [x for c in view.cells(t) if isinstance(c["value"], (int, float)) for x in (c["raw"], fmt_num(c["value"]))]
    return sorted(set(out))


def names_removed(kg: KG, view: View, text: str) -> str:
    """`text` without the row and column names of the path's image tables (a question may name those;
    "GPT-4" naming a row is not the value 4)."""
    if not view.table_images:
        return text
    names = set()
    for t in view.tables:
        d = kg.g.nodes[t]
        names |= {c["entity"] for c in view.cells(t)} | set(d["columns"]) | {d.get("label") or ""}
    for n in sorted((n for n in names if n), key=len, reverse=True):
        text = text.replace(n, " ")
    return text


def contains_value(text: str, value: str) -> bool:
    """Whether `value` appears in `text` as a whole number/word (not inside a longer number)."""
    return re.search(rf"(?<![\w.]){re.escape(value)}(?![\w]|\.\d)", text) is not None


def stem_of(problem: str) -> str:
    return problem.split(OPTIONS_HEADER)[0]


def render(kg: KG, view: View, task: TaskType, draft: Draft, closed_book: bool,
           max_table_columns: int | None = None) -> tuple[str, list[str]]:
    """(problem text with <image> markers, image node ids in marker order)."""
    parts, images = [], []
    shown = set(task.nodes)
    leak = plotted_values(kg, view) if view.charts else []
    if not closed_book:
        if "Chunk" in shown:
            for ch in view.chunks:
                text = kg.g.nodes[ch]["text"]
                if any(contains_value(text, x) for x in leak):
                    text = "[passage withheld: it states values shown in a figure]"
                parts.append(f"Passage {view.passage_no(ch)}: {text}")
        if "Table" in shown and not view.table_images:
            for t in view.tables:
                parts.append(table_text(kg, t, draft.hide_columns.get(t, []), used_columns(kg, draft, t),
                                        max_table_columns))
        if "Formula" in shown:
            for f in view.formulas:
                parts.append(f"{view.label(f)}: $${kg.g.nodes[f]['latex']}$$")
        if "Entity" in shown:
            rel = next((d for a, b in zip(view.nodes, view.nodes[1:]) for _, w, d in kg.g.out_edges(a, data=True)
                        if w == b and d["type"] == "relation"), None)
            if rel is not None:
                facts = entity_facts(view, rel["name"], rel.get("table"))
                parts.append("Facts:\n" + "\n".join(f"- ({kg.g.nodes[u]['name']}, {d['name']}, {kg.g.nodes[w]['name']})"
                                                    for u, w, _, d in facts))
    if "Image" in shown:
        for i in view.charts:
            cap = kg.g.nodes[i].get("caption") or view.label(i)
            parts.append(f"{cap}\n{IMAGE_MARKER}")
            images.append(i)
    if view.table_images:  # the table only as its crop of the page: the answer needs the pixels
        for t in view.tables:
            parts.append(f"{kg.g.nodes[t].get('caption') or view.label(t)}\n{IMAGE_MARKER}")
            images.append(t)
    head = "Use the evidence below to answer the question.\n\n" if parts and not closed_book else ""
    body = head + "\n\n".join(parts) + ("\n\n" if parts else "") + f"Question: {draft.question}"
    if draft.answer_type == "choice":
        body += OPTIONS_HEADER + "\n".join(f"{chr(65 + k)}. {c}" for k, c in enumerate(draft.choices))
    return body + "\n" + INSTRUCTION[draft.answer_type], images


def leaks(kg: KG, view: View, draft: Draft, problem: str) -> bool:
    """An image question leaks when its text (options aside) states a value its images show or the answer."""
    stem = names_removed(kg, view, stem_of(problem))
    if draft.answer_type in ("number", "text") and not draft.answer_in_text_ok and contains_value(stem, draft.answer):
        return True
    return any(contains_value(stem, x) for x in plotted_values(kg, view))


def make_record(kg: KG, path: Path, task: TaskType, draft: Draft, input_root: FsPath, closed_book: bool,
                view: View, max_table_columns: int | None = None) -> dict | None:
    problem, image_ids = render(kg, view, task, draft, closed_book, max_table_columns)
    if task.image_grounded and (not image_ids or leaks(kg, view, draft, problem)):
        return None
    g = kg.g
    support_nodes = [kg.plotted_table(i)[0] for i in view.charts]  # the tables behind the figures
    support_nodes += [t for f in view.formulas for t, _ in kg.formula_columns(f).values()]
    node_ids = list(dict.fromkeys(path.nodes + draft.extra_nodes + list(draft.hide_columns) + support_nodes))
    # the source document: of the block nodes (tables, chunks...); entities alone name theirs in `docs`
    docs = sorted({g.nodes[n]["doc"] for n in node_ids if g.nodes[n].get("doc")}) \
        or sorted({d for n in path.nodes for d in g.nodes[n].get("docs", [])[:1]})
    doc = docs[0] if docs else ""
    domain = g.nodes[doc].get("domain", "") if doc in g else ""
    mods = sorted({{"Chunk": "text", "Table": "table", "Image": "image", "Formula": "formula", "Entity": "entity"}[t]
                   for t in task.nodes})
    answer_value = draft.value
    cot = draft.cot + [f"Answer: \\boxed{{{draft.answer}}}"]
    prov = {"doc_ids": docs, "node_ids": node_ids, "edge_ids": path.edges, "fact_ids": draft.facts,
            "generator": "template", "model": None, "family": draft.family, "operation": draft.operation,
            "compute": draft.compute, "answer_value": answer_value, "cot": "\n".join(cot),
            "question": draft.question, "hops": len(path.nodes) - 1, "modalities": mods,
            "image_grounded": bool(image_ids), "image_ids": image_ids, "closed_book": closed_book,
            "multi_hop": task.multi_hop, "hide_columns": draft.hide_columns,
            "answer_in_text_ok": draft.answer_in_text_ok}
    rid = make_id(task.name, draft.question, draft.answer, draft.choices, node_ids, closed_book, prefix="synth-")
    # an image taken out of a PDF lives under OUT (path_root "out"), the others under the input folder
    images = [str(kg.image_file(i) if g.nodes[i].get("path_root") == "out" else input_root / g.nodes[i]["path"])
              for i in image_ids]
    return {"id": rid, "images": images, "problem": problem, "answer": draft.answer, "answer_type": draft.answer_type,
            "choices": list(draft.choices), "task_type": task.name, "domain": domain,
            "provenance": json.dumps(prov, ensure_ascii=False, sort_keys=True), "quality": ""}


def generate_for_task(kg: KG, task: TaskType, paths: list[Path], seed: int, input_root: FsPath,
                      closed_book: bool = False, max_table_columns: int | None = 12) -> tuple[list[dict], dict]:
    """Template records for one task type: up to `per_path` distinct questions per path, then capped."""
    out, seen = [], set()
    stats = {"paths": len(paths), "drafts": 0, "leaks_or_unfit": 0}
    for p in paths:
        view = View(kg, p.nodes, set(task.nodes), table_images=task.table_image)
        rng = random.Random(make_id(seed, task.name, p.nodes))
        n = 0
        for attempt in range(task.per_path * 4):
            if n >= task.per_path:
                break
            fam = task.questions[attempt % len(task.questions)]
            draft = FAMILIES[fam](view, rng)
            if draft is None:
                continue
            key = (draft.question, draft.answer, tuple(draft.choices))
            if key in seen:
                continue
            stats["drafts"] += 1
            rec = make_record(kg, p, task, draft, input_root, closed_book, view, max_table_columns)
            if rec is None:
                stats["leaks_or_unfit"] += 1
                continue
            seen.add(key)
            out.append(rec)
            n += 1
    random.Random(make_id(seed, task.name)).shuffle(out)
    return out[: task.max_records], stats
