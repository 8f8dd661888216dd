"""Office readers on docling's test files (../shared/realdocs/docs/office, MIT) and on files written
with the same libraries in the test (layouts named where they come from)."""

from __future__ import annotations

from pathlib import Path

from mmreason.synth.ingest import read_document

DOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "docs"


def office(name: str):
    return read_document(DOCS / "office" / name, DOCS)


def test_docx_equations_become_latex():
    doc = office("table_with_equations.docx")
    assert doc.issues == []
    assert doc.of_type("table")[0].rows == [
        ["The next cell has an equation", r"$A=\pi r^{2}$"],
        ["The next cell has another equation", r"$x=\frac{-b\pm \sqrt{b^{2}-4ac}}{2a}$"]]


def test_docx_rich_cells_merged_nested_and_images():
    doc = office("docx_rich_cells.docx")
    heads = [b.text for b in doc.blocks if b.heading_level]
    assert "Table with rich cells" in heads and "Table with nested table" in heads
    t = doc.of_type("table")[0]
    assert t.rows[0] == ["Column A", "Column B"]
    assert "x^2 and H_2O" in t.rows[2][1]  # superscript / subscript runs
    nested = doc.of_type("table")[1]
    assert "A nested table" in nested.rows[2][1] and "Cell 3" in nested.rows[2][1]
    imgs = doc.of_type("image")
    assert imgs and all(b.image_status == "embedded" and b.image_bytes and b.image_size[0] > 0 for b in imgs)


def test_xlsx_title_row_is_the_caption_not_the_header():
    doc = office("xlsx_05_table_with_title.xlsx")
    t = doc.of_type("table")[0]
    assert t.caption == "Number of freshwater ducks per year"
    assert t.rows[0] == ["Year", "Freshwater Ducks"] and t.rows[1] == ["2019", "120"] and len(t.rows) == 7
    assert doc.blocks[0].heading_level == 1 and doc.blocks[0].text == "Duck Observations"  # the sheet


def test_xlsm_values_as_displayed():
    t = office("xlsx_02_sample_sales_data.xlsm").of_type("table")[0]
    assert t.rows[0] == ["Product", "Date", "Quantity", "Revenue"]
    assert t.rows[1] == ["Widget A", "2024-01-01 00:00:00", "5", "5000"]  # the cell format shows the time


def test_pptx_tables_with_merged_header_and_chart_data():
    doc = office("powerpoint_sample.pptx")
    t = doc.of_type("table")[0]
    assert t.rows[0] == ["", "Class1", "Class1", "Class1", "Class2", "Class2", "Class2"]
    assert t.rows[1][:3] == ["", "A merged with B", "A merged with B"] and t.page == 0
    assert "A rectangle shape with this text inside." in [b.text for b in doc.blocks]
    chart = office("pptx_chart.pptx")
    c1, c2 = chart.of_type("table")
    assert c1.caption == "Wild Duck Observations by Year"
    assert c1.rows == [["", "Freshwater Ducks", "Saltwater Ducks"], ["2019", "120", "80"], ["2020", "130", "95"],
                       ["2021", "150", "110"], ["2022", "175", "130"]]
    assert c2.rows[0] == ["", "2026"] and c2.page == 1  # a 3-D bar chart python-pptx's plot API refuses


def test_office_files_written_here(tmp_path):
    import docx
    import openpyxl

    d = docx.Document()
    d.core_properties.title = "Report"
    d.add_heading("Results", level=1)
    d.add_paragraph("Table 1: Scores.")
    tbl = d.add_table(rows=3, cols=3)
    for i, row in enumerate([["Model", "Dev", "Test"], ["A", "1.5", "2.5"], ["B", "3", "4"]]):
        for j, v in enumerate(row):
            tbl.cell(i, j).text = v
    tbl.cell(1, 0).merge(tbl.cell(2, 0))  # a vertical merge, as Word writes it (vMerge)
    d.save(tmp_path / "r.docx")
    doc = read_document(tmp_path / "r.docx", tmp_path)
    t = doc.of_type("table")[0]
    assert doc.meta["title"] == "Report" and doc.title == "Report"
    assert t.label == "Table 1" and t.caption == "Table 1: Scores." and t.section == "Results"
    assert [r[0] for r in t.rows] == ["Model", "A B", "A B"]

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = "Quarterly sales"
    ws.append([])
    for row in [["Region", "Q1", "Q2"], ["North", 10.0, 12.5], ["South", 7, 9]]:
        ws.append(row)
    ws.merge_cells("A7:C7")
    ws["A7"] = "note: provisional"
    ws["F3"], ws["G3"], ws["F4"], ws["G4"] = "k", "v", "x", 1  # a second table beside the first
    wb.save(tmp_path / "s.xlsx")
    doc = read_document(tmp_path / "s.xlsx", tmp_path)
    t1, t2 = doc.of_type("table")
    assert t1.caption == "Quarterly sales" and t1.rows == [["Region", "Q1", "Q2"], ["North", "10", "12.5"], ["South", "7", "9"]]
    assert t2.rows == [["k", "v"], ["x", "1"]]
    assert "note: provisional" in [b.text for b in doc.blocks]
