"""`build_kg(cfg)`: input_dir → OUT/kg/{graph.json, graph.graphml, errors.jsonl, stats.json, eval.json}.

Per document (rich progress bar): read → extractors → a partial graph saved atomically as
OUT/kg/docs/<id>.json with the document's sha, the extractors and the issues. A rerun (or a run
resumed after a kill) loads the partials whose sha and extractors still match and redoes only the rest.
Then: union of the partials, entity resolution, save, counts per node/edge type, and — where
`*.truth.json` files exist — fact precision / recall (kg/evaluate.py).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from mmreason.core.io import atomic_write_bytes, atomic_write_json, atomic_write_text, read_json
from mmreason.core.schema import make_id

from ..config import synth_settings
from ..ingest import INGEST_VERSION, discover, display_path, read_document
from ..ingest.model import Block
from .evaluate import evaluate, load_truth
from .extractors import EXTRACTORS, LLMSchema, extract_llm, extract_structural
from .graph import KG
from .resolution import resolve_entities
from .store import export_graphml, from_json, save_graph, to_json

log = logging.getLogger("mmreason.synth.kg")


def kg_settings(cfg) -> tuple[Path, Path, dict, dict]:
    """(input_dir, out_dir, the `synth.kg` settings, root config) from the root config or its `synth` node."""
    s, root = synth_settings(cfg)
    return s["input_dir"], s["out_dir"], s["kg"], root


def _image_loader(root: Path, assets: Path):
    from PIL import Image

    def load(b: Block):
        try:
            p = (assets.parent.parent / b.image_path) if b.image_status == "embedded" else (root / b.image_path)
            with Image.open(p) as im:
                return im.convert("RGB")
        except OSError:
            return None

    return load


def _save_embedded(b: Block, assets: Path, out_dir: Path) -> None:
    if b.image_bytes is None or b.image_status != "embedded":
        return
    b.image_sha = b.image_sha or hashlib.sha1(b.image_bytes).hexdigest()
    ext = ".png" if b.image_bytes[:8] == b"\x89PNG\r\n\x1a\n" else ".jpg" if b.image_bytes[:2] == b"\xff\xd8" else ".bin"
    p = assets / f"{b.image_sha}{ext}"
    if not p.exists():
        atomic_write_bytes(p, b.image_bytes)
    b.image_path = p.relative_to(out_dir).as_posix()


def make_default_backend(root_cfg: dict):
    """The backend named by the root config's `generation` (+ `model`) groups (core's `make_backend`).

    `synth.attn_implementation` (default sdpa) replaces the model group's "eager" attention for the models
    synth loads itself: eager materialises a batch x heads x L x L matrix per layer (a solver on five
    4,000-token prompts peaked at 6 GB with it, 0.7 GB with sdpa); other kernels are kept."""
    from mmreason.core.generation import make_backend

    model = root_cfg.get("model")
    synth = root_cfg.get("synth") if isinstance(root_cfg.get("synth"), dict) else {}
    attn = synth.get("attn_implementation", "sdpa")
    if attn and isinstance(model, dict) and model.get("attn_implementation", "eager") == "eager":
        model = {**model, "attn_implementation": attn}
    elif attn and model is None:
        model = {"attn_implementation": attn}
    return make_backend(root_cfg.get("generation"), model)


def build_kg(cfg, backend=None, backend_factory=None, progress: bool = True) -> dict:
    """Build (or resume) the graph; returns {"graph": KG, "counts", "errors", "eval", "calls", "paths"}."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..cache import CachedBackend, GenerationCache

    input_dir, out_dir, s, root_cfg = kg_settings(cfg)
    root = input_dir.resolve()
    owned = backend is None  # a backend we build, we close
    if not root.is_dir():
        raise FileNotFoundError(f"synth.input_dir {input_dir} is not a folder")
    unknown = set(s["extractors"]) - set(EXTRACTORS)
    if unknown:
        raise ValueError(f"unknown extractors {sorted(unknown)}; choose from {EXTRACTORS}")
    kg_dir = out_dir / "kg"
    parts_dir, assets = kg_dir / "docs", kg_dir / "assets"
    parts_dir.mkdir(parents=True, exist_ok=True)

    cached = None
    if "llm" in s["extractors"]:
        if backend is None:
            backend = (backend_factory or make_default_backend)(root_cfg)
        cache = GenerationCache(s["llm"]["cache_dir"] or out_dir / "cache" / "generation")
        cached = backend if isinstance(backend, CachedBackend) else CachedBackend(backend, cache)
        sch = s["schema"]
        schema = LLMSchema(**{k: list(v) for k, v in sch.items() if v})
    tag = make_id(sorted(s["extractors"]), s.get("schema"), s["ingest"], INGEST_VERSION)  # new readers redo partials

    errors: list[dict] = []
    files = discover(root, errors, max_bytes=float(s["ingest"]["max_file_mb"]) * 1e6)  # skipped inputs are errors
    kg = KG()
    reused = 0
    cols = [TextColumn("[bold]kg[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*cols, disable=not progress, transient=False) as bar:
        task = bar.add_task("documents", total=len(files))
        for path in files:
            rel = display_path(path.relative_to(root).as_posix())
            bar.update(task, description=rel[-40:])
            part_path = parts_dir / f"{make_id(rel)}.json"
            try:
                sha = hashlib.sha1(path.read_bytes()).hexdigest()
            except OSError as e:
                errors.append({"file": rel, "stage": "ingest", "reason": f"unreadable file ({e.strerror or e})"})
                bar.advance(task)
                continue
            part = None
            if s["resume"] and part_path.is_file():
                try:
                    part = read_json(part_path)
                    if part.get("sha") != sha or part.get("tag") != tag or not part.get("complete", True):
                        part = None
                except ValueError:
                    part = None
            if part is None:
                part = _build_one(path, root, out_dir, assets, s, cached, schema if cached else None, tag, sha)
                atomic_write_json(part_path, part, indent=None)
            else:
                reused += 1
            kg.merge(from_json(part["graph"], where=str(part_path)))
            errors += part["issues"]
            bar.advance(task)

    if owned and cached is not None:
        cached.close()
    kg.g.graph.update(input_dir=str(root), out_dir=str(out_dir.resolve()))
    merged = {}
    r = s["resolution"]
    if r["enabled"]:
        merged = resolve_entities(kg, r["fuzzy_threshold"], r["embeddings"], r["embed_threshold"])
    save_graph(kg, kg_dir / "graph.json")
    if s["graphml"]:
        export_graphml(kg, kg_dir / "graph.graphml")
    for e in errors:
        log.warning("%s: %s (%s)", e["file"], e["reason"], e["stage"])
    atomic_write_text(kg_dir / "errors.jsonl", "".join(_json_line(e) for e in errors))
    nodes, edges = kg.counts()
    result = {"counts": {"nodes": nodes, "edges": edges}, "documents": len(files), "reused": reused,
              "merged_entities": len(merged), "errors": errors, "eval": None,
              "calls": cached.calls if cached else 0, "cache_hits": cached.hits if cached else 0}
    truth = load_truth(root) if s["evaluate"] else {}
    if truth:
        ev = evaluate(kg, truth)
        atomic_write_json(kg_dir / "eval.json", ev)
        result["eval"] = ev
    atomic_write_json(kg_dir / "stats.json", {k: v for k, v in result.items() if k not in ("errors", "eval")})
    _print_summary(result, kg_dir)
    result["graph"] = kg
    result["paths"] = {"graph": kg_dir / "graph.json", "errors": kg_dir / "errors.jsonl"}
    return result


def _json_line(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False) + "\n"


def _build_one(path: Path, root: Path, out_dir: Path, assets: Path, s: dict, cached, schema, tag: str, sha: str) -> dict:
    doc = read_document(path, root, s["ingest"])
    issues = [i.to_dict() for i in doc.issues]
    sub = KG()
    complete = True
    if doc.blocks:
        for b in doc.blocks:
            if b.type in ("image", "table"):  # figures and table crops taken out of a PDF page
                _save_embedded(b, assets, out_dir)
        domain = Path(doc.path).parts[0] if len(Path(doc.path).parts) > 1 else ""
        try:
            extract_structural(doc, sub, issues, domain=domain)
        except Exception as e:  # one bad document never stops the corpus
            log.exception("structural extraction failed for %s", doc.path)
            issues.append({"file": doc.path, "stage": "kg.structural",
                           "reason": f"extraction failed ({type(e).__name__}: {e})"})
            sub = KG()
        if cached is not None and sub.g.number_of_nodes():
            L = s["llm"]
            try:
                extract_llm(doc, sub, issues, cached, schema, L["max_retries"], L["max_new_tokens"],
                            L["describe_images"], _image_loader(root, assets))
            except Exception as e:  # e.g. the server is down: keep the structural graph, retry on resume
                log.exception("llm extraction failed for %s", doc.path)
                issues.append({"file": doc.path, "stage": "kg.llm",
                               "reason": f"backend failed ({type(e).__name__}: {e}); redone on the next run"})
                complete = False
    return {"path": doc.path, "sha": sha, "tag": tag, "complete": complete, "graph": to_json(sub), "issues": issues}


def _print_summary(result: dict, kg_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    t = Table(title=f"knowledge graph ({kg_dir})")
    t.add_column("kind")
    t.add_column("type")
    t.add_column("count", justify="right")
    for n, c in result["counts"]["nodes"].items():
        t.add_row("node", n, str(c))
    for n, c in result["counts"]["edges"].items():
        t.add_row("edge", n, str(c))
    con.print(t)
    con.print(f"documents {result['documents']} (reused {result['reused']}), merged entities "
              f"{result['merged_entities']}, errors {len(result['errors'])}, model calls {result['calls']}")
    ev = result.get("eval")
    if ev:
        f = ev["facts"]
        con.print(f"facts vs truth: precision {f['precision']:.4f}  recall {f['recall']:.4f}  "
                  f"({f['tp']} / {f['pred']} predicted, {f['gold']} gold); figures linked "
                  f"{ev['figures_linked']['ok']}/{ev['figures_linked']['total']}; references resolved "
                  f"{ev['references_resolved']['ok']}/{ev['references_resolved']['total']}; formulas linked "
                  f"{ev['formulas_linked']['ok']}/{ev['formulas_linked']['total']}")
