"""Helpers for the eval tests: tiny images, fixture writers and fake generation backends."""

from __future__ import annotations

import io
import json
from pathlib import Path

from mmreason.core.chat import chat_text
from mmreason.core.generation.base import Completion, GenerationBackend


def png_bytes(colour: str = "red", size: int = 16) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return path


class FakeBackend(GenerationBackend):
    """Answers each chat with `respond(prompt_text)`; counts generate calls and chats."""

    name = "fake"

    def __init__(self, respond, label: str = "fake-model", fail_after_calls: int | None = None):
        self.respond, self.label, self.fail_after = respond, label, fail_after_calls
        self.calls = 0
        self.chats = 0

    def describe(self) -> str:
        return f"fake:{self.label}"

    def generate(self, chats, params):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        self.chats += len(chats)
        return [[Completion(text=self.respond(chat_text(c)), token_ids=[1, 2, 3])] for c in chats]


class NoCallBackend(GenerationBackend):
    """A backend that must not be called."""

    def describe(self) -> str:
        return "fake:fake-model"

    def generate(self, chats, params):
        raise AssertionError(f"unexpected model call with {len(chats)} chats")
