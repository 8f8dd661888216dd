"""Outcome rewards for rollouts: one scalar per response.

    reward = accuracy·grade(response, record) + format·REWARDS[format_pattern](response, record)
             + Σ_k w_k·fn_k(response, record)
             - overlong_penalty (DAPO's soft overlong punishment, when algorithm.overlong_buffer > 0)

`grade` is `mmreason.core.grading.grade` on the record's `answer_type` (it extracts the answer itself,
e.g. from `\\boxed{}`), strict unless `reward.lenient`. Reward functions `fn(response: str, record: dict) -> float`
come from the registry `REWARDS` (`@register_reward("name")`; built in: the format checks `boxed` and
`think_boxed`) or are named `"package.module:function"` (user code) in `reward.format_pattern` and
`reward.functions`.
"""

from __future__ import annotations

import re

from mmreason.core.registry import Registry, load_object

REWARDS = Registry("reward function", key="reward.functions")
register_reward = REWARDS.register


def _pattern_reward(pattern: str):
    rx = re.compile(pattern, re.DOTALL)
    return lambda response, record=None: float(bool(rx.search(response)))


# a \boxed{...} answer anywhere
register_reward("boxed")(_pattern_reward(r"\\boxed\{.+\}"))
# the VGPO / EasyR1 prompt format: <think>…</think> first, then a \boxed{} answer
register_reward("think_boxed")(_pattern_reward(r"^\s*<think>.*?</think>.*\\boxed\{.+\}.*$"))


def format_ok(response: str, pattern: str = "boxed") -> bool:
    """Whether the response has the shape the reward `pattern` checks (`boxed`, `think_boxed`, ...)."""
    return bool(REWARDS.get(pattern, "reward.format_pattern")(response, {}))


def load_function(spec: str):
    """`"package.module:function"` -> the function (errors say what is wrong with the spec)."""
    return load_object(spec, "reward function")


def overlong_penalty(length: int, max_len: int, buffer: int, penalty: float = 1.0) -> float:
    """DAPO Eq. 13 (soft overlong punishment): 0 up to max_len - buffer, then linear down to -penalty at max_len."""
    if buffer <= 0:
        return 0.0
    over = length - (max_len - buffer)
    return -penalty * min(max(over, 0) / buffer, 1.0)


class RewardFn:
    """Scores responses; `__call__` returns (total, parts) where parts holds each term per response."""

    def __init__(self, cfg, max_new_tokens: int = 0, overlong_buffer: int = 0, overlong_penalty: float = 1.0):
        """`cfg` is the `reward` config (train/config.py RewardConfig)."""
        from mmreason.core.grading import grade

        self.cfg = cfg
        self._grade = grade
        self.max_new_tokens, self.buffer, self.penalty = max_new_tokens, overlong_buffer, overlong_penalty
        self._format = REWARDS.get(cfg.format_pattern, "reward.format_pattern")
        self.functions = []
        for term in cfg.functions:  # RewardTerm(fn, weight)
            self.functions.append((term.fn, REWARDS.get(term.fn), float(term.weight)))

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
            fmt = float(self._format(resp, rec))
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
