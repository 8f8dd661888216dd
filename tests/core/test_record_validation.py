"""Bad data caught at load, naming file, row, field and reason (issue 13).

Each record below once passed validation and failed later: a boolean gold "maybe" crashed training at
step 5 after checkpoints were written; a number gold "banana" trained with reward 0 forever; missing,
corrupt or non-image files, a directory, `images: 5`, a 20000x20000 PNG header (PIL's decompression-bomb
error), a 12000x12000 header (`OSError: image file is truncated` at decode) and a lone surrogate in the
problem failed in `filter_long_prompts` or the tokenizer with tracebacks naming no record.

The oversized images are real PNG files as the PNG specification lays them out (W3C PNG 2nd edition,
§5.2 signature, §5.3 chunk = length, type, data, CRC-32 over type+data, §11.2.2 IHDR fields), with a
header that claims the size and no pixel data behind it — what a bomb or a cut download looks like.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zlib

import pytest
from PIL import Image

from mmreason.core.schema import RecordError, image_error, read_records, validate_record


def png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height (8-bit RGB), followed by an empty IDAT and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # depth 8, colour type 2 (RGB), no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def png_bytes(size=(16, 12), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def rec(**over) -> dict:
    r = {"id": "r0", "images": [{"bytes": png_bytes(), "path": None}], "problem": "<image>Which colour?",
         "answer": "A", "answer_type": "choice", "choices": ["red", "blue"], "task_type": "SISC", "domain": "toy",
         "provenance": json.dumps({"doc_ids": ["d"]}), "quality": ""}
    r.update(over)
    return r


def test_png_header_fixture_is_what_pil_reads():
    with Image.open(io.BytesIO(png_header(300, 200))) as im:
        assert im.size == (300, 200) and im.format == "PNG"


# ------------------------------------------------------------------------------------------ validate_record
@pytest.fixture
def files(tmp_path):
    (tmp_path / "ok.png").write_bytes(png_bytes())
    (tmp_path / "notes.txt").write_text("not an image at all")
    (tmp_path / "half.png").write_bytes(png_bytes((64, 64))[:60])  # a cut download
    (tmp_path / "huge.png").write_bytes(png_header(20000, 20000))
    (tmp_path / "big.png").write_bytes(png_header(12000, 12000))
    (tmp_path / "adir.png").mkdir()
    return tmp_path


BAD = [  # (overrides, field, reason pattern); paths are relative to the `files` fixture
    ({"answer": "maybe", "answer_type": "boolean", "choices": []}, "answer", "boolean answer 'maybe'"),
    ({"answer": "banana", "answer_type": "number", "choices": []}, "answer", "'banana' is neither a number"),
    ({"answer": " ", "answer_type": "text", "choices": []}, "answer", "empty"),
    ({"images": 5}, "images", "must be a list"),
    ({"images": [5]}, "images", "item 0 is a int, not an image"),
    ({"images": ["missing.png"]}, "images", "does not exist"),
    ({"images": ["adir.png"]}, "images", "is a directory"),
    ({"images": ["notes.txt"]}, "images", "not an image PIL can identify"),
    ({"images": ["half.png"]}, "images", "is corrupt"),
    ({"images": [{"bytes": png_bytes((64, 64), "JPEG")[:300]}]}, "images", "is corrupt"),
    ({"images": ["huge.png"]}, "images", "over the pixel limit"),  # 400 M pixels: PIL's bomb guard
    ({"images": ["big.png"]}, "images", r"12000x12000 = 144,000,000 pixels, over the limit of 67,108,864"),
    ({"images": [{"bytes": None, "path": None}]}, "images", "neither bytes nor a path"),
    ({"problem": "<image>Which \udc80 colour?"}, "problem", "not valid UTF-8 text \\(character 13"),
    ({"choices": ["red", "bl\ud800ue"]}, "choices", "item 1 is not valid UTF-8"),
    ({"domain": "to\udfffy"}, "domain", "not valid UTF-8"),
    ({"provenance": '{"doc": "\udc00"}'}, "provenance", "not valid UTF-8"),
]


@pytest.mark.parametrize("over,field,why", BAD)
def test_bad_records_are_named(files, over, field, why):
    if isinstance(over.get("images"), list):
        over = {**over, "images": [str(files / im) if isinstance(im, str) else im for im in over["images"]]}
    with pytest.raises(RecordError, match=rf"^data.jsonl row 7: record 'r0': field '{field}' .*{why}"):
        validate_record(rec(**over), where="data.jsonl row 7")


def test_good_images_in_every_form_pass(files):
    with Image.open(files / "ok.png") as im:
        im.load()
        forms = [str(files / "ok.png"), {"bytes": None, "path": str(files / "ok.png")}, im, {"bytes": png_bytes()}]
        for form in forms:
            assert validate_record(rec(images=[form]))["id"] == "r0"


def test_pixel_limit_is_configurable(files):
    assert image_error(str(files / "big.png"), max_pixels=None) is None  # no limit: only the header is read
    assert "over the limit of 100" in image_error(png_bytes((16, 12)), max_pixels=100)
    assert image_error(png_bytes((16, 12)), max_pixels=16 * 12) is None


# ------------------------------------------------------------------------------------------ read_records
def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_read_records_names_file_row_field_reason(files):
    rows = [rec(id=f"r{i}", images=["ok.png"]) for i in range(3)]
    rows[2] = rec(id="r2", images=["big.png"])
    path = _jsonl(files / "train.jsonl", rows)
    with pytest.raises(RecordError, match=r"train.jsonl row 2: record 'r2': field 'images' item 0 is 12000x12000"):
        read_records(path)
    dropped = []
    got = read_records(path, on_invalid=dropped.append)
    assert [r["id"] for r in got] == ["r0", "r1"] and len(dropped) == 1 and "row 2" in str(dropped[0])


def test_read_records_decodes_after_checking_and_names_a_truncated_image(tmp_path):
    """save_to_disk: images are checked from the header (never decoded when too large), then decoded;
    a PNG whose structure is sound but whose pixel data is missing (a 16x12 header with an empty IDAT,
    the issue's 12000x12000 case at a small size) fails only at decode, and is named."""
    import datasets

    from mmreason.core.schema import features

    rows = [rec(id="ok"), rec(id="cut", images=[{"bytes": png_header(16, 12), "path": None}]),
            rec(id="huge", images=[{"bytes": png_header(20000, 20000), "path": None}])]
    datasets.Dataset.from_list(rows, features=features()).save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(RecordError, match=r"ds row 1: record 'cut': field 'images' item 0 cannot be decoded"):
        read_records(tmp_path / "ds")
    dropped = []
    got = read_records(tmp_path / "ds", on_invalid=dropped.append)
    assert [r["id"] for r in got] == ["ok"] and isinstance(got[0]["images"][0], Image.Image)
    assert got[0]["images"][0].size == (16, 12)
    assert ["row 1" in str(dropped[0]), "row 2" in str(dropped[1])] == [True, True]


# ------------------------------------------------------------------------------------------ bounded fuzz
def _mutations(tmp_path):
    """Each makes a valid record invalid in one way (callables: rng -> (field, value))."""
    junk = [5, None, 3.5, {"a": 1}, b"bytes", ["x"], "", "\ud800", "x" * 5000 + "\udcff"]
    return [
        lambda r: ("answer_type", r.choice(["", "letter", "Choice", 3, None])),
        lambda r: ("id", r.choice([5, None, "", "\udc80"])),
        lambda r: ("problem", r.choice([None, "", "   ", "a\udc80b", 7])),
        lambda r: ("answer", r.choice(["Z", "", "\ud800", None, 3])),  # choice gold must be a letter
        lambda r: ("choices", r.choice([["only"], "AB", [1, 2], None, ["a", "\udc80"]])),
        lambda r: ("provenance", r.choice(["{", "[]", None, 3, '"s"'])),
        lambda r: ("images", r.choice([5, "a.png", None, {"bytes": b""}])),
        lambda r: ("images", [r.choice([5, None, 2.5, ["p"], b"\x89PNG", {"bytes": r.randbytes(40), "path": None},
                                        {"bytes": png_bytes()[: r.randrange(8, 60)]}, str(tmp_path / "missing.png"),
                                        str(tmp_path), {"bytes": png_header(r.randrange(9000, 60000), 9000)}])]),
        lambda r: ("task_type", r.choice(junk[:5])),
        lambda r: ("domain", r.choice([junk[7], junk[8], None])),
    ]


def test_fuzz_validate_record_raises_only_record_errors(tmp_path):
    """Seeded, bounded: 400 records with 1-3 random corruptions each. validate_record raises RecordError
    (naming a field) for every one of them and never anything else; 100 untouched records pass."""
    from mmreason.core.grading import grade

    rng = random.Random(13)
    muts = _mutations(tmp_path)
    for i in range(400):
        r = rec(id=f"r{i}")
        for _ in range(rng.randint(1, 3)):
            field, value = rng.choice(muts)(rng)
            r[field] = value
        if rng.random() < 0.1:
            del r[rng.choice(["id", "images", "answer", "choices", "provenance"])]
        with pytest.raises(RecordError, match=r"field '\w+'|expected a dict"):
            validate_record(r, where=f"fuzz row {i}")
    for _ in range(100):  # valid ones still pass and grade without a ValueError
        t = rng.choice(["choice", "number", "boolean", "text", "expression"])
        ans = {"choice": "B", "number": str(rng.randint(-99, 99)), "boolean": rng.choice(["yes", "No"]),
               "text": "Paris", "expression": "x^2+1"}[t]
        r = validate_record(rec(answer=ans, answer_type=t, choices=["a", "b"] if t == "choice" else []))
        grade("\\boxed{B}", r["answer"], r["answer_type"], r["choices"])
