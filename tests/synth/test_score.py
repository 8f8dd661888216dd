"""Quality dimensions: support on the graph, complexity by hand, MinHash dedup, solver pass rate via grading."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mmreason.core.generation.base import Completion, GenerationBackend
from mmreason.synth.score import complexity, dedup, solver_pass_rates, support
from mmreason.synth.score.diversity import jaccard, shingles

sys.path.insert(0, str(Path(__file__).parent))
from test_generate import _kg, _record  # noqa: E402


def test_support_and_verification_on_the_graph():
    kg, _ = _kg()
    rec = _record(kg, "table_diff")
    s = support(kg, rec)
    assert s == {"support": 1.0, "facts": 2, "verified": True}
    prov = json.loads(rec["provenance"])
    prov["answer_value"] = "999"  # an answer the graph does not give
    bad = dict(rec, provenance=json.dumps(prov))
    assert support(kg, bad)["verified"] is False
    prov = json.loads(rec["provenance"])
    prov["node_ids"] = ["doc:1"]  # the facts no longer touch the path
    assert support(kg, dict(rec, provenance=json.dumps(prov)))["support"] == 0.0


def test_complexity_by_hand():
    rec = {"images": ["a.png"], "provenance": json.dumps({"hops": 2, "modalities": ["image", "text"],
                                                          "compute": {"op": "sub", "args": [{"op": "max", "args": []},
                                                                                            {"op": "min", "args": []}]}})}
    # level = hops 2 + modalities 2 + operations 3 - 2 = 5
    assert complexity(rec) == {"hops": 2, "modalities": 2, "operations": 3, "images": 1, "level": 5}


def _r(i, q, a):
    return {"id": f"r{i}", "provenance": json.dumps({"question": q, "answer_value": a, "image_ids": []})}


def test_dedup_drops_near_duplicates_only():
    recs = [_r(1, "What is the boiling point of Ethanol according to Table 1?", "78.4"),
            _r(2, "What is the boiling point of Ethanol according to Table 1 ?", "78.4"),  # same up to spacing
            _r(3, "Which compound has the largest density in Figure 2?", "B")]
    kept, dropped = dedup(recs, threshold=0.8)
    assert [r["id"] for r in kept] == ["r1", "r3"] and dropped == {"r2": "r1"}
    assert jaccard(shingles("a b c d"), shingles("a b c d")) == 1.0
    # |{a b c, b c d} ∩ {a b c, b c e}| / |union| = 1 / 3
    assert jaccard(shingles("a b c d"), shingles("a b c e")) == 1 / 3


class _Scripted(GenerationBackend):
    """Answers by the problem's first word, so the result does not depend on batch order."""

    name = "scripted"

    def generate(self, chats, params):
        out = []
        for c in chats:
            text = "".join(p["text"] for p in c[-1]["content"] if p["type"] == "text")
            reply = {"num": "so \\boxed{0.50}", "choice": "The answer is (B)", "bad": "\\boxed{7}"}[text.split()[0]]
            out.append([Completion(reply)] * params.n)
        return out


def test_pass_rate_uses_grading_not_string_match():
    recs = [{"id": "a", "problem": "num x", "images": [], "answer": "0.5", "answer_type": "number", "choices": []},
            {"id": "b", "problem": "choice y", "images": [], "answer": "B", "answer_type": "choice", "choices": ["1", "2"]},
            {"id": "c", "problem": "bad z", "images": [], "answer": "3", "answer_type": "number", "choices": []}]
    rates = solver_pass_rates(recs, _Scripted(), k=3, batch_size=2)
    assert [r["pass_rate"] for r in rates] == [1.0, 1.0, 0.0] and rates[0]["k"] == 3


def test_tiny_solver_batches_are_the_same_whatever_the_order(tmp_path):
    import torch

    from mmreason.core.generation import make_backend
    from mmreason.synth.cache import CachedBackend, GenerationCache

    torch.set_num_threads(1)
    kg, _ = _kg()
    recs = [_record(kg, f) for f in ("table_lookup", "table_diff", "table_sum", "table_argmax")]
    be = CachedBackend(make_backend({"backend": "hf", "batch_size": 8}, {"name": "tiny"}), GenerationCache(tmp_path))
    a = solver_pass_rates(recs, be, k=2, max_new_tokens=4, batch_size=2)
    calls = be.calls
    b = solver_pass_rates(recs[::-1], be, k=2, max_new_tokens=4, batch_size=2)
    assert b[::-1] == a and be.calls == calls  # same batches -> all served from the cache
    assert all(r["k"] == 2 and 0 <= r["pass_rate"] <= 1 for r in a)


class _Voter(GenerationBackend):
    name = "voter"

    def __init__(self, replies):
        self.replies = replies

    def generate(self, chats, params):
        assert "Proposed answer:" in chats[0][-1]["content"][-1]["text"]
        return [[Completion(t) for t in self.replies[: params.n]] for _ in chats]


def test_judge_majority_vote():
    from mmreason.synth.score.judge import judge_support

    kg, _ = _kg()
    rec = _record(kg, "table_diff")
    (v,) = judge_support([rec], [_Voter(["Yes.", "no", "yes, it is supported"])], votes=3)
    assert v["votes"] == [True, False, True] and v["yes"] == 2 and v["majority"] is True
    (v,) = judge_support([rec], [_Voter(["Yes", "maybe"]), _Voter(["no", "No."])], votes=2)
    assert v["votes"] == [True, None, False, False] and v["majority"] is False  # 1 of 4


class _Embed:
    """Vectors chosen by hand: r1 and r2 point the same way (cosine 1), r3 is orthogonal."""

    def encode(self, texts, **kw):
        import numpy as np

        return np.array([[1.0, 0.0] if "boiling" in t else [0.0, 1.0] for t in texts])


def test_embedding_dedup_with_a_stub_model():
    from mmreason.synth.score.diversity import dedup_embeddings

    recs = [_r(1, "boiling point of Ethanol?", "78"), _r(2, "the boiling point of ethanol", "78"),
            _r(3, "Which compound is densest?", "B")]
    kept, dropped = dedup_embeddings(recs, 0.95, model=_Embed())
    assert [r["id"] for r in kept] == ["r1", "r3"] and dropped == {"r2": "r1"}


class _Small(GenerationBackend):
    """A solver that knows its context like the hf backend does (model.config + processor.tokenizer): one token per
    word, a 40-token context. Records what it was sent."""

    name = "small"

    def __init__(self):
        from types import SimpleNamespace

        self.model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=40))
        self.processor = SimpleNamespace(tokenizer=lambda s, add_special_tokens=False: {"input_ids": s.split()})
        self.batches: list[list[str]] = []

    def generate(self, chats, params):
        texts = ["".join(p["text"] for p in c[-1]["content"] if p["type"] == "text") for c in chats]
        self.batches.append(texts)
        return [[Completion("\\boxed{1}")] * params.n for _ in chats]


def _long(i, words):
    return {"id": f"l{i}", "problem": " ".join(["evidence"] * words) + f" Question {i}: how many?", "images": [],
            "answer": "1", "answer_type": "number", "choices": []}


def test_prompts_over_the_solver_context_are_skipped_or_truncated():
    from mmreason.synth.score.difficulty import CHAT_OVERHEAD

    recs = [_long(0, 2), _long(1, 3000)]  # 6 tokens; 3004 tokens, far over a 40-token context
    be = _Small()
    out = solver_pass_rates(recs, be, k=2, max_new_tokens=4, max_prompt_tokens=CHAT_OVERHEAD + 20)
    assert out[0]["pass_rate"] == 1.0 and "skipped" in out[1] and "over the solver's limit" in out[1]["skipped"]
    assert sum(len(b) for b in be.batches) == 1
    be = _Small()
    out = solver_pass_rates(recs, be, k=2, max_new_tokens=4, max_prompt_tokens=CHAT_OVERHEAD + 20, overlong="truncate")
    assert out[1]["pass_rate"] == 1.0
    sent = [t for b in be.batches for t in b if "Question 1" in t][0]
    assert "evidence cut" in sent and sent.endswith("Question 1: how many?") and len(sent.split()) < 40
    # no explicit limit: the model's own context (40) minus max_new_tokens
    assert "skipped" in solver_pass_rates(recs, _Small(), k=1, max_new_tokens=4)[1]


def test_batches_are_capped_by_padded_tokens():
    recs = [_long(i, 10) for i in range(6)]  # 14 words + chat overhead each
    be = _Small()
    solver_pass_rates(recs, be, k=2, batch_size=32, max_prompt_tokens=1000, max_batch_tokens=2 * 2 * 50)
    assert [len(b) for b in be.batches] == [2, 2, 2]  # 2 records x k=2 x 46 tokens fit 200; a third does not


def test_the_default_solver_on_long_prompts_stays_under_2_gib(tmp_path):
    """Five ~9,400-character prompts took 15.2 GB with eager attention; synth's solver (sdpa, bounded) stays
    well under 2 GiB (peak RSS of a fresh process, measured by the kernel)."""
    import subprocess

    script = tmp_path / "solve.py"
    script.write_text(
        "import json, resource, sys\n"
        "import torch\n"
        "from mmreason.synth.kg.build import make_default_backend\n"
        "from mmreason.synth.score.difficulty import solver_pass_rates\n"
        "if __name__ == '__main__':\n"
        "    torch.set_num_threads(1)\n"
        "    be = make_default_backend({'model': {'name': 'tiny', 'attn_implementation': 'eager'},\n"
        "                               'generation': {'backend': 'hf'}, 'synth': {}})\n"
        "    text = ('The model reaches 83.5 accuracy while the baseline stays at 71.2 points. ' * 140)[:9400]\n"
        "    recs = [{'id': str(i), 'problem': text + f' Question {i}: what is 2+{i}?', 'images': [], 'answer': str(2 + i),\n"
        "             'answer_type': 'number', 'choices': []} for i in range(5)]\n"
        "    out = solver_pass_rates(recs, be, k=2, max_new_tokens=4, batch_size=32)\n"
        "    print(json.dumps({'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,\n"
        "                      'attn': be.model.config._attn_implementation, 'n': len(out)}))\n")
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["attn"] == "sdpa" and got["n"] == 5
    assert got["rss_mb"] < 2048, got


def test_bounded_solver_keys_are_typed_config_fields():
    """The solver / attention / table-width keys compose with their documented defaults and accept overrides
    (null for max_prompt_tokens and attn_implementation)."""
    from mmreason.core.config import compose
    from mmreason.synth.config import synth_settings

    s, _ = synth_settings(compose("synth", []))
    d = s["score"]["difficulty"]
    assert (s["attn_implementation"], s["generate"]["max_table_columns"]) == ("sdpa", 12)
    assert (d["max_prompt_tokens"], d["overlong"], d["max_batch_tokens"]) == (None, "skip", 32768)
    s, _ = synth_settings(compose("synth", ["synth.attn_implementation=null", "synth.score.difficulty.overlong=truncate",
                                            "synth.score.difficulty.max_prompt_tokens=512"]))
    assert s["attn_implementation"] is None
    assert (s["score"]["difficulty"]["overlong"], s["score"]["difficulty"]["max_prompt_tokens"]) == ("truncate", 512)
    with pytest.raises(ValueError, match="'skip', 'truncate'"):
        solver_pass_rates([], _Small(), overlong="cut")
