"""Every supported format converts into the document model with its words, and into markdown."""

from __future__ import annotations

import pytest

from tests.fixtures.documents import make
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.document import Document
from worker.pipeline.markdown import render_markdown


def convert(data: bytes, name: str, *, ocr: str = "auto") -> Document:
    return convert_document(ConversionRequest(data=data, file_name=name, content_type=None, ocr=ocr))


def words(document: Document) -> set[str]:
    return {word.text for word in document.words}


def test_text_pdf_words_have_boxes_inside_the_page() -> None:
    document = convert(make.text_pdf(pages=2), "r.pdf")
    assert len(document.pages) == 2 and document.ocr_pages == 0
    assert {"INV-2024-001", "$1,250.00"} <= words(document)
    page = document.pages[0]
    for line in page.lines():
        for word in line.words:
            x0, y0, x1, y1 = word.bbox
            assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height


def test_pdf_headings_lists_and_tables_become_markdown() -> None:
    document = convert(make.structured_pdf(), "s.pdf")
    markdown = render_markdown(document)
    assert "# Annual Summary" in markdown
    assert "- First point\n- Second point" in markdown
    assert "| Region | Sales |" in markdown and "| South | 250 |" in markdown
    assert markdown.startswith("<!-- page 1 -->")
    assert "Region" in words(document)  # table cells keep their words for extraction


def test_running_headers_and_footers_are_dropped_from_markdown_only() -> None:
    import pymupdf

    pdf = pymupdf.open()
    for number in range(1, 5):
        page = pdf.new_page()
        page.insert_text((72, 30), "ACME Confidential", fontsize=9)
        page.insert_text((72, 300), f"Body text of page {number}.", fontsize=11)
        page.insert_text((280, 820), f"Page {number} of 4", fontsize=9)
    document = convert(pdf.tobytes(), "h.pdf")
    markdown = render_markdown(document)
    assert "ACME Confidential" not in markdown and "of 4" not in markdown
    assert "Body text of page 3." in markdown
    assert "ACME" in document.plain_text
    assert [part.split("\n", 1)[0] for part in markdown.split("<!-- page ")[1:]] == \
        ["1 -->", "2 -->", "3 -->", "4 -->"]


@pytest.mark.parametrize(("data", "name", "expected", "markdown_bits"), [
    (make.docx_bytes(), "plan.docx", {"Project", "milestones", "Security", "2024-06-15"},
     ["# Project Plan", "- Design review", "| Milestone | Date |"]),
    (make.xlsx_bytes(), "book.xlsx", {"Widget", "3.5", "Alice"},
     ["## Sales", "| Product | Units | Price |", "| Gadget | 4 | 10 |"]),
    (make.pptx_bytes(), "deck.pptx", {"Roadmap", "Europe", "Engineering"},
     ["# Roadmap Overview", "Ship the mobile app", "| Team | Cost |"]),
    (make.CSV_TEXT.encode(), "t.csv", {"Alice", "Berlin", "20"}, ["| name | city | amount |"]),
    (make.HTML_TEXT.encode(), "s.html", {"Status", "operational.", "eu-west"},
     ["# Service Status", "- API healthy", "| Region | Latency |"]),
    (make.MARKDOWN_TEXT.encode(), "n.md", {"Release", "exports.", "42"},
     ["# Release Notes", "- Dark mode", "| build | 42 |"]),
    (make.PLAIN_TEXT.encode(), "n.txt", {"Meeting", "hiring"}, ["Attendees discussed"]),
])
def test_every_format_converts_with_its_words(data: bytes, name: str, expected: set[str],
                                              markdown_bits: list[str]) -> None:
    document = convert(data, name)
    assert expected <= words(document)
    markdown = render_markdown(document)
    for bit in markdown_bits:
        assert bit in markdown, markdown
    assert "alert(1)" not in markdown


def test_xlsx_and_pptx_pages_are_sheets_and_slides() -> None:
    assert [page.label for page in convert(make.xlsx_bytes(), "b.xlsx").pages] == ["Sales", "Notes"]
    assert len(convert(make.pptx_bytes(), "d.pptx").pages) == 2


def test_email_headers_body_and_attachments_in_turn() -> None:
    document = convert(make.eml_bytes(), "m.eml")
    assert {"Quarterly", "<alice@example.com>", "attached."} <= words(document)
    labels = [page.label for page in document.pages]
    assert labels == ["message", "attachment: figures.csv", "attachment: statement.pdf"]
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert "9,999.00" in words(document)
    markdown = render_markdown(document)
    assert "# Quarterly numbers" in markdown and "| name | city | amount |" in markdown


def test_fast_mode_image_has_no_words_and_no_ocr() -> None:
    png = make.image_bytes(make.rendered_text(["Hello world"]), "PNG")
    document = convert(png, "p.png", ocr="never")
    assert len(document.pages) == 1 and document.ocr_pages == 0 and not document.words
