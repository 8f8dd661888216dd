"""Benchmarks, one module each, registered by name.

    from mmreason.eval.benchmarks import get_benchmark
    bench = get_benchmark("mathvista")
    loaded = bench.load("data/mathvista")          # LoadResult(records, skipped)
    prompt = bench.build_prompt(loaded.records[0])  # text with <image> markers
    result = bench.score(loaded.records, {rec_id: response_text, ...}, skipped=loaded.skipped)
"""

from __future__ import annotations

from .base import Benchmark, DataLoadError, LoadResult
from .release import BadRow, Layout, MissingDataError

BENCHMARKS: dict[str, type[Benchmark]] = {}


def register_benchmark(name: str):
    """Class decorator: make a Benchmark subclass available as `get_benchmark(name)`."""

    def deco(cls: type[Benchmark]) -> type[Benchmark]:
        if name in BENCHMARKS and BENCHMARKS[name] is not cls:
            raise ValueError(f"benchmark {name!r} is already registered by {BENCHMARKS[name].__name__}")
        cls.name = name
        BENCHMARKS[name] = cls
        return cls

    return deco


def get_benchmark(name: str, **cfg) -> Benchmark:
    """An instance of the benchmark registered as `name`; `cfg` goes to its constructor."""
    if name not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {name!r}; registered: {sorted(BENCHMARKS)}")
    return BENCHMARKS[name](**cfg)


# importing the modules registers them
from . import (  # noqa: E402, F401
    dynamath,
    geometry3k,
    hallusionbench,
    logicvista,
    mathverse,
    mathvision,
    mathvista,
    mmk12,
    mmstar,
    superclevr,
    synth,
    wemath,
)

__all__ = ["BENCHMARKS", "BadRow", "Benchmark", "DataLoadError", "Layout", "LoadResult", "MissingDataError", "get_benchmark",
           "register_benchmark"]
