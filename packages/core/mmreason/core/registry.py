"""Named implementations of one kind, chosen by a config value: the one registry pattern of mmreason.

    ADVANTAGES = Registry("advantage estimator", key="algorithm.advantage")

    @ADVANTAGES.register("grpo")
    def grpo_advantage(rewards, group_ids, eps): ...

    fn = ADVANTAGES.get(cfg.algorithm.advantage)     # a registered name, or "package.module:function"

`register(name, **attrs)` also sets `attrs` on the object (e.g. a policy loss's default clip range), so
code that receives a user's function reads the same attributes with `getattr(fn, attr, default)`.
A name of the form `"package.module:function"` imports user code; config validation calls `get`
(through `check`) so a typo or an import error fails when the config is composed, not mid-run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def load_object(spec: str, what: str = "function") -> Any:
    """`"package.module:function"` -> the object (errors say what is wrong with the spec)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"{what} {spec!r}: expected 'package.module:function'")
    mod_name, attr = spec.split(":", 1)
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise ValueError(f"{what} {spec!r}: cannot import {mod_name!r} ({e})") from e
    obj = getattr(mod, attr, None)
    if not callable(obj):
        raise ValueError(f"{what} {spec!r}: {mod_name} has no function {attr!r}")
    return obj


class Registry:
    """name -> implementation for one config key; `kind` and `key` name it in error messages."""

    def __init__(self, kind: str, key: str = ""):
        self.kind, self.key = kind, key
        self._items: dict[str, Any] = {}

    def register(self, name: str, /, **attrs: Any) -> Callable[[Any], Any]:
        """Decorator: make `obj` available as `name` (and set `attrs` on it)."""

        def deco(obj: Any) -> Any:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            for k, v in attrs.items():
                setattr(obj, k, v)
            self._items[name] = obj
            return obj

        return deco

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def get(self, name: str, key: str | None = None) -> Any:
        """The implementation registered as `name`, or the function a `"package.module:function"` names."""
        if name in self._items:
            return self._items[name]
        if isinstance(name, str) and ":" in name:
            return load_object(name, f"{key or self.key or self.kind}")
        raise ValueError(
            f"{key or self.key}={name!r}: unknown {self.kind}; choose one of {self.names()} "
            "or name your own as 'package.module:function'"
        )

    check = get  # config validation: resolves the name (importing user code) and raises if it cannot


__all__ = ["Registry", "load_object"]
