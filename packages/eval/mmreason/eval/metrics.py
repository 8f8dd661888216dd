"""Metric arithmetic as pure functions on lists of flags (no I/O, no models).

Each function cites the official rule it implements; benchmark modules call these on per-sample
correctness so the arithmetic is tested once, on hand-made flags.
"""

from __future__ import annotations

from collections import defaultdict
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
