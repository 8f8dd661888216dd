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
from .lang import TEXT
from .view import Draft, View, contains_value, plotted_values

if TYPE_CHECKING:  # (tasks.py reads generate/'s question families: no import back at run time)
    from ..tasks import TaskType

INSTRUCTION = TEXT["en"]["instruction"]
OPTIONS_HEADER = TEXT["en"]["options"]


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


def stem_of(problem: str) -> str:
    for lang in TEXT.values():
        problem = problem.split(lang["options"])[0]
    return problem


def shown_chunks(kg: KG, view: View) -> list[str]:
    """The path's passages a record shows (a passage whose every sentence states a value the figures show is
    withheld)."""
    return [ch for ch in view.chunks if view.shown_passage(ch)[0]]


def shown_facts(kg: KG, view: View, draft: Draft | None = None) -> list[tuple[str, str, str, dict]]:
    """The facts list of an Entity task: every relation of each name (and table) joining consecutive path
    nodes, and (a multi-hop chain) every row's value of each attribute column the chain reads, as
    (entity, tail entity or table, edge key, edge data)."""
    names = list(dict.fromkeys((d["name"], d.get("table")) for a, b in zip(view.nodes, view.nodes[1:])
                               for u, w, d in list(kg.g.out_edges(a, data=True)) + list(kg.g.in_edges(a, data=True))
                               if {u, w} == {a, b} and d["type"] == "relation"))
    facts = [f for name, table in names for f in entity_facts(view, name, table)]
    spec = draft.compute if draft is not None else {}
    if spec.get("op") == "walk":
        cols = [c for c in (spec["start"], spec.get("attr")) if c and "table" in c]
        facts += [(u, t, k, d) for c in cols for u, t, k, d in kg.g.in_edges(c["table"], keys=True, data=True)
                  if d["type"] == "has_attribute" and d["name"] == c["column"]]
    return facts


def fact_line(kg: KG, u: str, w: str, d: dict) -> str:
    tail = kg.g.nodes[w]["name"] if d["type"] == "relation" else d["raw"] + (f" {d['unit']}" if d.get("unit")
                                                                              and d["unit"] not in d["raw"] else "")
    return f"- ({kg.g.nodes[u]['name']}, {d['name']}, {tail})"


def evidence_nodes(kg: KG, view: View, task: TaskType, draft: Draft | None = None) -> dict[str, str | None]:
    """{node id: its shown text (passages) or None} for the nodes whose content a record shows (open book):
    passages not withheld, tables, charts, formulas, and the entities of the facts list; what the necessity
    check removes one at a time."""
    shown = set(task.nodes)
    out = {ch: view.shown_passage(ch)[0] for ch in (shown_chunks(kg, view) if "Chunk" in shown else [])}
    for n in (view.tables if "Table" in shown else []) + (view.charts if "Image" in shown else []) \
            + (view.formulas if "Formula" in shown else []):
        out[n] = None
    if "Entity" in shown:
        out.update(dict.fromkeys(sorted({x for u, w, _, d in shown_facts(kg, view, draft) for x in (u, w)
                                         if kg.g.nodes[x]["type"] == "Entity"})))
    return out


def render(kg: KG, view: View, task: TaskType, draft: Draft, closed_book: bool,
           max_table_columns: int | None = None) -> tuple[str, list[str]]:
    """(problem text with <image> markers, image node ids in marker order), worded in the view's language."""
    L = TEXT[view.language]
    parts, images = [], []
    shown = set(task.nodes)
    if not closed_book:
        if "Chunk" in shown:
            for ch in view.chunks:
                text = view.shown_passage(ch)[0] or L["withheld"]
                parts.append(L["passage"].format(n=view.passage_no(ch)) + text)
        if "Table" in shown and not view.table_images:
            for t in view.tables:
                parts.append(table_text(kg, t, draft.hide_columns.get(t, []), used_columns(kg, draft, t),
                                        max_table_columns))
        if "Formula" in shown:
            for f in view.formulas:
                parts.append(f"{view.label(f)}: $${kg.g.nodes[f]['latex']}$$")
        if "Entity" in shown:
            facts = shown_facts(kg, view, draft)
            if facts:
                parts.append(L["facts"] + "\n" + "\n".join(fact_line(kg, u, w, d) for u, w, _, d in facts))
    if "Image" in shown:
        for i in view.charts:
            cap = kg.g.nodes[i].get("caption") or view.label(i)
            parts.append(f"{cap}\n{IMAGE_MARKER}")
            images.append(i)
    if view.table_images:  # the table only as its crop of the page: the answer needs the pixels
        for t in view.tables:
            parts.append(f"{kg.g.nodes[t].get('caption') or view.label(t)}\n{IMAGE_MARKER}")
            images.append(t)
    head = L["head"] if parts and not closed_book else ""
    body = head + "\n\n".join(parts) + ("\n\n" if parts else "") + L["question"] + draft.question
    if draft.answer_type == "choice":
        body += L["options"] + "\n".join(f"{chr(65 + k)}. {c}" for k, c in enumerate(draft.choices))
    return body + "\n" + L["instruction"][draft.answer_type], images


def leaks(kg: KG, view: View, draft: Draft, problem: str) -> bool:
    """An image question leaks when its text (options aside) states a value its images show or the answer."""
    stem = names_removed(kg, view, stem_of(problem))
    if draft.answer_type in ("number", "text") and not draft.answer_in_text_ok and contains_value(stem, draft.answer):
        return True
    return any(contains_value(stem, x) for x in plotted_values(kg, view))


def answer_kind(kg: KG, draft: Draft) -> str:
    """What the answer is (a task's `ans_types`): Entity (the name of an entity node), Number, or Text."""
    value = draft.value
    if draft.answer_type == "number" or re.fullmatch(r"-?\d+(\.\d+)?", value):
        return "Number"
    names = getattr(kg, "_entity_names", None)
    if names is None:
        names = kg._entity_names = {kg.g.nodes[n]["name"] for n in kg.nodes_of("Entity")}  # type: ignore[attr-defined]
    return "Entity" if value in names else "Text"


def make_record(kg: KG, path: Path, task: TaskType, draft: Draft, input_root: FsPath, closed_book: bool,
                view: View, max_table_columns: int | None = None) -> dict | None:
    from .necessity import check

    evidence = evidence_nodes(kg, view, task, draft)
    needed, why = check(kg, task.required, draft.compute, evidence, draft.base_question or draft.question,
                        draft.hide_columns)
    if why is not None:  # a question that does not need every required kind of evidence
        return None
    if task.ans_types is not None and answer_kind(kg, draft) not in task.ans_types:
        return None
    for kind in task.question_need_info:  # the question itself names a needed node of that kind
        if not any(kg.g.nodes[n]["type"] == kind and (kg.g.nodes[n].get("label") or kg.g.nodes[n].get("name") or "\0")
                   in draft.question for n in needed):
            return None
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
            "question": draft.question, "base_question": draft.base_question, "language": view.language,
            "hops": draft.hops if draft.hops is not None else len(path.nodes) - 1, "modalities": mods,
            "image_grounded": bool(image_ids), "image_ids": image_ids, "closed_book": closed_book,
            "multi_hop": task.multi_hop, "hide_columns": draft.hide_columns,
            "answer_in_text_ok": draft.answer_in_text_ok, "evidence_node_ids": list(evidence), "needed_node_ids": needed,
            "required": task.required, "passage_spans": {ch: view.shown_passage(ch)[1] for ch, text in evidence.items()
                                                         if text is not None and text != g.nodes[ch]["text"]}}
    rid = make_id(task.name, draft.question, draft.answer, draft.choices, node_ids, closed_book, prefix="synth-")
    # an image taken out of a PDF lives under OUT (path_root "out"), the others under the input folder
    images = [str(kg.image_file(i) if g.nodes[i].get("path_root") == "out" else input_root / g.nodes[i]["path"])
              for i in image_ids]
    return {"id": rid, "images": images, "problem": problem, "answer": draft.answer, "answer_type": draft.answer_type,
            "choices": list(draft.choices), "task_type": task.name, "domain": domain,
            "provenance": json.dumps(prov, ensure_ascii=False, sort_keys=True), "quality": ""}


def as_claim(kg: KG, draft: Draft, rng: random.Random, language: str = "en") -> Draft | None:
    """The draft as a true/false question: "<question> Someone answers: <claim>. Is that answer correct?",
    the claim the right answer or (half the time) another option / a changed number; answer yes or no."""
    from dataclasses import replace

    from .compute import evaluate
    from .lang import text

    truth = draft.value
    wrong = [c for c in draft.choices if c != truth]
    if not wrong and draft.answer_type == "number":
        try:
            x = float(truth)
        except ValueError:
            return None
        wrong = [fmt_num(x * f) for f in (0.5, 1.5, 2) if fmt_num(x * f) != truth] or [fmt_num(x + 1)]
    if not wrong:
        return None
    claim = truth if rng.random() < 0.5 else rng.choice(wrong)
    spec = {"op": "claim", "args": [draft.compute], "claim": claim, "language": language}
    q = text(language, "claim").format(question=draft.question, claim=claim)
    verdict = "correct" if claim == truth else "not correct"
    return replace(draft, question=q, answer=evaluate(kg, spec), answer_type="boolean", compute=spec, choices=[],
                   operation="claim", base_question=draft.question,
                   cot=draft.cot + [f"The answer is {truth}, so the claimed {claim} is {verdict}."])


def generate_for_task(kg: KG, task: TaskType, paths: list[Path], seed: int, input_root: FsPath,
                      closed_book: bool = False, max_table_columns: int | None = 12, language: str = "en",
                      true_false: float = 0.0) -> tuple[list[dict], dict]:
    """Template records for one task type: up to `per_path` distinct questions per path, then capped.
    `language`: the question language; `true_false`: the share of questions asked as a yes/no claim."""
    out, seen = [], set()
    stats = {"paths": len(paths), "drafts": 0, "leaks_or_unfit": 0}
    for p in paths:
        view = View(kg, p.nodes, set(task.nodes), table_images=task.table_image, max_steps=task.max_steps,
                    language=language)
        rng = random.Random(make_id(seed, task.name, p.nodes))
        n = 0
        for attempt in range(task.per_path * 4):
            if n >= task.per_path:
                break
            fam = task.questions[attempt % len(task.questions)]
            draft = FAMILIES[fam](view, rng)
            if draft is not None and true_false and rng.random() < true_false:
                draft = as_claim(kg, draft, rng, language)
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
