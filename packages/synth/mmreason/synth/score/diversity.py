"""Diversity: near-duplicate removal with MinHash LSH (datasketch) over the question, answer and images.

The evidence is left out of the signature: two questions on the same document share it, and it says
nothing about whether the questions are the same.
"""

from __future__ import annotations

import json
import re


def signature_text(record: dict) -> str:
    prov = json.loads(record["provenance"])
    return " ".join([prov.get("question", ""), "||", str(prov.get("answer_value", "")), "||"] + prov.get("image_ids", []))


def shingles(text: str, n: int = 3) -> set[str]:
    """Word n-grams of the lower-cased text (the set Jaccard similarity is taken over)."""
    w = re.findall(r"\w+|[^\w\s]", text.lower())
    return {" ".join(w[i:i + n]) for i in range(max(1, len(w) - n + 1))}


def jaccard(a: set, b: set) -> float:
    # |A ∩ B| / |A ∪ B|
    return len(a & b) / len(a | b) if a or b else 1.0


def dedup(records: list[dict], threshold: float, num_perm: int = 128, seed: int = 0) -> tuple[list[dict], dict[str, str]]:
    """Keep the first of every group of near-duplicates (exact Jaccard ≥ threshold among LSH candidates).

    Returns (kept records, {dropped id: id of the kept near-duplicate}).
    """
    from datasketch import MinHash, MinHashLSH

    # candidates from a looser LSH band setting, so pairs near the threshold are not missed; exact Jaccard decides
    lsh = MinHashLSH(threshold=max(0.2, threshold - 0.3), num_perm=num_perm)
    kept, dropped, sets = [], {}, {}
    for r in records:
        sh = shingles(signature_text(r))
        m = MinHash(num_perm=num_perm, seed=seed)
        for s in sorted(sh):
            m.update(s.encode("utf-8"))
        dup = next((c for c in sorted(lsh.query(m)) if jaccard(sh, sets[c]) >= threshold), None)
        if dup is not None:
            dropped[r["id"]] = dup
            continue
        lsh.insert(r["id"], m)
        sets[r["id"]] = sh
        kept.append(r)
    return kept, dropped


def dedup_embeddings(records: list[dict], threshold: float = 0.95, model=None) -> tuple[list[dict], dict[str, str]]:
    """Semantic near-duplicates (`embed` extra): keep the first of records whose signature texts have
    cosine ≥ threshold under all-MiniLM-L6-v2 (the embedder the kg resolution step uses)."""
    import numpy as np

    if model is None:
        from ..kg.resolution import load_embedder

        model = load_embedder()
    texts = [signature_text(r) for r in records]
    vecs = np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False))
    kept_idx: list[int] = []
    dropped: dict[str, str] = {}
    for i in range(len(records)):
        if kept_idx:
            sims = vecs[kept_idx] @ vecs[i]  # cosine of unit vectors
            j = int(np.argmax(sims))
            if sims[j] >= threshold:
                dropped[records[i]["id"]] = records[kept_idx[j]]["id"]
                continue
        kept_idx.append(i)
    return [records[i] for i in kept_idx], dropped
