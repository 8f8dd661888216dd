"""The pipeline's report: `report.html` (one self-contained page, plots inline) and `report.md` (+ report_files/),
and `report.json` (every number the report shows), computed from the run folder alone.

    python -m mmreason.pipeline.report RUN_DIR        # regenerate from RUN_DIR (what the pipeline writes at the end)

What it reads in RUN_DIR: pipeline.json (stage records: the dataset path, checkpoints, time and peak memory),
run.json, environment.json, configs/*.yaml, synth/kg/{stats,eval}.json, the synth dataset, sft|rl/metrics.jsonl,
eval/<model>/samples/synth.jsonl and diagnostics/<model>/{summary.json,*.png}. A stage that did not run leaves
its section out.

Numbers: accuracy k/n with a 95 % Wilson score interval; model differences paired on the same questions: the
exact McNemar p-value and the matching exact conditional 95 % interval (`eval.metrics.paired_difference`). A
difference is "within noise" when p ≥ 0.05, which is when its interval contains 0. Baselines per group of questions: chance
(uniform guess: 1/options for choice, 1/2 for boolean, 0 for open answers) and the best constant answer (the one
answer that, given to every question of the group, scores best on these very questions: an upper bound on every
constant policy).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mmreason.core.io import atomic_write_bytes, atomic_write_json, atomic_write_text, read_json, read_jsonl
from mmreason.eval.metrics import best_constant, chance_accuracy, paired_difference, wilson_interval

MODELS = ("base", "sft", "rl")
COLOURS = {"base": "#8c8c8c", "sft": "#1f77b4", "rl": "#d62728"}
SAMPLE_QUESTIONS = 6  # shown with their images and each model's answer


# ---------------------------------------------------------------------------------------------- reading the run


@dataclass
class RunData:
    """Everything the report shows, read from a run folder (`load_run`)."""

    run_dir: Path
    state: dict
    info: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)  # stage -> composed YAML
    kg: dict = field(default_factory=dict)  # synth/kg/stats.json
    kg_eval: dict = field(default_factory=dict)  # synth/kg/eval.json (documents with a ground truth)
    synth_report: dict = field(default_factory=dict)  # synth/report.json (per document: blocks, facts, paths, questions)
    records: dict[str, list[dict]] = field(default_factory=dict)  # split -> records without images
    test_images: dict[str, list[bytes]] = field(default_factory=dict)  # test id -> PNG bytes
    metrics: dict[str, list[dict]] = field(default_factory=dict)  # sft | rl -> metrics.jsonl rows
    samples: dict[str, dict[str, dict]] = field(default_factory=dict)  # model -> id -> {correct, extracted, response}
    diagnostics: dict[str, dict] = field(default_factory=dict)  # model -> summary (aggregate) + plot paths


def _read_json(path: Path) -> dict:
    return read_json(path) if path.is_file() else {}


def load_dataset_records(path: str | Path) -> tuple[dict[str, list[dict]], dict[str, list[bytes]]]:
    """split -> records (no image payloads), and test id -> the test records' image bytes."""
    import datasets

    dd = datasets.load_from_disk(str(path))
    records, images = {}, {}
    for split in dd:
        ds = dd[split].cast_column("images", datasets.Sequence(datasets.Image(decode=False)))
        cols = [c for c in ds.column_names if c != "images"]
        rows = ds.select_columns(cols).to_list()
        records[split] = rows
        if split == "test":
            for rid, ims in zip(ds["id"], ds["images"]):
                images[rid] = [im["bytes"] for im in ims if im.get("bytes")]
    return records, images


def load_run(run_dir: str | Path) -> RunData:
    """Read a pipeline run folder (module docstring). Raises FileNotFoundError without pipeline.json."""
    run = Path(run_dir).resolve()
    if not (run / "pipeline.json").is_file():
        raise FileNotFoundError(f"{run}: no pipeline.json (not a pipeline run folder; run python -m mmreason.pipeline)")
    data = RunData(run, read_json(run / "pipeline.json"), _read_json(run / "run.json"),
                   _read_json(run / "environment.json"))
    for f in sorted((run / "configs").glob("*.yaml")):
        data.configs[f.stem] = f.read_text()
    data.kg = _read_json(run / "synth" / "kg" / "stats.json")
    data.kg_eval = _read_json(run / "synth" / "kg" / "eval.json")
    data.synth_report = _read_json(run / "synth" / "report.json")
    ds = data.state.get("synth", {}).get("dataset")
    if ds and Path(ds).exists():
        data.records, data.test_images = load_dataset_records(ds)
    for name in ("sft", "rl"):
        if (run / name / "metrics.jsonl").is_file():
            data.metrics[name] = read_jsonl(run / name / "metrics.jsonl")
    for label in MODELS:
        f = run / "eval" / label / "samples" / "synth.jsonl"
        if f.is_file():
            data.samples[label] = {r["id"]: r for r in read_jsonl(f)}
        d = run / "diagnostics" / label
        if (d / "summary.json").is_file():
            s = read_json(d / "summary.json")
            data.diagnostics[label] = {"aggregate": s["aggregate"], "n_samples": s["n_samples"],
                                       "accuracy": s.get("accuracy"), "paper": s.get("paper_late_early_ratio"),
                                       "plots": [d / p for p in s.get("plots", []) if (d / p).is_file()]}
    return data


# ---------------------------------------------------------------------------------------------- numbers


def _acc(flags: list[bool]) -> dict:
    k, n = sum(flags), len(flags)
    lo, hi = wilson_interval(k, n)
    return {"k": k, "n": n, "acc": k / n if n else None, "low": lo, "high": hi}


def evaluated(data: RunData) -> tuple[list[dict], list[str]]:
    """The test records that every evaluated model answered (same questions for paired comparisons), and the
    models in MODELS order."""
    labels = [m for m in MODELS if m in data.samples]
    test = data.records.get("test", [])
    if not labels:
        return [], []
    common = set.intersection(*(set(data.samples[m]) for m in labels))
    return [r for r in test if r["id"] in common], labels


def accuracy_table(records: list[dict], samples: dict[str, dict[str, dict]], labels: list[str], by: str | None) -> list[dict]:
    """One row per group of `records` (by the column `by`; None: all records as one group "all"): n, chance,
    best constant answer, and per model k, n, acc and the 95 % Wilson interval."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups["all" if by is None else str(r[by])].append(r)
    rows = []
    for g in sorted(groups):
        recs = groups[g]
        const, hits = best_constant([r["answer"] for r in recs])
        row = {"group": g, "n": len(recs),
               "chance": sum(chance_accuracy(r["answer_type"], r["choices"]) for r in recs) / len(recs),
               "constant": const, "constant_acc": hits / len(recs)}
        for m in labels:
            row[m] = _acc([bool(samples[m][r["id"]]["correct"]) for r in recs])
        rows.append(row)
    return rows


def headline(data: RunData) -> dict:
    """The headline table: all test questions, then per answer type (`accuracy_table`), and the paired
    differences SFT - base, RL - SFT, RL - base overall and on choice questions."""
    records, labels = evaluated(data)
    if not records:
        return {}
    rows = accuracy_table(records, data.samples, labels, None) + accuracy_table(records, data.samples, labels, "answer_type")
    diffs = []
    for a, b in (("base", "sft"), ("sft", "rl"), ("base", "rl")):
        if a in labels and b in labels:
            for group in ("all", "choice"):
                recs = [r for r in records if group == "all" or r["answer_type"] == group]
                if recs:
                    d = paired_difference([bool(data.samples[a][r["id"]]["correct"]) for r in recs],
                                          [bool(data.samples[b][r["id"]]["correct"]) for r in recs])
                    diffs.append({"a": a, "b": b, "group": group, **d, "within_noise": d["p_mcnemar"] >= 0.05})
    return {"labels": labels, "rows": rows, "differences": diffs}


def changed_answers(data: RunData, a: str, b: str) -> tuple[int, int]:
    """How many evaluated questions get a different extracted answer from model b than from model a, of how many."""
    records, _ = evaluated(data)
    if a not in data.samples or b not in data.samples:
        return 0, 0
    changed = sum(1 for r in records if data.samples[a][r["id"]].get("extracted") != data.samples[b][r["id"]].get("extracted"))
    return changed, len(records)


def answer_concentration(data: RunData, labels: list[str], answer_type: str) -> dict[str, tuple[str, int, int]]:
    """Per model: its most frequent extracted answer on the evaluated questions of `answer_type`, how many of
    them got it (no answer extracted does not count), and of how many (a model near n answers a constant)."""
    records = [r for r in evaluated(data)[0] if r["answer_type"] == answer_type]
    out = {}
    for m in labels:
        counts = Counter(str(e) for r in records if (e := data.samples[m][r["id"]].get("extracted")) not in (None, ""))
        answer, k = counts.most_common(1)[0] if counts else ("", 0)
        out[m] = (answer, k, len(records))
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _cell(a: dict) -> str:
    return f"{_pct(a['acc'])} [{_pct(a['low'])}, {_pct(a['high'])}]" if a["n"] else "–"


def findings(data: RunData, head: dict) -> list[str]:
    """The report's conclusions in words (which differences are within noise)."""
    if not head:
        return ["No model was evaluated (the eval stage did not run)."]
    rows = {r["group"]: r for r in head["rows"]}
    out = []
    n_dom = len({r["domain"] for r in evaluated(data)[0]})
    n_test = len(data.records.get("test", []))
    asked = f"{rows['all']['n']}" + (f" of the {n_test}" if rows["all"]["n"] < n_test else "")
    out.append(f"{asked} test questions from {n_dom} domain(s) (the test split holds whole source documents); "
               f"accuracy in % with 95 % Wilson intervals in brackets.")
    choice = rows.get("choice")
    for m in head["labels"]:
        if choice is None:
            break
        a = choice[m]
        beats = a["low"] > choice["constant_acc"]
        verdict = ("beats it: the interval excludes it" if beats else
                   "is below it" if a["high"] < choice["constant_acc"] else "is within noise of it")
        out.append(f"{m.upper()} on choice questions: {_cell(a)} against the best constant answer "
                   f"('{choice['constant']}', {_pct(choice['constant_acc'])}) and chance ({_pct(choice['chance'])}): "
                   f"{verdict}.")
    for m, (answer, k, n) in answer_concentration(data, head["labels"], "choice").items():
        if n and k >= 0.9 * n:  # a constant policy scores the constant's accuracy whatever the questions say
            out.append(f"{m.upper()} gives the same answer ('{answer}') to {k} of the {n} choice questions: it has "
                       f"learned the answer format and a prior over answers, not to read the questions.")
    for d in head["differences"]:
        what = "all questions" if d["group"] == "all" else "choice questions"
        sign = "within noise" if d["within_noise"] else ("a real gain" if d["diff"] > 0 else "a real loss")
        out.append(f"{d['b'].upper()} − {d['a'].upper()} on {what}: {100 * d['diff']:+.1f} points "
                   f"[{100 * d['low']:+.1f}, {100 * d['high']:+.1f}], McNemar p = {d['p_mcnemar']:.3g} "
                   f"({d['n01']} questions newly right, {d['n10']} newly wrong): {sign}.")
    if "sft" in data.samples and "rl" in data.samples:
        c, n = changed_answers(data, "sft", "rl")
        out.append(f"RL changed the extracted answer on {c} of {n} test questions relative to SFT.")
    rl = data.metrics.get("rl") or []
    if len(rl) >= 4:
        k = max(2, len(rl) // 4)
        first, last = [r.get("reward/mean", 0.0) for r in rl[:k]], [r.get("reward/mean", 0.0) for r in rl[-k:]]
        d = sum(last) / k - sum(first) / k
        se = math.sqrt(_var(first) / k + _var(last) / k)
        word = "within noise" if abs(d) <= 1.96 * se else ("up" if d > 0 else "down")
        out.append(f"RL training reward (first {k} vs last {k} of {len(rl)} steps, fresh prompts each step): "
                   f"{sum(first) / k:.3f} → {sum(last) / k:.3f} (Δ {d:+.3f} ± {1.96 * se:.3f}, 95 % normal "
                   f"interval): {word}.")
    return out


def _var(xs: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


# ---------------------------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def plot_counts(panels: list[tuple[str, dict[str, int]]]) -> bytes:
    """Horizontal bar charts, one panel per (title, {label: count})."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 0.5 + 0.28 * max(len(c) for _, c in panels)))
    for ax, (title, counts) in zip(axes if len(panels) > 1 else [axes], panels):
        names = list(counts)[::-1]
        ax.barh(names, [counts[n] for n in names], color="#4c72b0")
        for i, n in enumerate(names):
            ax.text(counts[n], i, f" {counts[n]}", va="center", fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.15)
    fig.tight_layout()
    return _png(fig)


def plot_splits(records: dict[str, list[dict]], columns: tuple[str, ...]) -> bytes:
    """Stacked bars of records per value of each column, one colour per split."""
    plt = _plt()
    splits = [s for s in ("train", "validation", "test") if s in records]
    colours = {"train": "#4c72b0", "validation": "#dd8452", "test": "#55a868"}
    values = {c: sorted({str(r[c]) for s in splits for r in records[s]}) for c in columns}
    fig, axes = plt.subplots(1, len(columns), figsize=(4.4 * len(columns), 0.6 + 0.26 * max(len(v) for v in values.values())))
    for ax, c in zip(axes, columns):
        left = [0] * len(values[c])
        for s in splits:
            cnt = Counter(str(r[c]) for r in records[s])
            w = [cnt.get(v, 0) for v in values[c]]
            ax.barh(values[c], w, left=left, color=colours[s], label=s)
            left = [a + b for a, b in zip(left, w)]
        ax.invert_yaxis()
        ax.set_title(f"records by {c}", fontsize=10)
        ax.tick_params(labelsize=8)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
    return [p[0] for p in pts], [p[1] for p in pts]


def _smooth(ys: list[float], k: int) -> list[float]:
    """Trailing mean over k points."""
    return [sum(ys[max(0, i - k + 1): i + 1]) / (i + 1 - max(0, i - k + 1)) for i in range(len(ys))]


def plot_curves(rows: list[dict], panels: list[tuple[str, list[str]]], title: str) -> bytes:
    """A grid of training curves: each panel (title, keys) plots those metrics against the step (raw, faint,
    and a trailing mean over ~1/10 of the run). A key 'x_p10..x_p90' draws a band; 'x_min..x_max' a dotted one."""
    plt = _plt()
    cols = min(4, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 2.6 * nrows), squeeze=False)
    k = max(1, len(rows) // 10)
    for ax, (name, keys) in zip(axes.flat, panels):
        for key in keys:
            if ".." in key:
                lo_key, hi_key = key.split("..")
                xs, lo = _series(rows, lo_key)
                _, hi = _series(rows, hi_key)
                if xs and len(lo) == len(hi):
                    dotted = lo_key.endswith("_min")
                    ax.fill_between(xs, lo, hi, alpha=0.08 if dotted else 0.25, color="#4c72b0",
                                    label=f"{lo_key.rsplit('_', 1)[1]}–{hi_key.rsplit('_', 1)[1]}")
                continue
            xs, ys = _series(rows, key)
            if not xs:
                continue
            if len(xs) > 3 and not key.startswith("eval/"):
                line, = ax.plot(xs, ys, alpha=0.3, lw=0.8)
                ax.plot(xs, _smooth(ys, k), color=line.get_color(), lw=1.4, label=key)
            else:
                ax.plot(xs, ys, marker="o", ms=3, label=key)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
        ax.set_xlabel("step", fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


RL_PANELS = [
    ("reward", ["reward/mean", "batch/reward_mean"]),
    ("accuracy", ["accuracy/mean", "eval/accuracy"]),
    ("response length (tokens)", ["response/length_mean"]),
    ("clip fraction", ["actor/clipfrac", "actor/dual_clipfrac"]),
    ("VGPO ρ (normalised)", ["vgpo/rho_mean", "vgpo/visual_late_early_ratio"]),
    ("VGPO gate pass rate", ["vgpo/gate_pass_rate", "vgpo/gate_pass_rate_late"]),
    ("VGPO α (trajectory weight)", ["vgpo/alpha_min..vgpo/alpha_max", "vgpo/alpha_p10..vgpo/alpha_p90", "vgpo/alpha_p50"]),
    ("VGPO ψ (token weight)", ["vgpo/psi_min..vgpo/psi_max", "vgpo/psi_p10..vgpo/psi_p90", "vgpo/psi_p50"]),
]


def plot_accuracy(rows: list[dict], labels: list[str]) -> bytes:
    """Accuracy per group with 95 % Wilson intervals, one bar per model; chance and best constant as marks."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.2 + 1.3 * len(rows), 3.2))
    width = 0.8 / max(1, len(labels))
    for j, m in enumerate(labels):
        xs = [i + (j - (len(labels) - 1) / 2) * width for i in range(len(rows))]
        acc = [100 * (r[m]["acc"] or 0) for r in rows]
        err = [[max(0.0, 100 * ((r[m]["acc"] or 0) - r[m]["low"])) for r in rows],
               [max(0.0, 100 * (r[m]["high"] - (r[m]["acc"] or 0))) for r in rows]]
        ax.bar(xs, acc, width, yerr=err, capsize=2, color=COLOURS[m], label=m)
    for i, r in enumerate(rows):
        ax.hlines(100 * r["chance"], i - 0.42, i + 0.42, colors="black", linestyles=":", label="chance" if i == 0 else None)
        ax.hlines(100 * r["constant_acc"], i - 0.42, i + 0.42, colors="black", linestyles="--",
                  label="best constant" if i == 0 else None)
    ax.set_xticks(range(len(rows)), [f"{r['group']}\n(n={r['n']})" for r in rows], fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def _thumbnail(png: bytes, side: int = 280) -> bytes:
    from PIL import Image

    im = Image.open(io.BytesIO(png))
    im.thumbnail((side, side))
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- the document


@dataclass
class Block:
    """One piece of the report: kind h2 | p | table | img | code | question."""

    kind: str
    text: str = ""
    side: bool = False  # table, img: shown beside the block before it (html)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    png: bytes = b""
    name: str = ""  # img: file name in report_files/
    images: list[tuple[str, bytes]] = field(default_factory=list)  # question: (file name, PNG)


def _acc_rows(rows: list[dict], labels: list[str]) -> list[list[str]]:
    return [[r["group"], str(r["n"]), _pct(r["chance"]), f"{_pct(r['constant_acc'])} ('{r['constant']}')"]
            + [_cell(r[m]) for m in labels] for r in rows]


def build(data: RunData) -> tuple[list[Block], dict]:
    """The report as blocks, and report.json's content."""
    B: list[Block] = []
    state = data.state
    head = headline(data)
    labels = head.get("labels", [])
    acc_header = ["group", "n", "chance", "best constant"] + [f"{m} % [95 % CI]" for m in labels]
    numbers: dict = {"run_dir": str(data.run_dir), "headline": head}

    B.append(Block("p", f"Run `{data.run_dir}` (id {data.info.get('id', '?')}, created {data.info.get('created', '?')}); "
                        f"stages: {', '.join(s for s in state if state[s].get('done')) or 'none'}."))
    B.append(Block("h2", "Findings"))
    numbers["findings"] = findings(data, head)
    B += [Block("p", line) for line in numbers["findings"]]

    if head:
        B.append(Block("h2", "Accuracy on the test split"))
        B.append(Block("table", header=acc_header, rows=_acc_rows(head["rows"], labels)))
        B.append(Block("img", "Accuracy with 95 % Wilson intervals; chance (dotted) and best constant answer (dashed).",
                       png=plot_accuracy(head["rows"], labels), name="accuracy.png"))
        B.append(Block("table", header=["difference", "questions", "Δ points [95 % CI]", "newly right", "newly wrong",
                                        "McNemar p", "verdict"],
                       rows=[[f"{d['b']} − {d['a']}", d["group"], f"{100 * d['diff']:+.1f} [{100 * d['low']:+.1f}, "
                              f"{100 * d['high']:+.1f}]", str(d["n01"]), str(d["n10"]), f"{d['p_mcnemar']:.3g}",
                              "within noise" if d["within_noise"] else "significant"] for d in head["differences"]]))
        records, _ = evaluated(data)
        for by in ("task_type", "domain"):
            rows = accuracy_table(records, data.samples, labels, by)
            numbers[f"by_{by}"] = rows
            B.append(Block("h2", f"Accuracy by {by.replace('_', ' ')}"))
            B.append(Block("table", header=acc_header, rows=_acc_rows(rows, labels)))

    if data.kg:
        counts = data.kg.get("counts", {})
        B.append(Block("h2", "Knowledge graph"))
        B.append(Block("p", f"{sum(counts.get('nodes', {}).values())} nodes, {sum(counts.get('edges', {}).values())} edges "
                            f"from {data.kg.get('documents', '?')} documents."
                            + _kg_eval_text(data.kg_eval)))
        for kind in ("nodes", "edges"):
            B.append(Block("table", header=[f"{kind[:-1]} type", "count"],
                           rows=[[t, str(c)] for t, c in counts.get(kind, {}).items()], side=kind == "edges"))
        B.append(Block("img", "Nodes and edges by type.", png=plot_counts([("nodes", counts.get("nodes", {})),
                                                                            ("edges", counts.get("edges", {}))]),
                       name="kg.png"))
        numbers["kg"] = counts
    docs = data.synth_report.get("documents") or []
    if docs:
        B.append(Block("p", f"Per document (synth/report.json): {data.synth_report.get('questions', '?')} questions from "
                            f"{data.synth_report.get('documents_with_questions', '?')} of {len(docs)} documents."))
        B.append(Block("table", header=["document", "blocks", "tables usable", "figures charted", "facts", "paths",
                                        "questions", "why none"],
                       rows=[[d["document"], str(sum(d.get("blocks", {}).values())),
                              f"{d.get('tables_usable', 0)}/{d.get('tables', 0)}",
                              f"{d.get('figures_charted', 0)}/{d.get('figures', 0)}", str(d.get("facts", 0)),
                              str(d.get("paths", 0)), str(d.get("questions", 0)), "; ".join(d.get("reasons") or [])]
                             for d in docs]))

    if data.records:
        B += _dataset_blocks(data)
        numbers["dataset"] = {s: len(v) for s, v in data.records.items()}

    if "sft" in data.metrics:
        B.append(Block("h2", "SFT"))
        B.append(Block("img", "SFT loss (token mean over the assistant tokens) and held-out greedy accuracy.",
                       png=plot_curves(data.metrics["sft"], [("loss", ["sft/loss"]), ("held-out accuracy", ["eval/accuracy"]),
                                                             ("grad norm", ["actor/grad_norm"])], "SFT"),
                       name="sft.png"))
    if "rl" in data.metrics:
        rows = data.metrics["rl"]
        B.append(Block("h2", "RL"))
        B.append(Block("p", "Reward and accuracy are over the first round's fresh prompts of each step (before dynamic "
                            "sampling); ρ is the per-sequence min-max normalised visual focus, α and ψ VGPO's trajectory "
                            "and token weights (bands: p10–p90 and min–max; quantiles averaged over micro-batches). "
                            "VGPO panels are empty for algorithms without visual-focus weights, and text-only prompts "
                            "(no image tokens) get ρ = 0, ψ = α = 1."))
        panels = [p for p in RL_PANELS if any(_series(rows, k.split("..")[0])[0] for k in p[1])]
        B.append(Block("img", f"RL curves over {len(rows)} steps.", png=plot_curves(rows, panels, "RL"), name="rl.png"))

    if data.diagnostics:
        B.append(Block("h2", "Visual attention (eval.diagnostics)"))
        B.append(Block("p", "Per model, on the image questions of the test split: attention shares to image / question / "
                            "generated tokens along the response, raw visual focus ρ, and the late/early image-attention "
                            "ratio (the VGPO paper reports ≈ 0.68 for correct and ≈ 0.53 for incorrect answers of a "
                            "7B RLVR model)."))
        B.append(Block("table", header=["model", "samples", "accuracy", "image share", "late/early (correct)",
                                        "late/early (incorrect)", "late/early if attention were uniform"],
                       rows=[[m, str(d["n_samples"]), _pct(d["accuracy"]), _f3(d["aggregate"]["all"]["mean_image_share"]),
                              _f3(d["aggregate"]["correct"]["late_early_ratio_mean"]),
                              _f3(d["aggregate"]["incorrect"]["late_early_ratio_mean"]),
                              _f3(d["aggregate"]["all"]["uniform_late_early_ratio_mean"])] for m, d in data.diagnostics.items()]))
        for m, d in data.diagnostics.items():
            for i, p in enumerate(d["plots"]):  # attention shares (3 panels) on a row, then the others side by side
                B.append(Block("img", f"{m}: {p.stem.replace('_', ' ')}", png=p.read_bytes(), name=f"diag_{m}_{p.name}",
                               side=i > 1))

    B += _resource_blocks(state)
    B.append(Block("h2", "Configuration and environment"))
    env = data.environment
    if env:
        B.append(Block("p", f"Python {env.get('python')} on {env.get('platform')}"
                            + (f"; GPUs: {', '.join(env['gpus'])}" if env.get("gpus") else "; no GPU") + "."))
        B.append(Block("table", header=["package", "version"], rows=[[k, v] for k, v in env.get("packages", {}).items()]))
    for name, text in data.configs.items():
        B.append(Block("code", f"configs/{name}.yaml\n{text}"))
    numbers["resources"] = {s: r.get("resources") for s, r in state.items()}
    return B, numbers


def _f3(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def _kg_eval_text(ev: dict) -> str:
    facts = ev.get("facts")
    if not facts:
        return ""
    return (f" Against the documents' ground truth ({ev.get('documents')} documents): fact precision "
            f"{facts['precision']:.3f}, recall {facts['recall']:.3f}.")


def _dataset_blocks(data: RunData) -> list[Block]:
    recs = data.records
    splits = [s for s in ("train", "validation", "test") if s in recs]
    out = [Block("h2", "Dataset"),
           Block("p", f"{sum(len(recs[s]) for s in splits)} records: "
                      + ", ".join(f"{s} {len(recs[s])}" for s in splits) + ". Splits are by source document.")]
    for col in ("domain", "task_type", "answer_type"):
        values = sorted({str(r[col]) for s in splits for r in recs[s]})
        cnt = {s: Counter(str(r[col]) for r in recs[s]) for s in splits}
        out.append(Block("table", header=[col] + splits, rows=[[v] + [str(cnt[s].get(v, 0)) for s in splits] for v in values],
                         side=col != "domain"))
    out.append(Block("img", "Records by domain, task type and answer type, per split.",
                     png=plot_splits(recs, ("domain", "task_type", "answer_type")), name="dataset.png"))
    picked = sample_questions(recs.get("test", []), data.test_images)
    if picked:
        out.append(Block("h2", "Sample test questions"))
    for r in picked:
        answers = "; ".join(f"{m}: `{(data.samples[m].get(r['id']) or {}).get('extracted') or '(none)'}`"
                            + (" ✓" if (data.samples[m].get(r["id"]) or {}).get("correct") else "")
                            for m in MODELS if m in data.samples)
        meta = f"{r['task_type']} · {r['domain']} · {r['answer_type']} · gold `{r['answer']}`" + (f" · {answers}" if answers else "")
        ims = [(f"q_{r['id']}_{i}.png", _thumbnail(b)) for i, b in enumerate(data.test_images.get(r["id"], []))]
        out.append(Block("question", r["problem"], rows=[[meta]], images=ims))
    return out


def sample_questions(test: list[dict], images: dict[str, list[bytes]], k: int = SAMPLE_QUESTIONS) -> list[dict]:
    """Up to k test questions, one per task type, taking the domains in turn; questions with images first."""
    by_domain: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(test, key=lambda r: (not images.get(r["id"]), r["id"])):
        by_domain[r["domain"]].append(r)
    picked, seen = [], set()
    while len(picked) < k and any(by_domain.values()):
        for dom in sorted(by_domain):
            while by_domain[dom] and by_domain[dom][0]["task_type"] in seen:
                by_domain[dom].pop(0)
            if by_domain[dom] and len(picked) < k:
                r = by_domain[dom].pop(0)
                seen.add(r["task_type"])
                picked.append(r)
    return picked


def _resource_blocks(state: dict) -> list[Block]:
    rows, total = [], 0.0
    for stage, rec in state.items():
        res = rec.get("resources")
        if not res:
            continue
        total += res["seconds"]
        rows.append([stage, f"{res['seconds']:.1f}", f"{res['peak_rss_mb']:.0f}", res.get("peak_rss_scope", ""),
                     f"{res['peak_cuda_mb']:.0f}" if "peak_cuda_mb" in res else "–"])
    if not rows:
        return []
    return [Block("h2", "Time and memory per stage"),
            Block("p", f"Total {total:.0f} s over the stages recorded (a stage skipped on a rerun keeps its first run's "
                       "numbers). Peak RSS of the pipeline process (scope 'stage': reset when the stage starts)."),
            Block("table", header=["stage", "seconds", "peak RSS (MiB)", "scope", "peak CUDA (MiB)"], rows=rows)]


# ---------------------------------------------------------------------------------------------- rendering


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], title: str) -> str:
    out = [f"# {title}", ""]
    for b in blocks:
        if b.kind == "h2":
            out += [f"## {b.text}", ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "table":
            out += ["| " + " | ".join(b.header) + " |", "|" + "|".join("---" for _ in b.header) + "|"]
            out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows] + [""]
        elif b.kind == "img":
            out += [f"![{b.text}](report_files/{b.name})", "", f"*{b.text}*", ""]
        elif b.kind == "code":
            name, _, body = b.text.partition("\n")
            out += [f"<details><summary>{name}</summary>", "", "```yaml", body.rstrip(), "```", "", "</details>", ""]
        elif b.kind == "question":
            out += ["> " + line for line in b.text.splitlines()] + [""]
            out += [f"![question image](report_files/{n})" for n, _ in b.images]
            out += ["", b.rows[0][0], ""]
    return "\n".join(out)


CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:1.5em auto;padding:0 1em;
color:#222;line-height:1.45}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}td,th{border:1px solid #ccc;padding:.25em .55em;text-align:left}
th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}img{max-width:100%;height:auto}figure{margin:.8em 0}
figcaption{font-size:.85em;color:#555}pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.78em}
.q{border:1px solid #ddd;border-radius:6px;padding:.6em .9em;margin:.8em 0}.q pre{white-space:pre-wrap;background:none;
padding:0;font-size:.85em}.q img{max-height:220px;margin-right:.5em;border:1px solid #eee}.meta{font-size:.85em;color:#444}
code{background:#f3f3f3;padding:0 .2em}.row{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}
.row figure{flex:1 1 0;min-width:0}"""


def _inline(text: str) -> str:
    """Escape, then `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


ROW_END = "</div><!-- row -->"


def _row(out: list[str], side: bool) -> None:
    """Open a flex row, or reopen the previous one (drop its end) for a block shown beside the one before."""
    if side and out[-1] == ROW_END:
        out.pop()
    else:
        out.append('<div class="row">')


def to_html(blocks: list[Block], title: str) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    for b in blocks:
        if b.kind == "h2":
            out.append(f"<h2>{html.escape(b.text)}</h2>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "table":
            _row(out, b.side)
            out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in b.header) + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b.rows]
            out += ["</tbody></table>", ROW_END]
        elif b.kind == "img":
            _row(out, b.side)
            out += [f'<figure><img src="{_data_uri(b.png)}" alt="{html.escape(b.text)}">'
                    f"<figcaption>{html.escape(b.text)}</figcaption></figure>", ROW_END]
        elif b.kind == "code":
            name, _, body = b.text.partition("\n")
            out.append(f"<details><summary>{html.escape(name)}</summary><pre>{html.escape(body)}</pre></details>")
        elif b.kind == "question":
            ims = "".join(f'<img src="{_data_uri(png)}" alt="question image">' for _, png in b.images)
            out.append(f'<div class="q"><pre>{html.escape(b.text)}</pre>{ims}<div class="meta">{_inline(b.rows[0][0])}</div></div>')
    out.append("</body></html>")
    return "\n".join(out)


def write_report(run_dir: str | Path) -> dict[str, str]:
    """Write report.html, report.md (+ report_files/*.png) and report.json into the run folder; returns their paths."""
    data = load_run(run_dir)
    blocks, numbers = build(data)
    title = f"mmreason pipeline report: {data.run_dir.name}"
    run = data.run_dir
    files = run / "report_files"
    for b in blocks:
        if b.kind == "img":
            atomic_write_bytes(files / b.name, b.png)
        for name, png in b.images:
            atomic_write_bytes(files / name, png)
    atomic_write_text(run / "report.md", to_markdown(blocks, title))
    atomic_write_text(run / "report.html", to_html(blocks, title))
    atomic_write_json(run / "report.json", numbers)
    return {"html": str(run / "report.html"), "md": str(run / "report.md"), "json": str(run / "report.json"),
            "files": str(files)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m mmreason.pipeline.report",
                                 description="(Re)write report.html / report.md / report.json of a pipeline run folder.")
    ap.add_argument("run_dir")
    a = ap.parse_args(argv)
    paths = write_report(a.run_dir)
    print(json.dumps(paths, indent=2))


if __name__ == "__main__":
    main()
