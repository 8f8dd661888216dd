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

    @property
    def image_grounded(self) -> bool:
        return "Image" in self.nodes or self.table_image


def _task_from(data: dict, where: str) -> TaskType:
    from .generate.families import FAMILIES

    for k in ("name", "nodes", "sampler", "questions"):
        if k not in data:
            raise ValueError(f"{where}: task type needs {k!r}")
    bad = [t for t in list(data["nodes"]) + list(data.get("hidden") or []) if t not in MODALITY_TYPES]
    if bad:
        raise ValueError(f"{where}: unknown node types {bad}; use {MODALITY_TYPES}")
    unknown = [q for q in data["questions"] if q not in FAMILIES]
    if unknown:
        raise ValueError(f"{where}: unknown question families {unknown}; registered: {sorted(FAMILIES)}")
    s = dict(data["sampler"])
    s.setdefault("node_counts", {t: c for t, c in data["nodes"].items() if t != "Entity"})
    try:
        spec = SamplerSpec(**s)
    except TypeError as e:
        raise ValueError(f"{where}: bad sampler settings ({e})") from None
    return TaskType(name=str(data["name"]), nodes=dict(data["nodes"]), sampler=spec, questions=list(data["questions"]),
                    hidden=list(data.get("hidden") or []), description=data.get("description", ""),
                    max_records=int(data.get("max_records", 90)), per_path=int(data.get("per_path", 4)),
                    multi_hop=bool(data.get("multi_hop", False)), table_image=bool(data.get("table_image", False)),
                    source=where)


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
        missing = set(include) - set(found)
        if missing:
            raise ValueError(f"synth.tasks.include names unknown task types {sorted(missing)}; known: {sorted(found)}")
        found = {k: v for k, v in found.items() if k in include}
    return [found[k] for k in sorted(found)]
