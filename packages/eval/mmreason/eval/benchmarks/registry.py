"""The benchmark registry (`eval.benchmarks`): `@register_benchmark("name")` on a Benchmark subclass."""

from __future__ import annotations

from mmreason.core.registry import Registry

from .base import Benchmark

BENCHMARKS = Registry("benchmark", key="eval.benchmarks")


def register_benchmark(name: str):
    """Class decorator: make a Benchmark subclass available as `get_benchmark(name)` (sets `cls.name`)."""
    return BENCHMARKS.register(name, name=name)


def get_benchmark(name: str, **cfg) -> Benchmark:
    """An instance of the benchmark registered as `name` (or a "package.module:Class"); `cfg` goes to its constructor."""
    return BENCHMARKS.get(name)(**cfg)
