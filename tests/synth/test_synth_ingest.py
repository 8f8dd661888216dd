from __future__ import annotations

import json

from synthfix import png

from mmreason.synth.ingest import discover, find_references, read_document

MD = """# Solvents

## Data

Table 1: Properties of two solvents.

| Compound | Boiling point (°C) | Density |
|---|---|---|
| Ethanol | 78.4 | 0.789 g/cm³ |
| Benzene | 80.1 | 0.876 g/cm³ |

See Table 1 and Figure 1; density follows Eq. (1).

![Figure 1: Boiling point of the solvents](img/f1.png)

$$
\\rho = \\frac{m}{V} \\tag{1}
$$

\\[ n = \\frac{m}{M} \\]

<table>
<caption>Table 2: Elements.</caption>
<tr><th>Element</th><th>Discovered by</th></tr>
<tr><td>Sodium</td><td>Humphry Davy</td></tr>
</table>
"""


def test_markdown_blocks_labels_and_spans(tmp_path):
    png(tmp_path / "img" / "f1.png")
    (tmp_path / "doc.md").write_text(MD, encoding="utf-8")
    doc = read_document(tmp_path / "doc.md", tmp_path)
    assert doc.issues == []
    assert doc.title == "Solvents"
    types = [b.type for b in doc.blocks if not b.heading_level]
    assert types == ["table", "text", "image", "formula", "formula", "table"]
    t1, t2 = doc.of_type("table")
    assert t1.label == "Table 1" and t1.caption == "Table 1: Properties of two solvents."
    assert t1.rows == [["Compound", "Boiling point (°C)", "Density"], ["Ethanol", "78.4", "0.789 g/cm³"],
                       ["Benzene", "80.1", "0.876 g/cm³"]]
    assert t1.section == "Solvents / Data"
    assert MD[t1.span[0]:t1.span[1]].startswith("| Compound")
    assert t2.label == "Table 2" and t2.rows[1] == ["Sodium", "Humphry Davy"]
    img = doc.of_type("image")[0]
    assert (img.label, img.image_path, img.image_status, img.image_size) == ("Figure 1", "img/f1.png", "ok", (16, 12))
    f1, f2 = doc.of_type("formula")
    assert f1.text == "\\rho = \\frac{m}{V}" and f1.label == "Eq. (1)"
    assert f2.text == "n = \\frac{m}{M}" and f2.label == "Eq. (2)"  # unnumbered: its ordinal
    assert MD[f1.span[0]:f1.span[1]].startswith("$$") and MD[f1.span[0]:f1.span[1]].endswith("$$")


def test_references_are_typed():
    refs = find_references("Table 2 and Fig. 3 use Eq. (4); see Figure 1, Equation 5.")
    assert [(k, n) for k, n, _ in refs] == [("table", 2), ("image", 3), ("formula", 4), ("image", 1), ("formula", 5)]


def test_html_reader(tmp_path):
    png(tmp_path / "a.png")
    html = """<html><head><title>T</title></head><body><h1>Report</h1><p>Revenue in Table 1.</p>
<table><caption>Table 1: Revenue.</caption><tr><th>Company</th><th>Revenue (USD)</th></tr>
<tr><td>Acme</td><td>$1,200</td></tr></table>
<figure><img src="a.png" alt="chart"><figcaption>Figure 1: Revenue chart</figcaption></figure>
<p>$$x = y + 1$$</p></body></html>"""
    (tmp_path / "r.html").write_text(html, encoding="utf-8")
    doc = read_document(tmp_path / "r.html", tmp_path)
    assert doc.issues == []
    t = doc.of_type("table")[0]
    assert t.rows == [["Company", "Revenue (USD)"], ["Acme", "$1,200"]] and t.label == "Table 1"
    img = doc.of_type("image")[0]
    assert img.caption == "Figure 1: Revenue chart" and img.image_status == "ok"
    assert [b.text for b in doc.of_type("formula")] == ["x = y + 1"]
    assert html[t.span[0]:t.span[0] + 6] == "<table"


def test_text_and_mineru_readers(tmp_path):
    (tmp_path / "n.txt").write_text("Intro line.\n\nBody refers to Eq. (1).\n\n$$a = b c$$\n", encoding="utf-8")
    doc = read_document(tmp_path / "n.txt", tmp_path)
    assert [b.type for b in doc.blocks] == ["text", "text", "formula"]

    png(tmp_path / "mu" / "images" / "p.png")
    items = [
        {"type": "text", "text": "A paper", "text_level": 1, "page_idx": 0},
        {"type": "text", "text": "Results are in Table 1 and Figure 1.", "page_idx": 0},
        {"type": "table", "table_caption": ["Table 1: Scores."], "page_idx": 0,
         "table_body": "<table><tr><td>Model</td><td>F1 (%)</td></tr><tr><td>X</td><td>90.5</td></tr></table>"},
        {"type": "image", "img_path": "images/p.png", "image_caption": ["Figure 1: F1 of X"], "page_idx": 1},
        {"type": "equation", "text": "$$F = 2 P$$", "text_format": "latex", "page_idx": 1},
    ]
    (tmp_path / "mu" / "paper_content_list.json").write_text(json.dumps(items), encoding="utf-8")
    doc = read_document(tmp_path / "mu" / "paper_content_list.json", tmp_path)
    assert doc.issues == [] and doc.title == "A paper"
    t = doc.of_type("table")[0]
    assert t.rows == [["Model", "F1 (%)"], ["X", "90.5"]] and t.label == "Table 1" and t.page == 0
    img = doc.of_type("image")[0]
    assert img.image_path == "mu/images/p.png" and img.page == 1 and img.label == "Figure 1"
    assert doc.of_type("formula")[0].text == "F = 2 P"


def test_pdf_reader_text_and_embedded_image(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig = plt.figure(figsize=(4, 3))
    fig.text(0.1, 0.9, "Figure 1: A gradient image")
    ax = fig.add_axes([0.2, 0.2, 0.5, 0.5])
    ax.imshow(np.arange(64).reshape(8, 8), interpolation="nearest")
    fig.savefig(tmp_path / "d.pdf")
    plt.close(fig)
    doc = read_document(tmp_path / "d.pdf", tmp_path)
    assert not doc.issues, doc.issues
    imgs = doc.of_type("image")
    assert len(imgs) == 1 and imgs[0].image_status == "embedded" and imgs[0].image_bytes
    assert imgs[0].caption == "Figure 1: A gradient image" and imgs[0].label == "Figure 1"


def test_bad_inputs_are_reported_not_raised(tmp_path):
    root = tmp_path / "in"
    (root / "img").mkdir(parents=True)
    (root / "img" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    secret = png(tmp_path / "secret.png")
    md = ("# D\n\n| A | B |\n|---|---|\n| x | 1 | extra |\n| y |\n\n![Figure 1: gone](img/none.png)\n\n"
          "![Figure 2: bad](img/broken.png)\n\n![Figure 3: outside](../secret.png)\n")
    (root / "d.md").write_text(md, encoding="utf-8")
    doc = read_document(root / "d.md", root)
    reasons = " | ".join(i.reason for i in doc.issues)
    assert "row 1 has 3 cells, header has 2" in reasons and "row 2 has 1 cells" in reasons
    assert doc.of_type("table")[0].rows == [["A", "B"], ["x", "1"], ["y", ""]]
    st = {b.label: b.image_status for b in doc.of_type("image")}
    assert st == {"Figure 1": "missing", "Figure 2": "corrupt", "Figure 3": "outside_input"}
    assert "points outside the input folder" in reasons
    outside = [b for b in doc.of_type("image") if b.label == "Figure 3"][0]
    assert outside.image_sha == "" and secret.exists()  # never read

    (root / "latin.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    d2 = read_document(root / "latin.txt", root)
    assert "not valid UTF-8" in d2.issues[0].reason and d2.blocks[0].text == "caf\ufffd au lait"
    (root / "empty.md").write_text("\n\n", encoding="utf-8")
    assert "empty document" in read_document(root / "empty.md", root).issues[0].reason
    d3 = read_document(root / "gone.md", root)
    assert d3.blocks == [] and "unreadable file" in d3.issues[0].reason
    (root / "c_content_list.json").write_text("{not json", encoding="utf-8")
    assert "not valid JSON" in read_document(root / "c_content_list.json", root).issues[0].reason


def test_discover_skips_links_outside_and_truth(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (tmp_path / "out.md").write_text("# outside\n", encoding="utf-8")
    (root / "a.md").write_text("# a\n", encoding="utf-8")
    (root / "a.truth.json").write_text("{}", encoding="utf-8")
    (root / "link.md").symlink_to(tmp_path / "out.md")
    assert [p.name for p in discover(root)] == ["a.md"]


def test_pdf_reader_table_with_caption(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(5, 3))
    ax = fig.add_axes([0.1, 0.1, 0.8, 0.6])
    ax.set_axis_off()
    ax.table(cellText=[["Ethanol", "78.4"], ["Benzene", "80.1"]], colLabels=["Compound", "Boiling point (°C)"],
             loc="center")
    fig.text(0.1, 0.9, "Table 1: Boiling points.")
    fig.savefig(tmp_path / "t.pdf")
    plt.close(fig)
    doc = read_document(tmp_path / "t.pdf", tmp_path)
    assert [b.type for b in doc.blocks] == ["table"]  # the cells are not repeated as a paragraph
    t = doc.blocks[0]
    assert t.rows == [["Compound", "Boiling point (°C)"], ["Ethanol", "78.4"], ["Benzene", "80.1"]]
    assert t.caption == "Table 1: Boiling points." and t.label == "Table 1" and t.page == 0
