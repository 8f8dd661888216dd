"""Ingest that survives any file (issue 13, item 4) and bounded, seeded reader fuzzing (item 7).

The fuzz inputs are mutations of valid files of each format (written here, or the real docling files in
../shared/realdocs): truncation, byte flips, inserted garbage, shuffled chunks. A reader may report
problems (doc.issues) but never raises, and every file gives a Document.
"""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from pathlib import Path

import pytest

from mmreason.synth.ingest import discover, read_document
from mmreason.synth.kg import build_kg

REAL = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "docs"


def test_invalid_utf8_file_name_does_not_abort_stage_kg(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    bad = os.fsencode(root) + b"/caf\xe9 \xff.md"  # Latin-1 bytes in a name: not UTF-8
    with open(bad, "wb") as f:
        f.write(b"# Notes\n\n| Name | Mass (g) |\n|---|---|\n| a | 1.5 |\n| b | 2 |\n")
    (root / "ok.md").write_text("# Ok\n\nText.\n", encoding="utf-8")
    res = build_kg({"synth": {"input_dir": str(root), "out_dir": str(tmp_path / "out")}}, progress=False)
    assert res["documents"] == 2 and res["counts"]["nodes"]["Table"] == 1
    docs = [n for n, d in res["graph"].g.nodes(data=True) if d.get("type") == "Document"]
    paths = sorted(res["graph"].g.nodes[n]["path"] for n in docs)
    assert paths == ["caf\\xe9 \\xff.md", "ok.md"]  # escaped, JSON-safe
    json.loads((tmp_path / "out" / "kg" / "graph.json").read_text(encoding="utf-8"))
    # a rerun resumes from the partials (same ids from the same raw bytes)
    again = build_kg({"synth": {"input_dir": str(root), "out_dir": str(tmp_path / "out")}}, progress=False)
    assert again["reused"] == 2


def test_inputs_not_read_are_reported(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside.md").write_text("# secret\n", encoding="utf-8")
    (root / "a.md").write_text("# a\n", encoding="utf-8")
    (root / "out_link.md").symlink_to(tmp_path / "outside.md")
    (root / "dangling.md").symlink_to(root / "nowhere.md")
    (root / "loop.md").symlink_to(root / "loop.md")
    (root / "dir_link").symlink_to(tmp_path)
    os.mkfifo(root / "pipe.md")
    (root / "big.txt").write_bytes(b"x" * 2_000_001)
    (root / "sub" / "in_link.md").symlink_to(root / "a.md")  # inside: read
    (root / "picture.png").write_bytes(b"not a document")  # no reader: not an input, not reported
    skipped: list[dict] = []
    files = discover(root, skipped, max_bytes=2_000_000)
    assert [p.relative_to(root).as_posix() for p in files] == ["a.md", "sub/in_link.md"]
    reasons = {s["file"]: s["reason"] for s in skipped}
    assert set(reasons) == {"out_link.md", "dangling.md", "loop.md", "dir_link", "pipe.md", "big.txt"}
    assert "outside the input folder" in reasons["out_link.md"] and "dangling" in reasons["dangling.md"]
    assert "loop" in reasons["loop.md"] and "FIFO" in reasons["pipe.md"] and "max_file_mb" in reasons["big.txt"]
    assert all(s["stage"] == "ingest" for s in skipped)
    # and build_kg writes them to errors.jsonl
    res = build_kg({"synth": {"input_dir": str(root), "out_dir": str(tmp_path / "out"),
                              "kg": {"ingest": {"max_file_mb": 2}}}}, progress=False)
    lines = [json.loads(x) for x in (tmp_path / "out" / "kg" / "errors.jsonl").read_text().splitlines()]
    assert {x["file"] for x in lines} >= set(reasons) and res["documents"] == 2


def test_a_bad_mineru_item_loses_only_itself(tmp_path):
    items = [{"type": "text", "text": "Paper", "text_level": 1},
             {"type": "text", "text": "Broken heading", "text_level": "abc"},
             {"type": "table", "table_body": 12345, "table_caption": ["Table 1: numbers"]},
             {"type": "image", "img_path": "../../etc/passwd"},
             {"type": "image", "img_path": {"nested": True}},
             {"type": "text", "text": ["a", "list"]},
             {"type": "table", "table_body": "<table><tr><td>k</td><td>v</td></tr><tr><td>x</td><td>1</td></tr></table>"},
             {"type": "text", "text": "Kept paragraph.", "page_idx": "7"}]
    (tmp_path / "p_content_list.json").write_text(json.dumps(items), encoding="utf-8")
    doc = read_document(tmp_path / "p_content_list.json", tmp_path)
    assert [b.text for b in doc.blocks if b.type == "text"] == ["Paper", "Kept paragraph."]
    assert doc.of_type("table")[0].rows == [["k", "v"], ["x", "1"]]
    reasons = " | ".join(i.reason for i in doc.issues)
    assert "item 1" in reasons and "item 2" in reasons and "item 4" in reasons and "item 5" in reasons
    assert "outside the input folder" in reasons
    (tmp_path / "deep_content_list.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    assert "nested too deeply" in read_document(tmp_path / "deep_content_list.json", tmp_path).issues[0].reason


def test_an_over_limit_image_loses_only_its_block(tmp_path):
    import struct
    import zlib

    # a PNG header claiming 30000 x 30000 pixels (the decompression bomb of issue 13): read from the header
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    (tmp_path / "big.png").write_bytes(png)
    (tmp_path / "d.md").write_text("# D\n\n![Figure 1: huge](big.png)\n\nText after.\n", encoding="utf-8")
    doc = read_document(tmp_path / "d.md", tmp_path)
    assert doc.of_type("image")[0].image_status == "corrupt" and doc.blocks[-1].text == "Text after."
    assert "pixels" in doc.issues[0].reason and "limit" in doc.issues[0].reason  # from the header, not decoded


# ---------------------------------------------------------------- fuzzing

def _seeds(tmp: Path) -> dict[str, bytes]:
    """One valid file per reader."""
    import docx
    import matplotlib
    import openpyxl
    import pptx

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {
        "a.md": b"---\ntitle: t\n---\n# H\n\n| a | b |\n|---|---|\n| [x](u) | **1** |\n\n$$x=1$$\n\n![Figure 1: c](i.png)\n",
        "a.html": b"<html><body><main><h1>T</h1><p>2<sup>8</sup></p><table><tr><th colspan=2>h</th></tr>"
                  b"<tr><td rowspan=2>a</td><td>1</td></tr><tr><td>2</td></tr></table><img src='i.png'></main></body></html>",
        "a.txt": b"Line one.\n\n$$a=b$$\n",
        "a_content_list.json": json.dumps([{"type": "text", "text": "T", "text_level": 1},
                                           {"type": "table", "table_body": "<table><tr><td>a</td></tr></table>"},
                                           {"type": "image", "img_path": "i.png"}]).encode(),
    }
    fig = plt.figure(figsize=(3, 2))
    fig.text(0.1, 0.9, "Table 1: T.")
    ax = fig.add_axes([0.1, 0.1, 0.8, 0.6])
    ax.set_axis_off()
    ax.table(cellText=[["a", "1"], ["b", "2"]], colLabels=["k", "v"], loc="center")
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    plt.close(fig)
    out["a.pdf"] = buf.getvalue()
    d = docx.Document()
    d.add_heading("H", 1)
    d.add_table(rows=2, cols=2).cell(0, 0).text = "x"
    buf = io.BytesIO()
    d.save(buf)
    out["a.docx"] = buf.getvalue()
    wb = openpyxl.Workbook()
    wb.active.append(["k", "v"])
    wb.active.append(["a", 1])
    buf = io.BytesIO()
    wb.save(buf)
    out["a.xlsx"] = buf.getvalue()
    prs = pptx.Presentation()
    s = prs.slides.add_slide(prs.slide_layouts[5])
    s.shapes.title.text = "T"
    buf = io.BytesIO()
    prs.save(buf)
    out["a.pptx"] = buf.getvalue()
    return out


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    op = rng.randrange(5)
    if op == 0 and b:  # truncate
        return bytes(b[: rng.randrange(len(b))])
    if op == 1:  # flip bytes
        for _ in range(rng.randint(1, 20)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if op == 2:  # insert garbage / markup
        junk = rng.choice([b"<table><tr><td", b"\x00\xff\xfe", b"[[[[", b"{\"type\":", b"|---|", b"$$", b"<sup>",
                           bytes(rng.randrange(256) for _ in range(50))])
        at = rng.randrange(len(b) + 1)
        return bytes(b[:at] + junk * rng.randint(1, 50) + b[at:])
    if op == 3:  # shuffle chunks
        parts = [bytes(b[i: i + 64]) for i in range(0, len(b), 64)]
        rng.shuffle(parts)
        return b"".join(parts)
    return bytes(rng.randrange(256) for _ in range(rng.randrange(2000)))  # pure garbage


def _zip_member_mutation(data: bytes, rng: random.Random) -> bytes:
    """Office files are zips: mutate one XML member and re-zip (reaches the XML parsers, not just unzip)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    names = src.namelist()
    victim = rng.choice([n for n in names if n.endswith(".xml")] or names)
    with zipfile.ZipFile(out, "w") as z:
        for n in names:
            raw = src.read(n)
            z.writestr(n, _mutate(raw, rng) if n == victim else raw)
    return out.getvalue()


@pytest.mark.parametrize("seed", range(3))
def test_fuzz_every_reader(tmp_path, seed):
    rng = random.Random(1000 + seed)
    seeds = _seeds(tmp_path)
    if REAL.is_dir():
        seeds["real.docx"] = (REAL / "office" / "docx_rich_cells.docx").read_bytes()
        seeds["real.pptx"] = (REAL / "office" / "pptx_chart.pptx").read_bytes()
        seeds["real.html"] = (REAL / "html" / "wiki_duck.html").read_bytes()[:60_000]
    for name, data in seeds.items():
        for k in range(6):
            zipped = name.endswith((".docx", ".xlsx", ".pptx"))
            blob = _zip_member_mutation(data, rng) if zipped and k % 2 else _mutate(data, rng)
            p = tmp_path / f"f{k}_{name}"
            p.write_bytes(blob)
            doc = read_document(p, tmp_path)  # must not raise
            assert doc.path == p.name
            assert all(b.type in ("text", "table", "image", "formula") for b in doc.blocks)
            for b in doc.of_type("table"):
                assert b.rows == [] or len({len(r) for r in b.rows}) == 1  # rectangular
            if not doc.blocks:
                assert doc.issues, (name, k)  # an empty result is always explained
