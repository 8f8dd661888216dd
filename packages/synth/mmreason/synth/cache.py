"""On-disk cache of model calls: a rerun makes no repeated calls.

The key is the request: the backend's `describe()`, the chat text, the sha1 of every image's pixels
(mode, size, bytes) and the sampling parameters. Entries are JSON files under `<dir>/<k[:2]>/<k>.json`
written atomically, so a killed run leaves no half entry.

    cache = GenerationCache(dir)
    backend = CachedBackend(real_backend, cache)      # a GenerationBackend itself
    backend.generate(chats, params)                   # only the misses reach real_backend
    backend.calls, backend.hits                       # model calls made (chats sent) / served from disk
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from mmreason.core.chat import Chat, chat_images, chat_text
from mmreason.core.generation.base import Completion, GenerationBackend, SamplingParams
from mmreason.core.io import atomic_write_json


def image_hash(im) -> str:
    h = hashlib.sha1()
    h.update(f"{im.mode}:{im.size}".encode())
    h.update(im.tobytes())
    return h.hexdigest()


def request_key(model: str, chat: Chat, params: SamplingParams) -> str:
    """sha256 over (model description, chat text, image hashes, sampling params)."""
    blob = json.dumps({"model": model, "chat": chat_text(chat), "images": [image_hash(i) for i in chat_images(chat)],
                       "params": asdict(params)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class GenerationCache:
    def __init__(self, directory: str | Path):
        self.dir = Path(directory)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Completion] | None:
        p = self._path(key)
        if not p.is_file():
            return None
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            return [Completion(**c) for c in data["completions"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # an unreadable entry is a miss; it is overwritten on put

    def put(self, key: str, completions: list[Completion], meta: dict | None = None) -> None:
        atomic_write_json(self._path(key), {"completions": [asdict(c) for c in completions], "meta": meta or {}},
                          indent=None)

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()

    def __len__(self) -> int:
        return sum(1 for _ in self.dir.glob("*/*.json")) if self.dir.exists() else 0


class CachedBackend(GenerationBackend):
    """Wraps a backend: cached requests are answered from disk, the rest are sent in one batch."""

    def __init__(self, backend: GenerationBackend, cache: GenerationCache):
        self.backend = backend
        self.cache = cache
        self.name = f"cached({backend.name})"
        self.calls = 0  # chats sent to the model
        self.hits = 0

    def describe(self) -> str:
        return self.backend.describe()

    def generate(self, chats: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        model = self.backend.describe()
        keys = [request_key(model, c, params) for c in chats]
        out: list[list[Completion] | None] = [self.cache.get(k) for k in keys]
        todo = [i for i, o in enumerate(out) if o is None]
        self.hits += len(chats) - len(todo)
        if todo:
            self.calls += len(todo)
            fresh = self.backend.generate([chats[i] for i in todo], params)
            if len(fresh) != len(todo):
                raise RuntimeError(f"backend {model!r} returned {len(fresh)} results for {len(todo)} chats")
            for i, comps in zip(todo, fresh):
                self.cache.put(keys[i], comps, {"model": model})
                out[i] = comps
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self.backend.close()
