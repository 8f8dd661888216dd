"""Benchmarks, one module each, registered by name.

    from mmreason.eval.benchmarks import get_benchmark
    bench = get_benchmark("mathvista")
    loaded = bench.load("data/mathvista")          # LoadResult(records, skipped)
    prompt = bench.build_prompt(loaded.records[0])  # text with <image> markers
    result = bench.score(loaded.records, {rec_id: response_text, ...}, skipped=loaded.skipped)
"""

from __future__ import annotations

# importing the modules registers them
from . import (  # noqa: F401
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
from .base import Benchmark, DataLoadError, LoadResult
from .registry import BENCHMARKS, get_benchmark, register_benchmark
from .release import BadRow, Layout, MissingDataError

__all__ = ["BENCHMARKS", "BadRow", "Benchmark", "DataLoadError", "Layout", "LoadResult", "MissingDataError", "get_benchmark",
           "register_benchmark"]
