"""Time scoring 10,000 predictions per benchmark scorer against a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_scoring.py [--n 10000] [--repeat 3]

Baseline: `core.grading.extract_answer` alone over the same responses (what every scorer pays at
least once). Each row scores the same number of synthetic predictions with a benchmark's `score()`
(rule extraction, its official normalisation, and its aggregate metrics); the ratio is its time over
the baseline's. Records are built in memory (no images), so only scoring is timed.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from mmreason.core.grading import extract_answer
from mmreason.eval.benchmarks import get_benchmark


def _rec(bench: str, i: int, answer: str, atype: str, choices=(), meta=None, problem="Q?") -> dict:
    return {"id": f"{bench}-{i}", "images": [], "problem": problem, "answer": answer, "answer_type": atype,
            "choices": list(choices), "task_type": "t", "domain": "d", "provenance": "{}", "quality": "",
            "meta": meta or {}}


def synth_case(n: int, rng: random.Random):
    recs, preds = [], {}
    for i in range(n):
        kind = i % 4
        if kind == 0:
            r = _rec("s", i, "B", "choice", ["1", "2", "3", "4"], {"task_type": "A", "domain": "d", "answer_type": "choice"})
            pred = f"Reasoning... The answer is \\boxed{{{rng.choice('ABCD')}}}."
        elif kind == 1:
            v = rng.randint(1, 99)
            r = _rec("s", i, str(v), "number", meta={"task_type": "B", "domain": "d", "answer_type": "number"})
            pred = f"We compute {v} - 1 + 1 = \\boxed{{{v if rng.random() < 0.5 else v + 1}}}"
        elif kind == 2:
            r = _rec("s", i, "\\frac{1}{2}", "expression", meta={"task_type": "C", "domain": "d", "answer_type": "expression"})
            pred = rng.choice(["so \\boxed{\\frac{1}{2}}", "so \\boxed{0.5}", "so \\boxed{\\frac{2}{3}}"])
        else:
            r = _rec("s", i, "yes", "boolean", meta={"task_type": "A", "domain": "d", "answer_type": "boolean"})
            pred = rng.choice(["Answer: yes", "Answer: no"])
        recs.append(r)
        preds[r["id"]] = "Let me think step by step. " * 20 + pred
    return "synth", recs, preds


def mathvista_case(n: int, rng: random.Random):
    recs, preds = [], {}
    ch = ["tokyo", "osaka", "shanghai", "hong kong"]
    for i in range(n):
        md = {"language": "english", "source": "x", "category": "c", "task": "t", "context": "k", "grade": "g",
              "skills": ["arithmetic reasoning", "logical reasoning"]}
        if i % 2:
            meta = {"question_type": "multi_choice", "answer_type": "text", "answer": "tokyo", "choices": ch,
                    "precision": None, **md}
            r = _rec("mathvista", i, "A", "choice", ch, meta)
            pred = rng.choice(["The answer is (A).", "Answer: tokio", "\\boxed{C}"])
        else:
            meta = {"question_type": "free_form", "answer_type": "float", "answer": "1.5", "choices": [],
                    "precision": 1, **md}
            r = _rec("mathvista", i, "1.5", "number", meta=meta)
            pred = rng.choice(["\\boxed{1.54}", "The answer is 1.6", "so 1.5"])
        recs.append(r)
        preds[r["id"]] = "Looking at the image. " * 20 + pred
    return "mathvista", recs, preds


def hallusion_case(n: int, rng: random.Random):
    recs, preds = [], {}
    for i in range(n):
        cat = "VD" if i % 2 else "VS"
        meta = {"category": cat, "subcategory": f"sub{i % 5}", "set_id": str(i // 20), "figure_id": str(i % 2),
                "question_id": str((i // 2) % 10), "visual_input": "1"}
        r = _rec("hallusionbench", i, "yes" if i % 3 else "no", "boolean", meta=meta)
        recs.append(r)
        preds[r["id"]] = "From the figure, " * 10 + rng.choice(["Yes, it is.", "No.", "\\boxed{yes}"])
    return "hallusionbench", recs, preds


def wemath_case(n: int, rng: random.Random):
    recs, preds = [], {}
    parts = ["1", "2", "multi"]
    for i in range(n):
        pid, part = f"2steps_{i // 3}", parts[i % 3]
        meta = {"ID": pid, "key": f"2steps_{part}", "steps": 2, "part": part, "knowledge_concept": "Area",
                "domains": ["Calculation of Plane Figures"]}
        r = _rec("wemath", i, "B", "text", meta=meta)
        recs.append(r)
        preds[r["id"]] = "<Thought process>: " + "area is base times height. " * 10 + f"<Answer>: <<{rng.choice('AB')}>>"
    return "wemath", recs, preds


def dynamath_case(n: int, rng: random.Random):
    recs, preds = [], {}
    for i in range(n):
        meta = {"qid": str(i // 10), "varid": i % 10 + 1, "dynamath_type": "float", "subject": "algebra",
                "level": "high school"}
        r = _rec("dynamath", i, "2.0944", "number", meta=meta)
        recs.append(r)
        preds[r["id"]] = json.dumps({"solution": "step " * 40, "short answer": rng.choice(["2.094", "2.1", "2.0944"])})
    return "dynamath", recs, preds


CASES = [synth_case, mathvista_case, hallusion_case, wemath_case, dynamath_case]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings")
    a = ap.parse_args()
    rng = random.Random(0)
    cases = [case(a.n, rng) for case in CASES]
    all_resp = [p for _, _, preds in cases for p in preds.values()]
    # warm up (math-verify worker pool, regex caches) outside the timings
    get_benchmark("synth").score(cases[0][1][:200], cases[0][2])

    def best(fn) -> float:
        ts = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    base = best(lambda: [extract_answer(r) for r in all_resp[: a.n]])
    rows = [("extract_answer only (baseline)", a.n, base, None)]
    for name, recs, preds in cases:
        bench = get_benchmark(name)
        out = {}
        t = best(lambda b=bench, r=recs, p=preds, o=out: o.update(b.score(r, p)))
        rows.append((f"{name}.score", len(recs), t, out["overall"]))
    print(f"scoring {a.n:,} predictions per row (best of {a.repeat})\n")
    print("| scorer | n | seconds | µs / prediction | × baseline | overall |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, n, t, overall in rows:
        ov = "–" if overall is None else f"{100 * overall:.1f}"
        print(f"| {label} | {n:,} | {t:.3f} | {1e6 * t / n:.1f} | {t / base:.1f} | {ov} |")


if __name__ == "__main__":
    main()
