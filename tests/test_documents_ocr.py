"""OCR: image-only PDFs and photo-like pictures come back as readable markdown with their words."""

from __future__ import annotations

from tests.fixtures.documents import make
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.document import Document
from worker.pipeline.markdown import render_markdown

LINES = ["Invoice Number: INV-2024-001", "Total Due: $1,250.00",
         "The quick brown fox jumps over the lazy dog."]


def convert(data: bytes, name: str, ocr: str = "auto") -> Document:
    return convert_document(ConversionRequest(data=data, file_name=name, content_type=None, ocr=ocr))


def _read_back(document: Document) -> str:
    return " ".join(render_markdown(document).split())


def test_scanned_pdf_is_read_by_ocr_with_boxes_and_confidences() -> None:
    from shared.metrics import OCR_SECONDS

    ocr_time_before = OCR_SECONDS.labels("rapidocr")._value.get()
    document = convert(make.scanned_pdf(LINES), "scan.pdf")
    assert document.ocr_pages == 1 and document.pages[0].source == "ocr"
    assert OCR_SECONDS.labels("rapidocr")._value.get() > ocr_time_before  # operators see OCR time
    text = _read_back(document)
    assert "INV-2024-001" in text and "$1,250.00" in text and "lazy dog" in text
    page = document.pages[0]
    for word in document.words:
        assert 0.5 <= word.confidence <= 1.0
        x0, y0, x1, y1 = word.bbox
        assert 0 <= x0 < x1 <= page.width + 1 and 0 <= y0 < y1 <= page.height + 1
    invoice = next(w for w in document.words if w.text == "INV-2024-001")
    assert 30 < invoice.bbox[0] < 250 and 25 < invoice.bbox[1] < 60  # where it was printed (points)


def test_fast_mode_leaves_a_scanned_pdf_unread() -> None:
    document = convert(make.scanned_pdf(LINES), "scan.pdf", ocr="never")
    assert document.ocr_pages == 0 and not document.words


def test_robust_mode_reads_text_pages_too() -> None:
    document = convert(make.text_pdf(["Robust reading of page one"]), "t.pdf", ocr="always")
    assert document.ocr_pages == 1 and "Robust" in {w.text for w in document.words}


def test_turned_leaning_noisy_photo_reads_upright() -> None:
    document = convert(make.photo_like(LINES, turn=90, skew=4.0), "photo.jpg")
    page = document.pages[0]
    assert page.source == "ocr" and round(page.rotation) % 90 != 0  # a quarter turn plus deskew
    text = _read_back(document)
    assert "INV-2024-001" in text and "1,250.00" in text and "quick brown fox" in text
    assert text.index("INV-2024-001") < text.index("quick brown fox")  # reading order restored


def test_upside_down_scan_reads_upright() -> None:
    picture = make.rendered_text(LINES).rotate(180, expand=True)
    document = convert(make.image_bytes(picture, "PNG"), "flipped.png")
    text = _read_back(document)
    assert "INV-2024-001" in text and text.index("INV-2024-001") < text.index("lazy dog")
