"""Grading throughput on a mixed batch of model responses, against extract-only in the same run.

    python benchmarks/bench_grading.py [--n 2000 --seed 0 --hard 2 --filler 400 --threads 1]

The batch mixes the five answer types (choice, number, text, boolean, expression), right and wrong
answers, reward-hacking responses (option lists, several boxes), responses of varying length (a few
~100 KB) and `--hard` expressions that must hit the 1 s budget. Rows:
- extract-only: `extract_answer` on every response (the baseline, ratio 1.0);
- grade (cold): every response once, math-verify pool already warm, result cache cleared first;
- grade (cached): the same batch again (GRPO groups repeat answers);
- one row per answer type (cold pass; the sum of per-call times, so with threads it exceeds wall time),
  and the pool warm-up time (math-verify server start + import + warm-up checks);
- the hard expressions and long adversarial responses the unit tests grade, timed here (ratio: against
  the 1 s budget; each must come back in about the budget, never hang).
With `--threads T > 1` the cold pass runs from a thread pool (math-verify work is still bounded by the
pool's worker processes, 2 by default: MMREASON_GRADING_WORKERS).
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from mmreason.core.grading import _mathverify, extract_answer, grade, warmup

OPTS = ["10 cm", "12 cm", "14 cm", "16 cm"]
FILLER = "We look at the figure and reason step by step about the quantities involved. "


def make_batch(n: int, seed: int, hard: int, filler: int) -> list[tuple[str, str, str, list[str]]]:
    """(response, gold, answer_type, choices) tuples, deterministic in `seed`."""
    rng = random.Random(seed)
    def pad(s: str) -> str:
        k = rng.choice([0, 1, 5, filler]) if rng.random() > 0.01 else 20 * filler  # a few ~100 KB ones
        return FILLER * k + s

    def choice():
        gold = rng.choice("ABCD")
        r = rng.random()
        if r < 0.4:
            pred = f"\\boxed{{{rng.choice('ABCD')}}}"
        elif r < 0.6:
            i = rng.randrange(4)
            pred = f"Answer: {'ABCD'[i]}) {OPTS[i]}"
        elif r < 0.75:
            pred = f"The answer is {rng.choice(OPTS)}."
        elif r < 0.9:
            pred = "\n".join(f"{'ABCD'[i]}. {OPTS[i]}" for i in range(4))  # option listing
        else:
            pred = "\\boxed{A} or \\boxed{B}"
        return pad(pred), gold, "choice", OPTS

    def number():
        v = rng.choice([12, 3.5, 0.45, 1234, 0.75, 1e-3])
        pred = rng.choice([f"{v}", f"{v} cm", f"{v:,}", f"{v * 100:g}%", "\\frac{3}{4}", f"{v * 1.1:g}", "x = 7"])
        return pad(f"\\boxed{{{pred}}}"), f"{v}", "number", []

    def text():
        gold = rng.choice(["Eiffel Tower", "Paris", "photosynthesis"])
        pred = rng.choice([gold.upper(), f"the {gold}.", "London", f"\\text{{{gold}}}", f"{gold} or London"])
        return pad(f"Answer: {pred}"), gold, "text", []

    def boolean():
        gold = rng.choice(["Yes", "No"])
        pred = rng.choice(["Yes", "No", "true", "incorrect", "yes or no", "Not true"])
        return pad(f"<answer>{pred}</answer>"), gold, "boolean", []

    def expression():
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        gold = rng.choice([f"{a}x+{b}", f"\\frac{{{a}}}{{{b}}}", f"{a}\\sqrt{{{b}}}", f"(x+{a})^2"])
        preds = {  # cheap exact/numeric ones and some that need math-verify
            f"{a}x+{b}": [f"{a}x+{b}", f"{b}+{a}x", f"{a}x + {b + 1}"],
            f"\\frac{{{a}}}{{{b}}}": [f"\\dfrac{{{a}}}{{{b}}}", f"{a / b:.6f}", f"{a}/{b}", f"{b}/{a}"],
            f"{a}\\sqrt{{{b}}}": [f"{a} \\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}"],
            f"(x+{a})^2": [f"(x+{a})^2", f"x^2+{2 * a}x+{a * a}", f"x^2+{a * a}"],
        }[gold]
        return pad(f"\\boxed{{{rng.choice(preds)}}}"), gold, "expression", []

    makers = [choice, number, text, boolean, expression]
    batch = [rng.choice(makers)() for _ in range(n - hard)]
    for i in range(hard):  # distinct so the cache cannot answer them
        batch.append((f"\\boxed{{10^{{10^{{{10 + i}}}}}}}", "1", "expression", []))
    rng.shuffle(batch)
    return batch


def run_grade(batch, threads: int) -> tuple[float, list[bool], dict[str, float]]:
    per_type: dict[str, float] = defaultdict(float)

    def one(item):
        t0 = time.perf_counter()
        ok = grade(item[0], item[1], item[2], item[3])
        per_type[item[2]] += time.perf_counter() - t0
        return ok

    t0 = time.perf_counter()
    if threads > 1:
        with ThreadPoolExecutor(threads) as ex:
            out = list(ex.map(one, batch))
    else:
        out = [one(b) for b in batch]
    return time.perf_counter() - t0, out, per_type


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hard", type=int, default=2, help="expressions that must time out (1 s each)")
    ap.add_argument("--filler", type=int, default=400, help="filler sentences in the longer responses")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    batch = make_batch(args.n, args.seed, args.hard, args.filler)
    counts = defaultdict(int)
    for b in batch:
        counts[b[2]] += 1
    chars = sum(len(b[0]) for b in batch)

    t0 = time.perf_counter()
    warmup()
    t_warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    extracted = [extract_answer(b[0]) for b in batch]
    t_extract = time.perf_counter() - t0

    pool = _mathverify.pool()
    pool._cache.clear()
    timeouts0 = pool.timeouts
    t_cold, verdicts, per_type = run_grade(batch, args.threads)
    timeouts = pool.timeouts - timeouts0
    t_cached, verdicts2, _ = run_grade(batch, 1)
    assert verdicts == verdicts2, "cached pass disagrees with the cold pass"

    def row(name, n, secs):
        print(f"{name:<26}{n:>6}{secs:>10.3f}{1e6 * secs / max(n, 1):>12.0f}{secs / t_extract:>9.1f}")

    print(f"{args.n} responses, {chars / 1e6:.1f} MB, {sum(verdicts)} graded correct, "
          f"{sum(e is None for e in extracted)} without an extractable answer, {timeouts} math-verify timeouts")
    print(f"{'stage':<26}{'n':>6}{'total s':>10}{'us/item':>12}{'ratio':>9}")
    row("extract-only (baseline)", len(batch), t_extract)
    row(f"grade cold (threads={args.threads})", len(batch), t_cold)
    row("grade cached", len(batch), t_cached)
    for k in sorted(per_type):
        row(f"  {k}", counts[k], per_type[k])
    print(f"{'pool warm-up (once)':<26}{'':>6}{t_warm:>10.3f}")

    print(f"\n{'worst cases (budget 1 s)':<26}{'':>6}{'total s':>10}{'':>12}{'/budget':>9}")
    for name, (pred, gold) in HARD.items():
        t0 = time.perf_counter()
        ok = grade(pred, gold, "expression", timeout=1.0)
        dt = time.perf_counter() - t0
        assert ok is False, name
        print(f"{name:<26}{1:>6}{dt:>10.3f}{'':>12}{dt / 1.0:>9.2f}")
    t0 = time.perf_counter()
    for pred, gold, kind, opts in LONG:
        grade(pred, gold, kind, opts)
    dt = time.perf_counter() - t0
    print(f"{'long responses (~2 MB)':<26}{len(LONG):>6}{dt:>10.3f}{'':>12}{dt / 1.0:>9.2f}")


HARD = {  # distinct from make_batch's hard ones, so the cache cannot answer them
    "100-level nesting": ("\\boxed{" + "(" * 100 + "y" + ")" * 100 + "}", "y+1"),
    "10^{10^{10}}": ("\\boxed{10^{10^{10}}}", "3"),
    "10^10^10": ("\\boxed{10^10^10}", "3"),
    "200-term polynomial": ("\\boxed{" + "+".join(f"y^{{{i}}}" for i in range(200)) + "}", "y"),
}
_FILLER = "Let me think about this step by step. " * 50_000
LONG = [  # (response, gold, answer_type, choices): ~2 MB of text, deep braces, many boxes and phrases
    (_FILLER + "\nAnswer: (B)", "B", "choice", OPTS),
    (_FILLER + "\\boxed{12}", "12", "number", []),
    (_FILLER, "B", "choice", OPTS),
    ("{" * 200_000, "x", "expression", []),
    ("\\boxed{" + "{" * 200_000, "x", "expression", []),
    ("\\boxed{" * 1200 + "5" + "}" * 1200, "5", "expression", []),
    ("The answer is " * 1000, "B", "choice", OPTS),
    ("<answer>" * 2000 + "B</answer>", "B", "choice", OPTS),
    (" ".join("ABCD" * 2000), "B", "choice", OPTS),
]


if __name__ == "__main__":
    main()
