"""The `llm` extractor: entities and relations per chunk from a model, plus a VLM pass over images.

Every call goes through `CachedBackend` (a rerun makes zero model calls). The model is asked for JSON
and its answer is validated against the schema from config (`entity_types`, `relation_types`): an
item with an unknown type, a relation whose ends are not among the entities, or a malformed field is
dropped and recorded. A reply that is not JSON (or not the expected object) is retried with a
reminder, `max_retries` times; then the chunk is recorded in the errors and skipped. Nothing raises.

Chunk reply:  {"entities": [{"name": str, "type": str}], "relations": [{"head": str, "relation": str, "tail": str}]}
Image reply:  {"kind": "chart" | "diagram" | "photo" | "other", "table": {"header": [str], "rows": [[str]]},
               "parts": [str]}
A chart the VLM read with numeric data becomes a chart source: a hidden Table (source "vlm") that the
figure `plots` (structural.add_vlm_chart); its questions are answered from what the VLM read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from mmreason.core.generation.base import GenerationBackend, SamplingParams

from ...ingest.model import Document
from ..graph import KG, prov
from .structural import add_vlm_chart, block_node_id, doc_node_id

DEFAULT_ENTITY_TYPES = ("Person", "Organization", "Place", "Compound", "Element", "Event", "Model", "Dataset",
                        "Company", "Law", "Court", "Concept", "Quantity")
DEFAULT_RELATION_TYPES = ("related to", "part of", "located in", "discovered by", "created by", "trained on",
                          "released by", "leads", "ruled", "applies to", "decided by", "competes with", "has property")


@dataclass
class LLMSchema:
    entity_types: list[str] = field(default_factory=lambda: list(DEFAULT_ENTITY_TYPES))
    relation_types: list[str] = field(default_factory=lambda: list(DEFAULT_RELATION_TYPES))

    def prompt(self, text: str) -> str:
        return (
            "Extract the entities and the relations between them from the text below.\n"
            f"Entity types (use exactly one of): {', '.join(self.entity_types)}.\n"
            f"Relation types (use exactly one of): {', '.join(self.relation_types)}.\n"
            'Answer with JSON only: {"entities": [{"name": "...", "type": "..."}], '
            '"relations": [{"head": "...", "relation": "...", "tail": "..."}]}. '
            "Every head and tail must be the name of one of the entities.\n\nText:\n" + text
        )


IMAGE_PROMPT = (
    "Describe this figure as JSON only: "
    '{"kind": "chart" | "diagram" | "photo" | "other", '
    '"table": {"header": ["..."], "rows": [["..."]]} (for a chart: the data it plots), '
    '"parts": ["..."] (for a diagram: its labelled parts)}.'
    "\nCaption: "
)


def parse_json_object(text: str) -> dict:
    """The first JSON object in a reply (```json fences and prose around it tolerated); ValueError if none."""
    s = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", s, re.S)
    if fence:
        s = fence.group(1).strip()
    start = s.find("{")
    if start < 0:
        raise ValueError("no JSON object in the reply")
    try:
        obj, _ = json.JSONDecoder().raw_decode(s[start:])
    except json.JSONDecodeError as e:
        raise ValueError(f"reply is not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"reply is a JSON {type(obj).__name__}, expected an object")
    return obj


def validate_extraction(obj: dict, schema: LLMSchema) -> tuple[list[dict], list[dict], list[str]]:
    """(entities, relations, problems): keeps only items that satisfy the schema."""
    problems: list[str] = []
    etypes = {t.casefold(): t for t in schema.entity_types}
    rtypes = {t.casefold(): t for t in schema.relation_types}
    ents_in, rels_in = obj.get("entities", []), obj.get("relations", [])
    if not isinstance(ents_in, list) or not isinstance(rels_in, list):
        return [], [], ["'entities' and 'relations' must be lists"]
    ents: dict[str, dict] = {}
    for e in ents_in:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not isinstance(e.get("type"), str):
            problems.append(f"malformed entity {e!r:.80}")
            continue
        name = " ".join(e["name"].split())
        t = etypes.get(e["type"].strip().casefold())
        if not name or t is None:
            problems.append(f"entity {name!r} has type {e.get('type')!r} outside the schema")
            continue
        ents.setdefault(name.casefold(), {"name": name, "type": t})
    rels = []
    for r in rels_in:
        if not isinstance(r, dict) or not all(isinstance(r.get(k), str) for k in ("head", "relation", "tail")):
            problems.append(f"malformed relation {r!r:.80}")
            continue
        rt = rtypes.get(r["relation"].strip().casefold())
        h, t = ents.get(" ".join(r["head"].split()).casefold()), ents.get(" ".join(r["tail"].split()).casefold())
        if rt is None:
            problems.append(f"relation type {r['relation']!r} outside the schema")
        elif h is None or t is None:
            problems.append(f"relation {r['head']!r} -> {r['tail']!r}: an end is not among the entities")
        else:
            rels.append({"head": h, "relation": rt, "tail": t})
    return list(ents.values()), rels, problems


def validate_image(obj: dict) -> tuple[dict | None, list[str]]:
    kind = obj.get("kind")
    if kind not in ("chart", "diagram", "photo", "other"):
        return None, [f"image kind {kind!r} is not chart/diagram/photo/other"]
    out = {"kind": kind, "table": None, "parts": []}
    t = obj.get("table")
    if isinstance(t, dict) and isinstance(t.get("header"), list) and isinstance(t.get("rows"), list):
        out["table"] = {"header": [str(h) for h in t["header"]],
                        "rows": [[str(c) for c in r] for r in t["rows"] if isinstance(r, list)]}
    parts = obj.get("parts")
    if isinstance(parts, list):
        out["parts"] = [str(p) for p in parts if isinstance(p, (str, int, float))]
    return out, []


def _ask(backend: GenerationBackend, chats: list, params: SamplingParams, parse, retries: int,
         record) -> list:
    """Send chats; re-ask the ones whose reply fails `parse` (ValueError), up to `retries` times."""
    results: list = [None] * len(chats)
    todo = list(range(len(chats)))
    current = list(chats)
    last_err: dict[int, str] = {}
    for attempt in range(retries + 1):
        if not todo:
            break
        replies = backend.generate([current[i] for i in todo], params)
        again = []
        for i, comps in zip(todo, replies):
            text = comps[0].text if comps else ""
            try:
                results[i] = parse(text)
            except ValueError as e:
                last_err[i] = f"{e}; reply starts {text[:60]!r}"
                again.append(i)
                # the attempt number keeps each retry a distinct request (else the cache would replay it)
                reminder = {"role": "user", "content": "Your previous answer was not valid JSON of the requested "
                            f"form ({e}). Answer again with the JSON object only (attempt {attempt + 2})."}
                current[i] = list(chats[i]) + [{"role": "assistant", "content": text}, reminder]
        todo = again
    for i in todo:
        record(i, f"no valid JSON after {retries + 1} attempts: {last_err[i]}")
    return results


def extract_llm(doc: Document, kg: KG, issues: list[dict], backend: GenerationBackend,
                schema: LLMSchema | None = None, max_retries: int = 2, max_new_tokens: int = 512,
                describe_images: bool = True, image_loader=None) -> KG:
    """Add llm entities/relations for every chunk of `doc` (and VLM descriptions of its images).

    `backend` should be a `CachedBackend`; the structural pass must have added the block nodes.
    `image_loader(block)` returns a PIL image for an image block or None.
    """
    schema = schema or LLMSchema()
    doc_id = doc_node_id(doc)
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens)
    chunks = [b for b in doc.blocks if b.type == "text" and not b.heading_level and b.text.strip()]

    def rec(blocks):
        return lambda i, why: issues.append({"file": doc.path, "stage": "kg.llm",
                                             "reason": f"block {blocks[i].index}: {why}"})

    chats = [[{"role": "user", "content": schema.prompt(b.text)}] for b in chunks]
    objs = _ask(backend, chats, params, parse_json_object, max_retries, rec(chunks)) if chats else []
    for b, obj in zip(chunks, objs):
        if obj is None:
            continue
        ents, rels, problems = validate_extraction(obj, schema)
        for pr in problems:
            issues.append({"file": doc.path, "stage": "kg.llm", "reason": f"block {b.index}: {pr}"})
        p = prov(doc_id, b.index, b.span)
        cid = block_node_id(doc_id, b)
        ids = {}
        for e in ents:
            ids[e["name"].casefold()] = eid = kg.add_entity(e["name"], e["type"], p)
            if cid in kg.g:
                kg.add_edge(cid, eid, "mentions", p, extractor="llm")
        for r in rels:
            kg.add_edge(ids[r["head"]["name"].casefold()], ids[r["tail"]["name"].casefold()], "relation", p,
                        extractor="llm", name=r["relation"], chunk=cid)

    if describe_images and image_loader is not None:
        images = [b for b in doc.blocks if b.type == "image" and b.image_status in ("ok", "embedded")]
        pil = [(b, image_loader(b)) for b in images]
        pil = [(b, im) for b, im in pil if im is not None]
        chats = [[{"role": "user", "content": [{"type": "image", "image": im},
                                               {"type": "text", "text": IMAGE_PROMPT + (b.caption or "(none)")}]}]
                 for b, im in pil]

        def parse_image(text):
            out, problems = validate_image(parse_json_object(text))
            if out is None:
                raise ValueError("; ".join(problems))
            return out

        blocks = [b for b, _ in pil]
        descs = _ask(backend, chats, params, parse_image, max_retries, rec(blocks)) if chats else []
        for b, d in zip(blocks, descs):
            nid = block_node_id(doc_id, b)
            if d is not None and nid in kg.g:
                kg.g.nodes[nid]["vlm"] = d
                if not kg.plotted_table(nid) or not kg.plotted_table(nid)[1]:  # no table of the document known
                    add_vlm_chart(kg, doc, b, issues)
    return kg
