"""PDF structure in markdown: headings, columns, right-to-left text, tables without rules, modes."""

from __future__ import annotations

import re

import pymupdf

from tests.factories import make_tenant
from tests.stack import ApiServer, Process
from tests.test_table_html import merged_cells_pdf
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.markdown import render_markdown

HEBREW = "שלום עולם טוב"
ARABIC = "مرحبا بالعالم"


def markdown(data: bytes, *, ocr: str = "auto") -> str:
    request = ConversionRequest(data=data, file_name="f.pdf", content_type=None, ocr=ocr)
    return render_markdown(convert_document(request))


def _pdf(draw: object) -> bytes:
    document = pymupdf.open()
    draw(document.new_page())  # type: ignore[operator]
    data: bytes = document.tobytes()
    return data


def test_headings_by_font_size_are_levelled() -> None:
    def draw(page: pymupdf.Page) -> None:
        page.insert_text((72, 80), "Operating Manual", fontsize=24)
        page.insert_text((72, 130), "Installation", fontsize=16)
        for row in range(4):
            page.insert_text((72, 160 + row * 14), f"Body sentence number {row} of the guide.",
                             fontsize=10)
        page.insert_text((72, 240), "Maintenance", fontsize=16)
        page.insert_text((72, 270), "Clean the filter every month with warm water.", fontsize=10)

    text = markdown(_pdf(draw))
    assert re.search(r"^# Operating Manual$", text, re.M)
    assert re.search(r"^## Installation$", text, re.M) and re.search(r"^## Maintenance$", text, re.M)
    assert "# Body sentence" not in text


def test_two_columns_read_column_by_column() -> None:
    left = [f"Left column sentence {n} continues here." for n in range(8)]
    right = [f"Right column sentence {n} continues here." for n in range(8)]

    def draw(page: pymupdf.Page) -> None:
        for n in range(8):  # the stream interleaves the columns, row by row
            page.insert_text((50, 100 + n * 14), left[n], fontsize=10)
            page.insert_text((320, 100 + n * 14), right[n], fontsize=10)

    text = markdown(_pdf(draw))
    positions = [text.index(sentence) for sentence in left + right]
    assert positions == sorted(positions)


def test_rtl_lines_in_logical_order_whatever_the_stream_order() -> None:
    logical = _pdf(lambda page: _html(page, HEBREW, ARABIC))
    for ocr in ("auto", "never"):
        # The font's shaped lam has no Unicode mapping, so Arabic is checked by its word order.
        assert HEBREW in markdown(logical, ocr=ocr) and "مرحبا با" in markdown(logical, ocr=ocr)
    visual = _visual_order_pdf(logical, HEBREW)
    assert HEBREW in markdown(visual) and HEBREW in markdown(visual, ocr="never")


def test_table_without_ruling_lines_becomes_a_table() -> None:
    rows = [("Region", "Units", "Revenue"), ("North", "120", "4,300"), ("South", "95", "3,100"),
            ("East", "143", "5,020"), ("West", "77", "2,480")]

    def draw(page: pymupdf.Page) -> None:
        page.insert_text((72, 80), "Quarterly Results", fontsize=20)
        for index, row in enumerate(rows):
            for x, cell in zip((72, 220, 360), row, strict=True):
                page.insert_text((x, 120 + index * 18), cell, fontsize=11)
        page.insert_text((72, 240), "The numbers above are in thousands of units.", fontsize=11)

    text = markdown(_pdf(draw))
    assert "| Region | Units | Revenue |" in text
    assert "| South | 95 | 3,100 |" in text
    assert text.index("Quarterly Results") < text.index("| Region") < text.index("thousands")


def test_list_markers_drawn_apart_from_their_text_make_items() -> None:
    """Word processors set a bullet or number on its own, a tab stop before the item's text."""
    def draw(page: pymupdf.Page) -> None:
        page.insert_text((72, 80), "Packing List", fontsize=18)
        page.insert_text((72, 110), "Bring these on the trip:", fontsize=11)
        for n, item in enumerate(["Warm socks for the evenings", "A water bottle"]):
            page.insert_text((90, 135 + n * 16), "•", fontsize=11)
            page.insert_text((108, 135 + n * 16), item, fontsize=11)
        for n, item in enumerate(["Check the weather", "Lock the door"]):
            page.insert_text((90, 200 + n * 16), f"{n + 1}.", fontsize=11)
            page.insert_text((108, 200 + n * 16), item, fontsize=11)
        page.insert_text((72, 250), "Have a good trip.", fontsize=11)

    for ocr in ("auto", "never"):
        text = markdown(_pdf(draw), ocr=ocr)
        assert re.search(r"^- Warm socks for the evenings$", text, re.M), text
        assert re.search(r"^- A water bottle$", text, re.M), text
        assert re.search(r"^1\. Check the weather$", text, re.M), text
        assert re.search(r"^2\. Lock the door$", text, re.M), text
        assert "·" not in text and "•" not in text


def test_ruled_table_with_merged_cells_repeats_them_in_markdown() -> None:
    text = markdown(merged_cells_pdf())
    assert "| Item | First | Second |" in text
    assert "| Apples | Sold out | Sold out |" in text
    assert "| Pears | 15 | 16 |" in text
    assert text.index("last delivery") < text.index("| Item") < text.index("Tuesdays")


def test_fast_mode_returns_the_text_layer(api: ApiServer, worker: Process) -> None:
    def draw(page: pymupdf.Page) -> None:
        page.insert_text((72, 80), "Fast Mode Title", fontsize=20)
        page.insert_text((72, 120), "Plain words straight from the text layer.", fontsize=11)

    with api.client(make_tenant().api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("f.pdf", _pdf(draw))},
                               data={"conversion_mode": "fast"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Plain words straight from the text layer." in body["markdown"]
    assert "# Fast Mode Title" in body["markdown"]
    assert body["meta"]["conversion_mode"] == "fast"


def _html(page: pymupdf.Page, *lines: str) -> None:
    for index, line in enumerate(lines):
        top = 72 + index * 60
        page.insert_htmlbox(pymupdf.Rect(72, top, 500, top + 50),
                            f'<p dir="rtl" style="font-size:14px">{line}</p>')


def _visual_order_pdf(source: bytes, line: str) -> bytes:
    """`line` written left to right in visual order, as some producers do, with the same font."""
    original = pymupdf.open(stream=source, filetype="pdf")
    font = next(original.extract_font(xref[0]) for xref in original[0].get_fonts()
                if "Hebrew" in xref[3])
    document = pymupdf.open()
    page = document.new_page()
    page.insert_font(fontname="hebrew", fontbuffer=font[-1])
    page.insert_text((72, 100), line[::-1], fontname="hebrew", fontsize=14)
    data: bytes = document.tobytes()
    return data
