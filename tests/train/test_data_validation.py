"""The train loader checks every record of both splits before step 1 (issue 13): a bad record stops the
run naming file, row, field and reason, before any checkpoint is written; with data.skip_invalid=true it
is dropped, logged and counted (metrics data/invalid_train, data/invalid_heldout). Records are the toy
task's, written as the JSONL layout `core.schema.read_records` documents (image paths relative to the file).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
from conftest import make_cfg

from mmreason.core.schema import RecordError
from mmreason.core.toy import make_shape_records
from mmreason.train.config import DataConfig
from mmreason.train.data import filter_long_prompts, load_records
from mmreason.train.trainer import train

sys.path.append(str(Path(__file__).resolve().parents[1] / "core"))  # after this dir: never shadows conftest
from test_record_validation import png_header  # noqa: E402  (the PNG-spec header fixture)


def write_split(dirpath: Path, name: str, n: int, seed: int, bad: dict[int, dict] | None = None) -> Path:
    """n toy records as <name>.jsonl with PNG files beside it; rows in `bad` get those fields overridden."""
    rows = []
    for i, r in enumerate(make_shape_records(n, seed=seed)):
        img = dirpath / f"{name}{i}.png"
        r["images"][0].save(img)
        rows.append({**r, "images": [img.name], **(bad or {}).get(i, {})})
    path = dirpath / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_bad_gold_stops_the_run_before_step_1(tmp_path):
    """Issue 13: a boolean gold "maybe" crashed training at step 5, after checkpoints were written."""
    data = write_split(tmp_path, "train", 8, 0, {5: {"answer": "maybe", "answer_type": "boolean", "choices": []}})
    cfg = make_cfg(tmp_path / "run", "data.source=path", f"data.path={data}", "trainer.steps=6", "trainer.save_every=1")
    with pytest.raises(RecordError, match=r"train.jsonl row 5: record '[^']+': field 'answer' .*'maybe'"):
        train(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_heldout_split_is_checked_too(tmp_path):
    data = write_split(tmp_path, "train", 4, 0)
    held = write_split(tmp_path, "held", 4, 1, {2: {"answer": "banana", "answer_type": "number", "choices": []}})
    with pytest.raises(RecordError, match=r"held.jsonl row 2: .*field 'answer' .*'banana'"):
        load_records(DataConfig(source="path", path=str(data), eval_path=str(held)))


@pytest.mark.parametrize("algorithm", ["grpo", "sft"])  # both go through runtime.prepare_data and loop.run_loop
def test_skip_invalid_drops_logs_and_counts(tmp_path, capsys, algorithm):
    (tmp_path / "adir").mkdir()
    bad = {1: {"images": 5}, 3: {"problem": "<image>bad \udc80 text"}, 6: {"images": ["adir"]}}
    data = write_split(tmp_path, "train", 12, 0, bad)
    held = write_split(tmp_path, "held", 6, 1, {0: {"answer": "banana", "answer_type": "number", "choices": []}})
    res = train(make_cfg(tmp_path / "run", "data.source=path", f"data.path={data}", f"data.eval_path={held}",
                         "data.skip_invalid=true", "trainer.steps=1", f"algorithm={algorithm}"))
    first = res["history"][0]
    assert (first["data/invalid_train"], first["data/invalid_heldout"]) == (3, 1)
    logged = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert logged["data/invalid_train"] == 3
    out = capsys.readouterr().out
    assert "dropped 3 invalid train records" in out and "row 1" in out


def test_image_that_fails_at_decode_is_named(tmp_path, tiny_policy):
    """The header and PNG structure are sound (it passes load-time checks), the pixel data is missing:
    building the prompt fails, and the failure names the record instead of a raw PIL traceback."""
    _, processor = tiny_policy
    (tmp_path / "cut.png").write_bytes(png_header(64, 64))
    data = write_split(tmp_path, "train", 5, 0, {2: {"images": ["cut.png"]}})
    cfg = DataConfig(source="path", path=str(data))
    recs, _ = load_records(cfg)
    with pytest.raises(RecordError, match=r"record 2 '[^']+': its prompt cannot be built \(OSError"):
        filter_long_prompts(recs, processor, cfg, 10_000)
    dropped = []
    kept, too_long = filter_long_prompts(recs, processor, cfg, 10_000, dropped.append)
    assert len(kept) == 4 and too_long == 0 and len(dropped) == 1 and recs[2] not in kept


def test_fuzz_train_loader_on_bad_rows(tmp_path):
    """Seeded, bounded: 60 rows, about a third broken in a random way. With skip_invalid the loader keeps
    exactly the intact rows; without, it stops at the first broken row and names it."""
    rng = random.Random(13)
    (tmp_path / "adir").mkdir()
    (tmp_path / "huge.png").write_bytes(png_header(20000, 20000))
    (tmp_path / "text.png").write_text("hello")
    breakers = [
        {"images": 5}, {"images": ["missing.png"]}, {"images": ["adir"]}, {"images": ["huge.png"]},
        {"images": ["text.png"]}, {"images": [None]}, {"answer": "maybe", "answer_type": "boolean", "choices": []},
        {"answer": "banana", "answer_type": "number", "choices": []}, {"answer": "Q"}, {"answer_type": "essay"},
        {"problem": "\udc80"}, {"problem": ""}, {"choices": ["x"]}, {"provenance": "{not json"}, {"id": ""},
        {"problem": "<image><image> two markers"}, {"domain": None},
    ]
    bad = {i: rng.choice(breakers) for i in range(60) if rng.random() < 0.35}
    data = write_split(tmp_path, "train", 60, 0, bad)
    invalid: dict = {}
    train_recs, _ = load_records(DataConfig(source="path", path=str(data), skip_invalid=True), invalid)
    ids = [json.loads(line)["id"] for line in data.read_text().splitlines()]
    assert [r["id"] for r in train_recs] == [ids[i] for i in range(60) if i not in bad]
    assert len(invalid["train"]) == len(bad)
    first = min(bad)
    with pytest.raises(RecordError, match=rf"train.jsonl row {first}: .*field '\w+'"):
        load_records(DataConfig(source="path", path=str(data)))
