"""Outcome rewards for rollouts: one scalar per response.

    reward = accuracy·grade(response, record) + format·format_ok(response) + Σ_k w_k·fn_k(response, record)
             - overlong_penalty (DAPO's soft overlong punishment, when algorithm.overlong_buffer > 0)

`grade` is `mmreason.core.grading.grade` on the record's `answer_type` (it extracts the answer itself,
e.g. from `\\boxed{}`), strict unless `reward.lenient`. User reward functions are named `"package.module:function"` in
`reward.functions` and are called as `fn(response: str, record: dict) -> float`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from .config import RewardConfig

FORMAT_PATTERNS = {
    # a \boxed{...} answer anywhere
    "boxed": re.compile(r"\\boxed\{.+\}", re.DOTALL),
    # the VGPO / EasyR1 prompt format: <think>…</think> first, then a \boxed{} answer
    "think_boxed": re.compile(r"^\s*<think>.*?</think>.*\\boxed\{.+\}.*$", re.DOTALL),
}


def format_ok(response: str, pattern: str = "boxed") -> bool:
    """Whether the response has the requested shape (FORMAT_PATTERNS)."""
    if pattern not in FORMAT_PATTERNS:
        raise ValueError(f"reward.format_pattern={pattern!r}: expected one of {sorted(FORMAT_PATTERNS)}")
    return bool(FORMAT_PATTERNS[pattern].search(response))


def overlong_penalty(length: int, max_len: int, buffer: int, penalty: float = 1.0) -> float:
    """DAPO Eq. 13 (soft overlong punishment): 0 up to max_len - buffer, then linear down to -penalty at max_len."""
    if buffer <= 0:
        return 0.0
    over = length - (max_len - buffer)
    return -penalty * min(max(over, 0) / buffer, 1.0)


def load_function(spec: str) -> Callable[[str, dict], float]:
    """`"package.module:function"` -> the function (errors say what is wrong with the spec)."""
    if ":" not in spec:
        raise ValueError(f"reward function {spec!r}: expected 'package.module:function'")
    mod_name, fn_name = spec.split(":", 1)
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise ValueError(f"reward function {spec!r}: cannot import {mod_name!r} ({e})") from e
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise ValueError(f"reward function {spec!r}: {mod_name} has no function {fn_name!r}")
    return fn


class RewardFn:
    """Scores responses; `__call__` returns (total, parts) where parts holds each term per response."""

    def __init__(self, cfg: RewardConfig, max_new_tokens: int = 0, overlong_buffer: int = 0, overlong_penalty: float = 1.0):
        from mmreason.core.grading import grade

        self.cfg = cfg
        self._grade = grade
        self.max_new_tokens, self.buffer, self.penalty = max_new_tokens, overlong_buffer, overlong_penalty
        self.functions = []
        for item in cfg.functions:
            if isinstance(item, str):
                item = {"fn": item}
            if "fn" not in item:
                raise ValueError(f"reward.functions entry {item!r}: needs 'fn: package.module:function'")
            self.functions.append((str(item["fn"]), load_function(str(item["fn"])), float(item.get("weight", 1.0))))
        format_ok("", cfg.format_pattern)  # validate the pattern name early

    def accuracy(self, response: str, record: dict) -> float:
        return float(
            self._grade(response, record["answer"], record["answer_type"], tuple(record.get("choices") or ()),
                        timeout=self.cfg.timeout, lenient=self.cfg.lenient)
        )

    def __call__(self, responses: list[str], records: list[dict], lengths: list[int] | None = None):
        parts: dict[str, list[float]] = {"accuracy": [], "format": []}
        for name, _, _ in self.functions:
            parts[name] = []
        if self.buffer > 0:
            parts["overlong"] = []
        total = []
        for i, (resp, rec) in enumerate(zip(responses, records)):
            acc = self.accuracy(resp, rec)
            fmt = float(format_ok(resp, self.cfg.format_pattern))
            r = self.cfg.accuracy * acc + self.cfg.format * fmt
            parts["accuracy"].append(acc)
            parts["format"].append(fmt)
            for name, fn, w in self.functions:
                v = float(fn(resp, rec))
                parts[name].append(v)
                r += w * v
            if self.buffer > 0:
                n = lengths[i] if lengths is not None else 0
                pen = overlong_penalty(n, self.max_new_tokens, self.buffer, self.penalty)
                parts["overlong"].append(pen)
                r += pen
            total.append(r)
        return total, parts
