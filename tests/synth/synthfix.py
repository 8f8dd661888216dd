from __future__ import annotations

from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "examples" / "corpus"


def png(path: Path, size=(16, 12), color=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


class FakeBackend:
    """A GenerationBackend stand-in: `replies(chat_text) -> str` decides each answer; counts calls."""

    name = "fake"

    def __init__(self, replies, model="fake-model"):
        self.replies = replies
        self.model = model
        self.calls = 0
        self.seen: list[str] = []

    def describe(self) -> str:
        return self.model

    def generate(self, chats, params):
        from mmreason.core.chat import chat_text
        from mmreason.core.generation.base import Completion

        out = []
        for c in chats:
            self.calls += 1
            text = chat_text(c)
            self.seen.append(text)
            out.append([Completion(text=self.replies(text, c))])
        return out

    def close(self):
        pass




REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "examples" / "corpus"
