from __future__ import annotations

import json

from PIL import Image
from synthfix import FakeBackend, png

from mmreason.core.generation.base import Completion, SamplingParams
from mmreason.synth.cache import CachedBackend, GenerationCache, request_key
from mmreason.synth.ingest import read_document
from mmreason.synth.kg.extractors import LLMSchema, extract_llm, extract_structural
from mmreason.synth.kg.extractors.llm import parse_json_object, validate_extraction
from mmreason.synth.kg.graph import KG, entity_id

SCHEMA = LLMSchema(entity_types=["Person", "Place"], relation_types=["born in"])
GOOD = json.dumps({"entities": [{"name": "Ada Lovelace", "type": "Person"}, {"name": "London", "type": "Place"},
                                {"name": "Engine", "type": "Machine"}],  # type outside the schema
                   "relations": [{"head": "Ada Lovelace", "relation": "born in", "tail": "London"},
                                 {"head": "Ada Lovelace", "relation": "invented", "tail": "London"},
                                 {"head": "Ada Lovelace", "relation": "born in", "tail": "Paris"}]})


def test_cache_key_depends_on_model_text_images_and_params(tmp_path):
    chat = [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (4, 4), "red")},
                                         {"type": "text", "text": "hi"}]}]
    blue = [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (4, 4), "blue")},
                                         {"type": "text", "text": "hi"}]}]
    p = SamplingParams()
    k = request_key("m", chat, p)
    assert k == request_key("m", chat, SamplingParams())
    assert len({k, request_key("m2", chat, p), request_key("m", blue, p),
                request_key("m", chat, SamplingParams(max_new_tokens=7))}) == 4
    cache = GenerationCache(tmp_path)
    assert cache.get(k) is None
    cache.put(k, [Completion(text="x", token_ids=[1])])
    assert cache.get(k)[0].text == "x" and len(cache) == 1


def test_cached_backend_sends_only_misses(tmp_path):
    fake = FakeBackend(lambda t, c: t[-1])
    cb = CachedBackend(fake, GenerationCache(tmp_path))
    chats = [[{"role": "user", "content": s}] for s in "abc"]
    assert [o[0].text for o in cb.generate(chats, SamplingParams())] == ["a", "b", "c"]
    out = cb.generate(chats[:2] + [[{"role": "user", "content": "d"}]], SamplingParams())
    assert [o[0].text for o in out] == ["a", "b", "d"]
    assert fake.calls == 4 and cb.calls == 4 and cb.hits == 2


def test_parse_and_validate():
    assert parse_json_object('Sure! ```json\n{"a": 1}\n``` bye') == {"a": 1}
    assert parse_json_object('prefix {"a": [1, 2]} trailing') == {"a": [1, 2]}
    for bad in ("no json here", "{broken", "[1, 2]"):
        try:
            parse_json_object(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    ents, rels, problems = validate_extraction(json.loads(GOOD), SCHEMA)
    assert [e["name"] for e in ents] == ["Ada Lovelace", "London"]
    assert [(r["head"]["name"], r["relation"], r["tail"]["name"]) for r in rels] == [("Ada Lovelace", "born in", "London")]
    assert len(problems) == 3  # Machine type, 'invented', Paris not an entity


def _doc(tmp_path):
    png(tmp_path / "f.png")
    (tmp_path / "d.md").write_text("# Bio\n\nAda Lovelace was born in London.\n\nNoise paragraph here.\n\n"
                                   "Third paragraph.\n\n![Figure 1: A chart](f.png)\n", encoding="utf-8")
    return read_document(tmp_path / "d.md", tmp_path)


def _replies(text, chat):
    if "Describe this figure" in text:
        return '{"kind": "chart", "table": {"header": ["x", "y"], "rows": [["a", "1"]]}, "parts": []}'
    if "Ada Lovelace" in text:
        return GOOD
    if "Noise" in text:
        return "I think the entities are... 42"  # never JSON, even after the reminders
    if "previous answer was not valid JSON" in text:
        return '{"entities": [], "relations": []}'  # fixed on retry
    return "{not json"


def test_llm_extractor_noise_bad_and_valid_json_then_cache(tmp_path):
    doc = _doc(tmp_path)

    def run():
        kg, issues = KG(), []
        extract_structural(doc, kg, issues)
        fake = FakeBackend(_replies)
        cb = CachedBackend(fake, GenerationCache(tmp_path / "cache"))
        loader = lambda b: Image.open(tmp_path / b.image_path).convert("RGB")  # noqa: E731
        extract_llm(doc, kg, issues, cb, SCHEMA, max_retries=2, image_loader=loader)
        return kg, issues, fake

    kg, issues, fake = run()
    ada, london = entity_id("Ada Lovelace", "Person"), entity_id("London", "Place")
    rel = kg.entity_relations(ada)
    assert [(r["relation"], r["tail"], r["extractor"]) for r in rel] == [("born in", "London", "llm")]
    assert rel[0]["provenance"]["block"] == 1 and london in kg.g
    img = kg.nodes_of("Image")[0]
    assert kg.g.nodes[img]["vlm"] == {"kind": "chart", "table": {"header": ["x", "y"], "rows": [["a", "1"]]},
                                      "parts": []}
    reasons = [i["reason"] for i in issues]
    assert sum("no valid JSON after 3 attempts" in r for r in reasons) == 1  # the noise chunk, recorded
    assert sum("outside the schema" in r for r in reasons) == 2
    # 3 chunks + 1 image, the noise chunk asked 3 times, the "{not json" chunk twice
    assert fake.calls == 4 + 2 + 1
    _, issues2, fake2 = run()
    assert fake2.calls == 0 and issues2 == issues  # second run: everything from the cache
