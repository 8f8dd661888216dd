"""Metric arithmetic as pure functions on lists of flags (no I/O, no models).

Each function cites the official rule it implements; benchmark modules call these on per-sample
correctness so the arithmetic is tested once, on hand-made flags.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence


def accuracy(flags: Sequence[bool]) -> float:
    """Fraction correct; 0.0 for no samples."""
    return sum(bool(f) for f in flags) / len(flags) if len(flags) else 0.0


def group_accuracy(keys: Sequence, flags: Sequence[bool]) -> dict[str, float]:
    """Accuracy per key. A key may be a list (multi-label, e.g. MathVista `skills`): the sample then
    counts in every listed group (MathVista calculate_score.get_acc_with_contion). None keys are left out."""
    hit: dict[str, list[bool]] = defaultdict(list)
    for key, ok in zip(keys, flags):
        for k in key if isinstance(key, (list, tuple)) else [key]:
            if k is None or k == "":
                continue
            hit[str(k)].append(bool(ok))
    return {k: accuracy(v) for k, v in sorted(hit.items())}


def all_correct_rate(groups: Sequence[Hashable], flags: Sequence[bool]) -> float:
    """Fraction of groups whose members are all correct: HallusionBench fAcc (per figure) and qAcc (per
    question pair) and DynaMath worst-case accuracy (per seed question over its variants)."""
    return accuracy(list(group_all_correct(groups, flags).values()))


def group_all_correct(groups: Sequence[Hashable], flags: Sequence[bool]) -> dict[Hashable, bool]:
    """Per group: are all its members correct?"""
    by: dict[Hashable, bool] = {}
    for g, ok in zip(groups, flags):
        by[g] = by.get(g, True) and bool(ok)
    return by


def wemath_four_dimensional(problems: Iterable[tuple[Sequence[bool], bool]]) -> dict[str, float | int]:
    """WeMath's four-dimensional metrics (We-Math evaluation/four_dimensional_metrics.py).

    `problems`: per composite (2- or 3-step) problem, (correctness of each one-step sub-question,
    correctness of the multi-step question). With all = every step right, any = some step right:
      IK  insufficient knowledge    : not all & multi wrong
      IG  inadequate generalization : all & multi wrong
      CM  complete mastery          : strict all & multi right, loose any & multi right
      RM  rote memorization         : strict not all & multi right, loose none & multi right
    Rates: IK, IG, CM over the number of problems N; RM over (CM + RM) (same strictness).
    Score = (N - 0.5·IG - RM - IK) / N. The official script hard-codes N = 525 (testmini); here N is
    the number of composite problems scored, which equals 525 on the full testmini.
    """
    c = dict(IK=0, IG=0, CM_strict=0, CM_loose=0, RM_strict=0, RM_loose=0)
    n = 0
    for steps, multi in problems:
        n += 1
        all_ok, any_ok = all(steps), any(steps)
        if multi:
            c["CM_strict"] += all_ok
            c["CM_loose"] += any_ok
            c["RM_strict"] += not all_ok
            c["RM_loose"] += not any_ok
        else:
            c["IG"] += all_ok
            c["IK"] += not all_ok
    out: dict[str, float | int] = {"n_problems": n}
    out.update({f"n_{k}": v for k, v in c.items()})
    if n == 0:
        return out | {k: 0.0 for k in ("IK", "IG", "CM_strict", "CM_loose", "RM_strict", "RM_loose",
                                        "score_strict", "score_loose")}
    out["IK"] = c["IK"] / n
    out["IG"] = c["IG"] / n
    out["CM_strict"] = c["CM_strict"] / n
    out["CM_loose"] = c["CM_loose"] / n
    for mode in ("strict", "loose"):
        denom = c[f"CM_{mode}"] + c[f"RM_{mode}"]
        out[f"RM_{mode}"] = c[f"RM_{mode}"] / denom if denom else 0.0
        out[f"score_{mode}"] = (n - 0.5 * c["IG"] - c[f"RM_{mode}"] - c["IK"]) / n
    return out


# ---------------------------------------------------------------- uncertainty and baselines

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (Wilson 1927; Agresti & Coull 1998, Eq. 2):
    centre (p + z²/2n) / (1 + z²/n) ± z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n). (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_difference(a: Sequence[bool], b: Sequence[bool], level: float = 0.95) -> dict[str, float | int]:
    """acc(b) - acc(a) on the same questions, the exact two-sided McNemar p-value, and the matching exact
    conditional interval: given the m = n10 + n01 discordant questions, n01 ~ Binomial(m, π) and
    acc(b) - acc(a) = (m/n)(2π - 1), so the Clopper-Pearson interval of π maps onto the difference
    (Breslow & Day 1980 §7.2 / Agresti CDA §10.1.4). It excludes 0 exactly when p < 1 - level.
    n10: a right and b wrong; n01: a wrong and b right."""
    if len(a) != len(b):
        raise ValueError(f"paired_difference: {len(a)} vs {len(b)} flags; the runs must answer the same questions")
    n = len(a)
    n10 = sum(1 for x, y in zip(a, b) if x and not y)
    n01 = sum(1 for x, y in zip(a, b) if y and not x)
    m = n10 + n01
    lo, hi = clopper_pearson(n01, m, level) if m else (0.5, 0.5)
    scale = m / n if n else 0.0
    return {"n": n, "n10": n10, "n01": n01, "diff": (n01 - n10) / n if n else 0.0,
            "low": scale * (2 * lo - 1), "high": scale * (2 * hi - 1), "p_mcnemar": mcnemar_exact_p(n10, n01)}


def mcnemar_exact_p(n10: int, n01: int) -> float:
    """Exact two-sided McNemar p-value: 2·P(X <= min(n10, n01)), X ~ Binomial(n10 + n01, 1/2), capped at 1."""
    m = n10 + n01
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(min(n10, n01) + 1)) / 2**m
    return min(1.0, 2 * tail)


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k), X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson 1934) interval for a proportion k/n: the p with P(X >= k | p) = α/2 and
    P(X <= k | p) = α/2 (α = 1 - level), found by bisection on the binomial CDF."""
    if n <= 0:
        return 0.0, 1.0
    tail = (1 - level) / 2

    def solve(f) -> float:  # f increasing in p on [0, 1], root of f(p) = 0
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
        return (lo + hi) / 2

    low = 0.0 if k == 0 else solve(lambda p: (1 - _binom_cdf(k - 1, n, p)) - tail)
    high = 1.0 if k == n else solve(lambda p: tail - _binom_cdf(k, n, p))
    return low, high


def chance_accuracy(answer_type: str, choices: Sequence[str]) -> float:
    """Expected accuracy of a uniformly random guess: 1/len(choices) for a choice question, 1/2 for a
    boolean, 0 for an open answer (number, expression, text)."""
    if answer_type == "choice":
        return 1.0 / len(choices) if choices else 0.0
    if answer_type == "boolean":
        return 0.5
    return 0.0


def best_constant(golds: Sequence[str]) -> tuple[str | None, int]:
    """The one answer that, given to every question, is right most often (the most frequent gold; ties go
    to the first in sorted order) and how many it gets right. Golds are compared as canonical strings."""
    if not golds:
        return None, 0
    counts = Counter(str(g).strip() for g in golds)
    best = min(counts, key=lambda g: (-counts[g], g))
    return best, counts[best]
