"""Task types as config data (conf/synth/tasks/*.yaml): what path a task needs and what it asks.

One YAML file per task type::

    name: SISC                      # the task_type column
    description: one chart and one text chunk
    nodes: {Image: 1, Chunk: 1}     # evidence node types on the path: exact count, or "2+" (S/M)
    hidden: [Table]                 # node types used to compute the answer but never shown
    sampler: {name: pattern, pattern: "Chunk-[refers_to]->Image-[plots]->Table"}
    questions: [chart_argmax, chart_value, chart_compare]   # generate/families.py FAMILIES
    max_records: 90                 # cap after generation (before scoring)
    per_path: 4                     # questions asked of one path at most
    multi_hop: false
    table_image: false              # true: tables are shown only as their page crop (an image), never as text
    max_steps: 1                    # hops a question may chain (random_walk / bfs samplers walk this deep)
    aliases: [single_chart_single_text]   # official MMKG-RDS preset names (synth.tasks.include accepts them)
    ans_types: null                 # answer kinds kept: [Entity] (an entity's name), Number, Text; null = any
    extra_requirements: {Image: {type: class, require: [chart]}}   # node filters (Image class: chart | other)
    question_need_info: []          # kinds whose node the question text must name (its label or name)
    subgraph: {method: bfs, order: 200, rounds: 20}   # sample subgraphs first (random | bfs | acs | none)
    default: true                   # false: run only when synth.tasks.include names it (or an alias)
    needs: {Image: 1, Chunk: 1}     # kinds every question must need (checked on the graph, necessity.py);
                                    # default: `nodes` ("2+" -> at least 2 needed nodes of that kind)

A new task type is a new YAML file in one of the folders `synth.tasks.dirs` lists (null = conf/synth/tasks;
list that folder too to keep the shipped types) — no code, as long as it uses registered samplers and
question families.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmreason.core.config import conf_dir

from .sampling import SamplerSpec

TASKS_DIR = conf_dir() / "synth" / "tasks"
MODALITY_TYPES = ("Table", "Image", "Formula", "Chunk", "Entity")
ANS_TYPES = ("Entity", "Number", "Text")  # what an answer is: an entity's name, a number, other text (a symbol, a label)


@dataclass
class TaskType:
    name: str
    nodes: dict[str, Any]
    sampler: SamplerSpec
    questions: list[str]
    hidden: list[str] = field(default_factory=list)
    description: str = ""
    max_records: int = 90
    per_path: int = 4
    multi_hop: bool = False
    table_image: bool = False  # tables shown as their page crop only (the answer needs the pixels)
    source: str = ""
    needs: dict[str, Any] | None = None  # kinds (and least counts) a question must need; null = `nodes`
    max_steps: int = 1  # hops a question may chain (MMKG-RDS max_steps: 1, 4 for Entity and *_multihop)
    aliases: list[str] = field(default_factory=list)  # other names (the official MMKG-RDS preset name)
    ans_types: list[str] | None = None  # answer kinds kept: Entity (an entity's name), Number, Text; null = any
    extra_requirements: dict[str, Any] = field(default_factory=dict)  # per node type {type: attr, require: [...]}
    question_need_info: list[str] = field(default_factory=list)  # kinds the question text itself must name
    subgraph: dict[str, Any] = field(default_factory=dict)  # {method: none|random|bfs|acs, order, rounds}
    default: bool = True  # run when synth.tasks.include is null (false: only when included by name or alias)

    @property
    def required(self) -> dict[str, int]:
        """Node kinds a question must need (generate/necessity.py), with the least number of needed nodes of
        each: `needs` when the YAML gives it, else every kind of `nodes` ("2+" -> 2)."""
        src = self.needs if self.needs is not None else self.nodes
        return {k: int(str(n).rstrip("+")) for k, n in src.items()}

    @property
    def image_grounded(self) -> bool:
        return "Image" in self.nodes or self.table_image


def _task_from(data: dict, where: str) -> TaskType:
    from .generate.families import FAMILIES

    for k in ("name", "nodes", "sampler", "questions"):
        if k not in data:
            raise ValueError(f"{where}: task type needs {k!r}")
    bad = [t for t in list(data["nodes"]) + list(data.get("hidden") or []) + list(data.get("needs") or [])
           + list(data.get("extra_requirements") or []) + list(data.get("question_need_info") or [])
           if t not in MODALITY_TYPES]
    bad_ans = [a for a in data.get("ans_types") or [] if a not in ANS_TYPES]
    if bad_ans:
        raise ValueError(f"{where}: unknown ans_types {bad_ans}; use {ANS_TYPES}")
    from .sampling.subgraph import METHODS

    if (data.get("subgraph") or {}).get("method", "none") not in METHODS:
        raise ValueError(f"{where}: subgraph method {data['subgraph']['method']!r}; use {METHODS}")
    if bad:
        raise ValueError(f"{where}: unknown node types {bad}; use {MODALITY_TYPES}")
    unknown = [q for q in data["questions"] if q not in FAMILIES]
    if unknown:
        raise ValueError(f"{where}: unknown question families {unknown}; registered: {sorted(FAMILIES)}")
    s = dict(data["sampler"])
    if data.get("max_steps") is not None and s.get("name") in ("random_walk", "bfs"):
        s["hops"] = int(data["max_steps"])  # the walk / BFS depth
    s.setdefault("node_counts", {t: c for t, c in data["nodes"].items() if t != "Entity"})
    try:
        spec = SamplerSpec(**s)
    except TypeError as e:
        raise ValueError(f"{where}: bad sampler settings ({e})") from None
    return TaskType(name=str(data["name"]), nodes=dict(data["nodes"]), sampler=spec, questions=list(data["questions"]),
                    hidden=list(data.get("hidden") or []), description=data.get("description", ""),
                    max_records=int(data.get("max_records", 90)), per_path=int(data.get("per_path", 4)),
                    multi_hop=bool(data.get("multi_hop", False)), table_image=bool(data.get("table_image", False)),
                    source=where, max_steps=int(data.get("max_steps") or 1),
                    aliases=[str(a) for a in data.get("aliases") or []], ans_types=data.get("ans_types"),
                    extra_requirements=dict(data.get("extra_requirements") or {}),
                    question_need_info=list(data.get("question_need_info") or []),
                    subgraph=dict(data.get("subgraph") or {}), default=bool(data.get("default", True)), needs=dict(data["needs"]) if data.get("needs") is not None else None)


def load_task_types(dirs: list[str | Path] | None = None, include: list[str] | None = None,
                    overrides: dict | None = None) -> list[TaskType]:
    """Task types from the YAML files in `dirs` (default conf/synth/tasks), in name order.

    `include` keeps only those names; `overrides` maps a name (or "*") to fields to replace
    (e.g. {"*": {"max_records": 20}}).
    """
    found: dict[str, TaskType] = {}
    for d in dirs or [TASKS_DIR]:
        d = Path(d)
        if not d.is_dir():
            raise FileNotFoundError(f"task type folder {d} does not exist")
        for f in sorted(d.glob("*.yaml")):
            try:
                data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as e:
                raise ValueError(f"{f}: not a readable YAML file ({e})") from None
            if not isinstance(data, dict):
                raise ValueError(f"{f}: a task type is a YAML mapping, got {type(data).__name__}")
            for k, v in {**(overrides or {}).get("*", {}), **(overrides or {}).get(data.get("name"), {})}.items():
                data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
            t = _task_from(data, str(f))
            if t.name in found:
                raise ValueError(f"{f}: task type {t.name!r} is also defined in {found[t.name].source}")
            found[t.name] = t
    if include:
        alias = {a: t.name for t in found.values() for a in t.aliases}
        missing = {x for x in include if x not in found and x not in alias}
        if missing:
            raise ValueError(f"synth.tasks.include names unknown task types {sorted(missing)}; known: {sorted(found)} "
                             f"and their official names {sorted(alias)}")
        want = {alias.get(x, x) for x in include}
        found = {k: v for k, v in found.items() if k in want}
    else:
        found = {k: v for k, v in found.items() if v.default}
    return [found[k] for k in sorted(found)]
