"""Reader quality against docling's reference Markdown (../shared/realdocs/groundtruth): issue 15's bar is
table-cell recall >= 0.9, word recall >= 0.95 and < 0.5 % glued words on the docling files and the
Wikipedia page. Two measured exceptions on word recall, both by design and explained below."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from mmreason.synth.ingest import Block, Document
from mmreason.synth.ingest.quality import glued, measure, measure_dir

REAL = Path(__file__).resolve().parents[3] / "shared" / "realdocs"

# word recall floors below 0.95, measured: the rest of each reference is not document content
WORD_FLOOR = {
    "office/pptx_chart.pptx": 0.85,  # 4 of its 30 words are docling's own labels "Bar chart", "Other chart"
    "html/wiki_duck.html": 0.93,  # (content recall) Wikipedia's UI strings, category and sister-project boxes
}


@cache
def results() -> dict[str, dict]:
    return measure_dir(REAL / "docs", REAL / "groundtruth")


def test_every_reference_is_measured():
    assert len(results()) == 12  # 5 docling PDFs, 6 Office files, the Wikipedia page


def test_word_recall_cell_recall_and_glued_words():
    for name, r in results().items():
        words = r["content_word_recall"]
        assert words >= WORD_FLOOR.get(name, 0.95), (name, r)
        if r["ref_tables"]:
            assert r["content_cell_recall"] >= 0.9, (name, r)
        assert r["glued_share"] < 0.005, (name, r["glued_examples"])
    # the measured tables are really there: cell recall is not vacuous
    assert results()["pdf/2305.03393v1-pg9.pdf"]["cell_recall"] == 1.0
    assert results()["office/xlsx_02_sample_sales_data.xlsm"]["tables"] == 1


def test_measure_on_a_hand_checked_example():
    ref = "# Title\n\nThe quick brown fox.\n\n| A | B |\n| - | - |\n| x | 1 |\n| y z | 2 |\n\n- [Menu](http://a/b)\n"
    doc = Document("d", blocks=[Block("text", "Thequickbrownfoxjumpsoverthelazydog"),
                                Block("table", rows=[["A", "B"], ["x", "1"], ["y", "2"]])])
    r = measure(doc, ref)
    # reference words: title the quick brown fox a b x 1 y z 2 menu = 13; found: a b x 1 y 2 = 6
    assert r["word_recall"] == 6 / 13 and r["content_word_recall"] == 6 / 12
    # reference cells {a, b, x, 1, "y z", 2}: "y z" is not a cell here, the other five are
    assert r["cell_recall"] == 5 / 6
    # tokens: the glued one + the six cells
    assert r["glued_share"] == 1 / 7 and r["glued_examples"] == ["Thequickbrownfoxjumpsoverthelazydog"]


def test_glued_ignores_urls_paths_and_identifiers():
    assert glued(["https://example.org/averyveryverylongpathnamewithoutbreaks", "a_very_long_identifier_name_here",
                  "CamelCaseIdentifierThatIsVeryLongIndeed", "supercalifragilisticexpialidocious"]) == [
        "supercalifragilisticexpialidocious"]
