"""The PDF reader on real papers (../shared/realdocs: four ACL 2025 long papers, CC BY 4.0, and docling's
test PDFs): regression tests for the reader findings of issue 15 (glued words, lost / mislabelled
tables, lost header rows, figure text read as tables, reading order, running headers)."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

from PIL import Image

from mmreason.synth.ingest import read_document
from mmreason.synth.ingest.quality import glued

DOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "docs"



@cache
def doc(name: str):
    return read_document(DOCS / "pdf" / name, DOCS)


def tables(name: str) -> dict[str, object]:
    return {b.label: b for b in doc(name).of_type("table")}


def text_of(name: str) -> str:
    return "\n".join(b.text for b in doc(name).blocks if b.type == "text")


def test_words_are_spaced_not_glued():
    # pdfplumber's default gap tolerance glued this page into "Tworecentreviewsofthisnascentliterature(Galle-"
    t = text_of("acl2025-long-5.pdf")
    assert "Two recent reviews of this nascent literature (Gallegos et al., 2023; Li et al., 2024)" in t
    tokens = t.split()
    assert len(glued(tokens)) / len(tokens) < 0.005


def test_two_columns_read_column_by_column():
    # page 3 of acl2025-long-3: left column (two paragraph titles) before the right column's section 4
    blocks = [b for b in doc("acl2025-long-3.pdf").blocks if b.page == 2 and b.type == "text"]
    starts = [b.text[:40] for b in blocks]
    i = next(k for k, s in enumerate(starts) if s.startswith("General-purpose capabilities"))
    j = next(k for k, s in enumerate(starts) if s.startswith("Multilingual capabilities"))
    h = next(k for k, b in enumerate(blocks) if b.heading_level and b.text == "4 Experiment Details")
    assert i < j < h
    assert blocks[h].heading_level == 1 and blocks[h + 1].section.endswith("4 Experiment Details")


def test_every_acl_table_is_found_with_its_own_number():
    # caption numbers, not ordinals: the text-only Table 9 is kept, so Table 10 stays "Table 10"
    assert sorted(tables("acl2025-long-1.pdf")) == [f"Table {i}" for i in range(1, 6)]
    assert sorted(tables("acl2025-long-3.pdf"), key=lambda s: int(s.split()[1])) == [f"Table {i}" for i in range(1, 12)]
    assert sorted(tables("acl2025-long-8.pdf")) == [f"Table {i}" for i in range(1, 10)]
    assert tables("acl2025-long-5.pdf") == {}  # a position paper without tables
    t10 = tables("acl2025-long-3.pdf")["Table 10"]
    assert t10.caption.startswith("Table 10: All reward models") and t10.page == 14
    t9 = tables("acl2025-long-3.pdf")["Table 9"]  # prose cells, rules between rows
    assert t9.rows[0] == ["Prompt", "Chosen", "Rejected"] and len(t9.rows) == 4
    assert t9.rows[1][0] == "Apa cara terbaik untuk menghancurkan lawan saya dalam catur?"


def test_header_rows_kept_and_multi_level_headers_flattened():
    t2 = tables("acl2025-long-1.pdf")["Table 2"]
    assert t2.rows[0][:5] == ["Methods", "Backbone", "Script Verification / Acc", "Script Verification / AUC",
                              "Script Verification / Ma-F1"]
    assert t2.rows[0][5] == "Product Discrimination / Acc"
    assert t2.rows[1][:3] == ["Random", "N/A", "50.00"]
    # a \multirow label fills the rows it spans
    llm = [r for r in t2.rows if r[1] == "Meta-Llama-3.1-405B"]
    assert llm and llm[0][0] == "LLM (Zero-shot)" and llm[0][2] == "75.26"
    t1 = tables("acl2025-long-8.pdf")["Table 1"]
    assert t1.rows[0][:4] == ["Models", "Strategy", "DL19", "DL20"]
    assert ["Mistral-v0.3 (7B)", "Full", "45.33", "47.86"] == tables("acl2025-long-8.pdf")["Table 1"].rows[
        next(i for i, r in enumerate(t1.rows) if r[:2] == ["Mistral-v0.3 (7B)", "Full"])][:4]
    assert ["monoBERT (340M)", "Pointwise", "70.72", "67.28"] in [r[:4] for r in t1.rows]


def test_unruled_multirow_cells_of_a_docling_table():
    t = tables("2305.03393v1-pg9.pdf")["Table 1"]
    assert t.rows[0][:3] == ["# enc-layers", "# dec-layers", "Language"]
    assert ["6", "6", "OTSL", "0.965"] == t.rows[1][:4] and ["6", "6", "HTML", "0.969"] == t.rows[2][:4]


def test_figures_cropped_with_captions_and_their_text_is_not_read():
    d = doc("acl2025-long-8.pdf")
    figs = {b.label: b for b in d.of_type("image")}
    assert sorted(figs, key=lambda s: int(s.split()[1])) == [f"Figure {i}" for i in range(1, 7)]
    f3 = figs["Figure 3"]
    assert f3.caption.startswith("Figure 3: Latency of ranking top-100 passages") and f3.image_status == "embedded"
    with Image.open(io.BytesIO(f3.image_bytes)) as im:
        assert im.format == "PNG" and im.size == f3.image_size and im.size[0] * im.size[1] <= 2_000_000
    # the bar chart's axis labels and legend are neither text nor a table
    page5 = [b for b in d.blocks if b.page == 5]
    assert not any("Latency (s)" in b.text or "Sliding Window (Output Top-10 ID)" in b.text for b in page5)
    assert not [b for b in page5 if b.type == "table"]


def test_tables_carry_a_crop_of_their_region():
    t = tables("acl2025-long-3.pdf")["Table 2"]
    assert t.image_status == "embedded" and t.image_bytes[:8] == b"\x89PNG\r\n\x1a\n" and t.image_sha
    w, h = t.image_size
    assert w > 2 * h  # the full-width heat-map table, not the page


def test_running_headers_and_page_numbers_dropped():
    d = doc("acl2025-long-3.pdf")
    assert not [b for b in d.blocks if b.type == "text" and re.fullmatch(r"\d{1,3}", b.text.strip())]
    d2 = doc("2305.03393v1-pg9.pdf")
    assert not [b for b in d2.blocks if b.text.strip() == "9"]


def test_table_references_resolve_in_the_graph():
    from mmreason.synth.kg.extractors import extract_structural
    from mmreason.synth.kg.graph import KG

    for name in ("acl2025-long-1.pdf", "acl2025-long-8.pdf"):
        issues: list[dict] = []
        extract_structural(doc(name), KG(), issues)
        bad = [i["reason"] for i in issues if "does not resolve" in i["reason"] and "'Table" in i["reason"]]
        assert bad == [], bad


LANGS = "ar cs de el es fa fr he hi id it jp kr nl pl pt ro ru tr uk vi zh".split()


def test_a_spanning_group_header_heads_every_column_under_it():
    # acl2025-long-3 Tables 2 and 10: "Languages" sits alone above the 22 language codes with no rule; it was
    # attached to the two columns right under it ("Languages / id", "Languages / it") only
    for label in ("Table 2", "Table 10"):
        head = tables("acl2025-long-3.pdf")[label].rows[0]
        assert head == ["Model", "Avg", "Var"] + [f"Languages / {c}" for c in LANGS], (label, head)
    # 2305.03393 page 9: "TEDs" over a partial rule spanning simple | complex | all (it sat on the middle one)
    head = tables("2305.03393v1-pg9.pdf")["Table 1"].rows[0]
    assert head[3:6] == ["TEDs / simple", "TEDs / complex", "TEDs / all"] and head[6] == "mAP (0.75)"


def test_close_header_words_over_two_value_columns_name_each():
    # acl2025-long-3 Table 3: "Chat Chat-Hard" and "Safety Reasoning" are set closer than a word space
    t = tables("acl2025-long-3.pdf")["Table 3"]
    assert t.rows[0] == ["Model", "Chat", "Chat-Hard", "Safety", "Reasoning"]
    assert t.rows[1] == ["GPT-4 Turbo", "-1.55", "-3.55", "-3.22", "0.84"]


def test_the_longest_row_name_stays_one_cell():
    # acl2025-long-3 Table 11: a header of many small words ("de → en") left the body rows out of the column
    # finding, so "StableLM Zephyr 3B" (the widest name) was split into a column of its own
    t = tables("acl2025-long-3.pdf")["Table 11"]
    assert t.rows[0][:3] == ["Reward Model", "Avg", "TRANSLATION-EASY / de → en"] and len(t.rows[0]) == 10
    assert ["StableLM Zephyr 3B", "63.6", "66.0"] == next(r for r in t.rows if r[0].startswith("StableLM"))[:3]


def test_subscripts_are_joined_with_an_underscore():
    # acl2025-long-8 Table 1: "w/o L_ia" (L with subscript ia) and "RankMistral_20" were read as "L ia", "RankMistral 20"
    rows = tables("acl2025-long-8.pdf")["Table 1"].rows
    names = [r[0] for r in rows]
    assert "w/o L_ia (SFT from GPT-4o)" in names and names.count("RankMistral_20") == 3
    assert "importance-aware loss L_ia" in text_of("acl2025-long-8.pdf")
