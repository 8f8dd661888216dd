"""Export: a Hugging Face dataset split by source document, plus messages JSONL (ms-swift /
LLaMA-Factory), ShareGPT JSON and verl / EasyR1 parquet.

    OUT/dataset/hf/                    datasets.DatasetDict (train / validation / test), schema columns
    OUT/dataset/images/<sha>.png       every image once (the JSONL formats point here)
    OUT/dataset/messages.jsonl         {"messages": [user, assistant(cot)], "images": [...], "split", "id"}
    OUT/dataset/sharegpt.json          [{"conversations": [{"from": "human"}, {"from": "gpt"}], "images": [...]}]
    OUT/dataset/verl/<split>.parquet   prompt (chat list), images, answer, problem, data_source, ability,
                                       reward_model {ground_truth, style}, extra_info {split, index, ...}

verl's RLHFDataset reads `prompt` (a chat list whose text holds `<image>` markers) and `images`
(a list of {"bytes"} dicts); EasyR1 reads `problem`, `answer` and `images`.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from mmreason.core.chat import to_pil
from mmreason.core.io import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
from mmreason.core.schema import COLUMNS, features, make_id, validate_record

SPLITS = ("train", "validation", "test")


def split_documents(doc_ids: list[str], fractions=(0.8, 0.1, 0.1), seed: int = 0,
                    strata: dict[str, str] | None = None) -> dict[str, str]:
    """{doc id: split}: a seeded order of the documents cut by the fractions (validation and test get at least
    one document each when there are three or more). With `strata` ({doc id: e.g. its domain}) the documents of
    each stratum are cut separately, so every stratum with three or more documents is in every split."""
    if strata is not None:
        groups: dict[str, list[str]] = {}
        for d in sorted(set(doc_ids)):
            groups.setdefault(strata.get(d, ""), []).append(d)
        return {d: s for docs in groups.values() for d, s in split_documents(docs, fractions, seed).items()}
    docs = sorted(set(doc_ids), key=lambda d: make_id(seed, d))
    n = len(docs)
    n_val = max(1, round(fractions[1] * n)) if n >= 3 else 0
    n_test = max(1, round(fractions[2] * n)) if n >= 3 else 0
    out = {}
    for i, d in enumerate(docs):
        out[d] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return out


def record_doc(rec: dict) -> str:
    docs = json.loads(rec["provenance"])["doc_ids"]
    return docs[0] if docs else ""


def _png_bytes(path: str) -> bytes:
    buf = io.BytesIO()
    to_pil(path).save(buf, format="PNG")
    return buf.getvalue()


def export_dataset(records: list[dict], out: Path, fractions=(0.8, 0.1, 0.1), seed: int = 0,
                   stratify: str | None = "domain") -> dict:
    """Write every format; returns {"splits": {split: n}, "paths": {...}}. Documents are split within each value
    of the record column `stratify` (a document's first record decides; None: all documents together)."""
    import datasets
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    strata = None
    if stratify is not None:
        strata = {}
        for r in sorted(records, key=lambda r: r["id"]):
            strata.setdefault(record_doc(r), str(r.get(stratify)))
    assign = split_documents([record_doc(r) for r in records], fractions, seed, strata)
    by_split = {s: [r for r in records if assign[record_doc(r)] == s] for s in SPLITS}
    img_dir = out / "images"
    img_dir.mkdir(exist_ok=True)
    cache: dict[str, tuple[bytes, str]] = {}

    def image(path: str) -> tuple[bytes, str]:
        if path not in cache:
            b = _png_bytes(path)
            name = hashlib.sha1(b).hexdigest()[:16] + ".png"
            if not (img_dir / name).exists():
                atomic_write_bytes(img_dir / name, b)
            cache[path] = (b, f"images/{name}")
        return cache[path]

    # Hugging Face dataset
    dd = {}
    for s, recs in by_split.items():
        rows = {c: [] for c in COLUMNS}
        for r in recs:
            validate_record(r, where=f"export/{s}")
            for c in COLUMNS:
                rows[c].append([{"bytes": image(p)[0], "path": None} for p in r["images"]] if c == "images" else r[c])
        dd[s] = datasets.Dataset.from_dict(rows, features=features())
    hf_dir = out / "hf"
    with atomic_path(hf_dir) as tmp:  # an empty split still gets one (empty) shard, else load_from_disk fails
        datasets.DatasetDict(dd).save_to_disk(str(tmp), num_shards={s: 1 for s, d in dd.items() if not len(d)})

    # chat formats
    msgs, share = [], []
    for s in SPLITS:
        for r in by_split[s]:
            prov = json.loads(r["provenance"])
            imgs = [image(p)[1] for p in r["images"]]
            reply = prov.get("cot", "")
            msgs.append({"id": r["id"], "split": s, "messages": [{"role": "user", "content": r["problem"]},
                                                                 {"role": "assistant", "content": reply}],
                         "images": imgs, "answer": r["answer"]})
            share.append({"id": r["id"], "split": s, "conversations": [{"from": "human", "value": r["problem"]},
                                                                      {"from": "gpt", "value": reply}], "images": imgs})
    atomic_write_text(out / "messages.jsonl", "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in msgs))
    atomic_write_json(out / "sharegpt.json", share)

    # verl / EasyR1 parquet
    (out / "verl").mkdir(exist_ok=True)
    for s in SPLITS:
        rows = []
        for i, r in enumerate(by_split[s]):
            rows.append({"data_source": f"mmreason_synth/{r['task_type']}",
                         "prompt": [{"role": "user", "content": r["problem"]}],
                         "images": [{"bytes": image(p)[0], "path": None} for p in r["images"]],
                         "problem": r["problem"], "answer": r["answer"], "ability": r["domain"] or "reasoning",
                         "reward_model": {"ground_truth": r["answer"], "style": "rule"},
                         "extra_info": {"split": s, "index": i, "id": r["id"], "answer_type": r["answer_type"],
                                        "choices": json.dumps(r["choices"]), "task_type": r["task_type"]}})
        df = pd.DataFrame(rows, columns=["data_source", "prompt", "images", "problem", "answer", "ability",
                                         "reward_model", "extra_info"])
        with atomic_path(out / "verl" / f"{s}.parquet") as tmp_p:
            df.to_parquet(tmp_p, index=False)
    return {"splits": {s: len(v) for s, v in by_split.items()}, "documents": assign,
            "paths": {"hf": str(hf_dir), "messages": str(out / "messages.jsonl"), "sharegpt": str(out / "sharegpt.json"),
                      "verl": str(out / "verl")}}
