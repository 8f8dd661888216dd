"""HTML and Markdown readers: regression tests for the reader findings of issue 15.

The HTML snippets copy the layout of real pages: MediaWiki's skin (`<nav id="p-navigation">`, `<span
class="mw-editsection">`, `<sup class="reference">`, the `infobox` table), a CMS cookie banner
(`<div id="cookie-consent" role="dialog">`), mdBook's script header (`const path_to_root = "";`, the
finding), and a MediaWiki math span; the real Wikipedia page is ../shared/realdocs/docs/html/wiki_duck.html.
"""

from __future__ import annotations

from pathlib import Path

from mmreason.synth.ingest import read_document

DOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "docs"

PAGE = """<!DOCTYPE html><html><head><title>Powers</title>
<script>const path_to_root = ""; window.playground_copyable = true;</script>
<style>.nav { color: red }</style></head>
<body>
<div id="cookie-consent" role="dialog"><p>We use cookies to improve your experience. Accept all</p></div>
<header class="site-header"><a href="/">Home</a> <a href="/docs">Docs</a></header>
<nav id="p-navigation"><ul><li><a href="/wiki/Main_Page">Main page</a></li><li>Random article</li></ul></nav>
<main id="content">
<h1>Integer limits</h1>
<h2>Range<span class="mw-editsection">[<a href="/edit">edit</a>]</span></h2>
<p>An unsigned byte holds values up to 2<sup>8</sup>-1, water is H<sub>2</sub>O, and the 1<sup>st</sup>
bit is the lowest.<sup class="reference"><a href="#cite_note-1">[1]</a></sup> See
<a href="https://en.wikipedia.org/wiki/Integer">integers</a>.</p>
<table class="wikitable"><caption>Table 1: Integer types.</caption>
<tr><th rowspan="2">Type</th><th colspan="2">Range</th></tr>
<tr><th>Min</th><th>Max</th></tr>
<tr><td rowspan="2">signed</td><td>-128</td><td>127</td></tr>
<tr><td>-32768</td><td>32767</td></tr>
<tr><td>unsigned</td><td>0</td><td>2<sup>8</sup>-1</td></tr>
</table>
<figure><img src="https://upload.wikimedia.org/x.png" alt="byte"><figcaption>Figure 1: A byte.</figcaption></figure>
<p><span class="mwe-math-element"><math alttext="{\\displaystyle 2^{128}}"><mi>x</mi></math></span> is large.</p>
</main>
<aside class="sidebar"><p>Related pages</p></aside>
<footer class="site-footer"><p>Privacy policy</p></footer>
</body></html>"""


def read(tmp_path, name: str, text: str):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return read_document(tmp_path / name, tmp_path)


def test_html_main_content_only(tmp_path):
    doc = read(tmp_path, "p.html", PAGE)
    text = "\n".join(b.text for b in doc.blocks)
    for noise in ("path_to_root", "color: red", "cookies", "Main page", "Random article", "Home", "[edit]",
                  "edit", "Related pages", "Privacy policy", "[1]"):
        assert noise not in text, noise
    assert [b.text for b in doc.blocks if b.heading_level] == ["Integer limits", "Range"]
    assert doc.title == "Powers"


def test_html_sup_sub_kept_as_math_and_links_kept(tmp_path):
    doc = read(tmp_path, "p.html", PAGE)
    para = next(b for b in doc.blocks if b.type == "text" and "unsigned byte" in b.text)
    assert "up to 2^8-1" in para.text and "H_2O" in para.text and "1st bit" in para.text
    assert "See integers." in para.text
    assert para.links == [{"text": "integers", "url": "https://en.wikipedia.org/wiki/Integer"}]
    assert any("$2^{128}$ is large" in b.text for b in doc.blocks)


def test_html_rowspan_colspan_and_remote_image(tmp_path):
    doc = read(tmp_path, "p.html", PAGE)
    t = doc.of_type("table")[0]
    assert t.label == "Table 1" and t.caption == "Table 1: Integer types."
    assert t.rows == [["Type", "Range / Min", "Range / Max"], ["signed", "-128", "127"],
                      ["signed", "-32768", "32767"], ["unsigned", "0", "2^8-1"]]
    img = doc.of_type("image")[0]
    assert (img.image_status, img.image_path, img.label) == ("remote", "https://upload.wikimedia.org/x.png", "Figure 1")
    assert not [i for i in doc.issues if "x.png" in i.reason]  # recorded on the block, never fetched


def test_unclosed_and_malformed_html_still_yields_blocks(tmp_path):
    doc = read(tmp_path, "u.html", "<html><body><h1>Title<p>First para<p>Second <b>bold<table><tr><td>a<td>1"
                                   "<tr><td>b<td>2")
    assert [b.text for b in doc.blocks if b.type == "text"] == ["Title", "First para", "Second bold"]
    assert doc.of_type("table")[0].rows == [["a", "1"], ["b", "2"]]
    deep = read(tmp_path, "d.html", "<div>" * 5000 + "deep text" + "</div>" * 5000 + "<p>after</p>")
    assert [b.text for b in deep.blocks] == ["deep text", "after"]
    assert any("nested deeper" in i.reason for i in deep.issues)
    ok = read(tmp_path, "ok.html", "<div>" * 1000 + "<p>deep but readable</p>" + "</div>" * 1000)
    assert [b.text for b in ok.blocks] == ["deep but readable"] and not ok.issues


def test_wikipedia_page_real():
    doc = read_document(DOCS / "html" / "wiki_duck.html", DOCS)
    text = "\n".join(b.text for b in doc.blocks)
    for noise in ("mw.config", "RLQ=window", "Jump to content", "Toggle the table of contents", "Create account",
                  "Privacy policy", "[edit]"):
        assert noise not in text, noise
    assert doc.blocks[0].text == "Duck" and doc.blocks[0].heading_level == 1
    infobox = doc.of_type("table")[0]
    assert infobox.rows[0] == ["Attribute", "Value"] and ["Kingdom", "Animalia"] in infobox.rows
    assert infobox.caption.startswith("Duck")
    imgs = doc.of_type("image")
    assert imgs and all(b.image_status == "remote" for b in imgs)
    assert any(b.caption == "Wood ducks." for b in imgs)
    # a video's <figcaption> took the caption of the image before it ("Pecten along the bill" was lost)
    assert [b.caption for b in imgs if "bill" in b.caption or "preening" in b.caption] == ["Pecten along the bill"]
    assert any(b.type == "text" and b.text == "Mallard duckling preening" for b in doc.blocks)
    # the infobox's edit icon ("Edit this classification") is no figure; notes keep their numbers
    assert not [b for b in imgs if "Edit this" in (b.caption or b.text)]
    assert any(b.text.startswith('1. "Duckling". The American Heritage Dictionary') for b in doc.blocks)


def test_figcaptions_numbered_items_and_edit_icons(tmp_path):
    # MediaWiki's layouts: a <figure> holding a video (no <img>) after an image figure, an infobox header
    # with an edit icon (<span class="taxobox-edit-taxonomy">), the references list (<ol class="references">)
    page = """<html><body><main id="content"><h1>Ducks</h1>
<figure><a href="/f"><img src="https://x/bill.jpg"></a><figcaption>Pecten along the bill</figcaption></figure>
<figure><video src="https://x/v.webm"></video><figcaption>Mallard duckling preening</figcaption></figure>
<table class="infobox"><tr><th colspan="2">Scientific classification <span class="plainlinks taxobox-edit-taxonomy">
<a href="/edit"><img src="https://x/edit-icon.png" alt="Edit this classification"></a></span></th></tr>
<tr><td>Kingdom:</td><td>Animalia</td></tr><tr><td>Class:</td><td>Aves</td></tr></table>
<ol class="references" start="3"><li><span class="mw-cite-backlink"><a href="#r3">^</a></span>
<span class="reference-text">Carboneras 1992, p. 536.</span></li><li>Kear 2005, p. 448.</li></ol>
</main></body></html>"""
    doc = read(tmp_path, "w.html", page)
    assert [(b.image_path, b.caption) for b in doc.of_type("image")] == [("https://x/bill.jpg", "Pecten along the bill")]
    text = [b.text for b in doc.blocks if b.type == "text"]
    assert "Mallard duckling preening" in text
    assert "3. Carboneras 1992, p. 536." in text and "4. Kear 2005, p. 448." in text


FRONT = """---
title: Token counts of public corpora
authors: [A. Writer]
date: 2024-05-01
---

# Data

| Dataset | Tokens |
|---|---|
| [Reddit comments (2015-2018)](https://github.com/x/reddit) | 1,000,000 |
| [Common Crawl](https://commoncrawl.org) | 169,060,424 |
| **Total** | **1,170,060,424** |
| `code_search` | *12* |

See [the repo](https://github.com/x/reddit "repo") for `scripts`.
"""


def test_markdown_front_matter_links_and_emphasis(tmp_path):
    doc = read(tmp_path, "m.md", FRONT)
    assert doc.meta["title"] == "Token counts of public corpora" and doc.meta["authors"] == ["A. Writer"]
    assert all("title:" not in b.text and "---" not in b.text for b in doc.blocks)  # not a chunk
    t = doc.of_type("table")[0]
    assert [r[0] for r in t.rows] == ["Dataset", "Reddit comments (2015-2018)", "Common Crawl", "Total", "code_search"]
    assert [r[1] for r in t.rows[1:]] == ["1,000,000", "169,060,424", "1,170,060,424", "12"]
    assert {"text": "Common Crawl", "url": "https://commoncrawl.org"} in t.links
    para = doc.blocks[-1]
    assert para.text == "See the repo for `scripts`." and para.links[0]["url"] == "https://github.com/x/reddit"
    assert FRONT[t.span[0]:t.span[0] + 10] == "| Dataset "  # spans still index the file


def test_markdown_bad_front_matter_is_reported(tmp_path):
    doc = read(tmp_path, "b.md", "---\ntitle: [unclosed\n---\n\n# H\n\nBody.\n")
    assert any("front matter" in i.reason for i in doc.issues) and doc.meta.get("raw")
    assert [b.text for b in doc.blocks] == ["H", "Body."]
