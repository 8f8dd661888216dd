from __future__ import annotations

import json
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


def assert_needed(kg, records):
    """Every record: its answer derives from the evidence it showed; removing any needed node breaks that;
    the needed nodes cover each kind its type requires."""
    from mmreason.synth.generate.necessity import derivable, evidence_of

    for r in records:
        p = json.loads(r["provenance"])
        ev = evidence_of(kg, p)
        args = (p["answer_value"], p.get("base_question") or p["question"], p["hide_columns"])
        assert derivable(kg, p["compute"], ev, *args), r["id"]
        need = p["needed_node_ids"]
        assert set(need) <= set(ev)
        for kind, n in p["required"].items():
            assert sum(kg.g.nodes[x]["type"] == kind for x in need) >= n, (r["task_type"], kind, p["question"])
        for x in need:
            rest = {k: v for k, v in ev.items() if k != x}
            assert not derivable(kg, p["compute"], rest, *args), (r["task_type"], x, p["question"])
