import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from mmreason.core.io import JsonlAppender, atomic_path, atomic_write_json, read_json, read_jsonl
from mmreason.core.schema import RecordError, features, make_id, validate_record


def record(**over):
    rec = dict(
        id="r1",
        images=[Image.new("RGB", (8, 8))],
        problem="<image>What colour is the square?",
        answer="B",
        answer_type="choice",
        choices=["red", "green", "blue", "yellow"],
        task_type="SISC",
        domain="toy",
        provenance=json.dumps({"doc_ids": ["d1"]}),
        quality=json.dumps({"support": 1.0}),
    )
    rec.update(over)
    return rec


def test_valid_record_passes():
    assert validate_record(record())["id"] == "r1"
    assert validate_record(record(quality=""))  # benchmarks have no quality


@pytest.mark.parametrize(
    "over, field",
    [
        ({"answer_type": "letter"}, "answer_type"),
        ({"answer": "E"}, "answer"),
        ({"choices": ["only"]}, "choices"),
        ({"answer_type": "number", "answer": "3"}, "choices"),  # choices must be empty for non-choice
        ({"provenance": "{not json"}, "provenance"),
        ({"provenance": "[1, 2]"}, "provenance"),
        ({"images": [1]}, "images"),
        ({"problem": "<image><image> two markers"}, "problem"),
        ({"problem": "   "}, "problem"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_records_name_the_field(over, field):
    with pytest.raises(RecordError, match=f"field '{field}'"):
        validate_record(record(**over), where="data.jsonl")


def test_missing_column_named():
    rec = record()
    del rec["domain"]
    with pytest.raises(RecordError, match="'domain' is missing"):
        validate_record(rec)


def test_make_id_stable_and_content_derived():
    assert make_id("a", 1, {"x": [1, 2]}) == make_id("a", 1, {"x": [1, 2]})
    assert make_id("a", 1) != make_id("a", 2)
    assert make_id("a", prefix="doc_").startswith("doc_")


def test_features_round_trip_through_datasets(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list([record()], features=features())
    ds.save_to_disk(str(tmp_path / "ds"))
    back = datasets.load_from_disk(str(tmp_path / "ds"))
    row = back[0]
    assert row["answer"] == "B" and row["choices"][1] == "green"
    assert row["images"][0].size == (8, 8)
    validate_record(row)


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    p = tmp_path / "out.json"
    atomic_write_json(p, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert read_json(p) == {"v": 1}
    assert [x.name for x in tmp_path.iterdir()] == ["out.json"]  # no temp litter


def test_atomic_directory_replace(tmp_path):
    d = tmp_path / "ds"
    for v in (1, 2):
        with atomic_path(d) as tmp:
            tmp.mkdir()
            (tmp / "f.txt").write_text(str(v))
    assert (d / "f.txt").read_text() == "2"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["ds"]


def test_jsonl_appender_resumes_after_torn_line(tmp_path):
    p = tmp_path / "preds.jsonl"
    with JsonlAppender(p) as w:
        w.write({"i": 0})
        w.write({"i": 1})
    with open(p, "a") as f:
        f.write('{"i": 2, "trunc')  # writer killed mid-line
    assert read_jsonl(p) == [{"i": 0}, {"i": 1}]
    with JsonlAppender(p) as w:  # reopening drops the torn tail
        w.write({"i": 2})
    assert read_jsonl(p) == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_jsonl_bad_middle_line_is_an_error(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ValueError, match=r"x.jsonl:2"):
        read_jsonl(p)


def test_jsonl_survives_sigkill(tmp_path):
    """A writer killed with SIGKILL loses at most the line in flight."""
    p = tmp_path / "k.jsonl"
    code = (
        "import os, signal, sys\n"
        "from mmreason.core.io import JsonlAppender\n"
        f"w = JsonlAppender({str(p)!r})\n"
        "for i in range(50): w.write({'i': i})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=os.environ.copy())
    assert r.returncode == -9
    assert [x["i"] for x in read_jsonl(p)] == list(range(50))


def test_read_records_formats_splits_and_errors(tmp_path):
    import datasets

    from mmreason.core.schema import read_records

    recs = [record(id=f"r{i}", answer="ABCD"[i]) for i in range(4)]
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list(recs[:3], features=features()),
                               "test": datasets.Dataset.from_list(recs[3:], features=features())})
    dd.save_to_disk(str(tmp_path / "dd"))
    assert [r["id"] for r in read_records(tmp_path / "dd", split="test")] == ["r3"]
    assert [r["id"] for r in read_records(tmp_path / "dd", split="train", limit=2)] == ["r0", "r1"]
    with pytest.raises(ValueError, match="splits"):
        read_records(tmp_path / "dd")  # two splits, none chosen
    dd["train"].to_parquet(str(tmp_path / "t.parquet"))
    assert read_records(tmp_path / "t.parquet")[2]["answer"] == "C"
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    row = {k: v for k, v in recs[0].items() if k != "images"} | {"images": ["a.png"], "provenance": {"doc_ids": []}}
    (tmp_path / "r.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row | {"answer": "Q", "id": "bad"}) + "\n")
    with pytest.raises(RecordError, match=r"r.jsonl row 1: record 'bad': field 'answer'"):
        read_records(tmp_path / "r.jsonl")
    good = read_records(tmp_path / "r.jsonl", limit=1)[0]
    assert good["images"] == [str(tmp_path / "a.png")] and json.loads(good["provenance"]) == {"doc_ids": []}
    with pytest.raises(FileNotFoundError, match="data.path="):
        read_records(tmp_path / "nope", what="data.path")
