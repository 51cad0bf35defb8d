"""`table_format=html`: tables with merged cells as HTML with rowspan/colspan; markdown otherwise."""

from __future__ import annotations

import pymupdf

from tests.factories import make_tenant
from tests.stack import ApiServer, Process
from worker.pipeline.convert.tables_html import GridCell, filled_rows, html_if_merged, html_table

COLUMNS = (72, 200, 330, 460)
ROWS = (120, 145, 170, 195, 220)
CELLS = {(0, 0): "Item", (0, 1): "First", (0, 2): "Second", (1, 0): "Apples", (1, 1): "Sold out",
         (2, 0): "Pears", (2, 1): "12", (2, 2): "14", (3, 1): "15", (3, 2): "16"}


def merged_cells_pdf() -> bytes:
    """A ruled table: "Sold out" spans two columns, "Pears" two rows (no rule between)."""
    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((72, 80), "Fruit Stock", fontsize=20)
    page.insert_text((72, 105), "Counts by quarter, as of the last delivery.", fontsize=11)
    for y in (120, 145, 170, 220):
        page.draw_line((72, y), (460, y))
    page.draw_line((200, 195), (460, 195))
    for x in (72, 200, 460):
        page.draw_line((x, 120), (x, 220))
    page.draw_line((330, 120), (330, 145))
    page.draw_line((330, 170), (330, 220))
    for (row, col), text in CELLS.items():
        page.insert_text((COLUMNS[col] + 6, ROWS[row] + 17), text, fontsize=11)
    page.insert_text((72, 250), "Pears arrive on Tuesdays.", fontsize=11)
    data: bytes = document.tobytes()
    return data


def to_markdown(api: ApiServer, data: bytes, **form: str) -> tuple[int, dict[str, object]]:
    with api.client(make_tenant().api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("stock.pdf", data)}, data=form)
    return response.status_code, response.json()


def test_merged_cells_become_html_spans_only_when_asked(api: ApiServer, worker: Process) -> None:
    data = merged_cells_pdf()
    status, body = to_markdown(api, data, table_format="html")
    assert status == 200, body
    html = str(body["markdown"])
    assert '<td colspan="2">Sold out</td>' in html
    assert '<td rowspan="2">Pears</td>' in html
    assert "<tr><td>15</td><td>16</td></tr>" in html  # the row under a rowspan has two cells
    assert "| Apples" not in html
    assert html.index("last delivery") < html.index("<table>") < html.index("Tuesdays")

    status, body = to_markdown(api, data)
    assert status == 200, body
    text = str(body["markdown"])
    assert "<table>" not in text and "colspan" not in text
    # A pipe table cannot merge: the merged text stands in every slot it covers.
    assert "| Apples | Sold out | Sold out |" in text
    assert "| Pears | 12 | 14 |" in text and "| Pears | 15 | 16 |" in text


def test_unknown_table_format_is_refused(api: ApiServer) -> None:
    status, body = to_markdown(api, merged_cells_pdf(), table_format="latex")
    assert status == 400, body
    assert "table_format" in str(body)


def test_table_without_merged_cells_stays_markdown() -> None:
    cells = [GridCell("a", 0, 0), GridCell("b", 0, 1), GridCell("1", 1, 0), GridCell("2", 1, 1)]
    assert html_if_merged(cells, "html") is None
    assert filled_rows(cells) == [["a", "b"], ["1", "2"]]


def test_cell_text_is_escaped_and_its_lines_kept() -> None:
    cells = [GridCell("R&D <east>", 0, 0, colspan=2, header=True),
             GridCell("line one\nline two", 1, 0), GridCell("x", 1, 1)]
    assert html_table(cells) == ('<table>\n<tr><th colspan="2">R&amp;D &lt;east&gt;</th></tr>\n'
                                 "<tr><td>line one<br>line two</td><td>x</td></tr>\n</table>")
