"""OCR: image-only PDFs and photo-like pictures come back as readable markdown with their words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from tests.factories import make_tenant
from tests.fixtures.documents import make
from tests.stack import ApiServer, Process
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


# --- Through the running API and worker -------------------------------------------------------

RECEIPTS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "receipts"


def _markdown(api: ApiServer, name: str, data: bytes) -> str:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": (name, data)},
                               data={"wait": "240"}, timeout=300)
    assert response.status_code == 200, response.text
    return " ".join(str(response.json()["markdown"]).split())


@pytest.mark.skipif(not RECEIPTS.is_dir(), reason="the shared receipts corpus is not beside the repo")
def test_real_receipt_turned_any_quarter_reads_upright(api: ApiServer, worker: Process) -> None:
    photo = Image.open(RECEIPTS / "060.jpg")
    label = json.loads((RECEIPTS / "060.json").read_text())
    upright = _markdown(api, "receipt.jpg", make.image_bytes(photo, "JPEG", quality=92))
    for turn in (90, 180, 270):
        turned = make.image_bytes(photo.rotate(turn, expand=True), "JPEG", quality=92)
        text = _markdown(api, f"receipt-{turn}.jpg", turned)
        assert label["company"] in text, (turn, text[:300])  # read the right way up
        assert label["total"] in text
        # Mostly the same words as the upright photo (a sideways reading shares almost none;
        # JPEG re-encoding and table cells shift a few).
        words, expected = set(text.split()), set(upright.split())
        assert len(words & expected) >= 0.8 * len(expected), turn


def test_scanned_ruled_table_comes_back_as_a_table(api: ApiServer, worker: Process) -> None:
    with pymupdf.open(stream=make.structured_pdf(), filetype="pdf") as pdf:
        scan = pdf[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY).tobytes("png")
    text = _markdown(api, "scanned-table.png", scan)
    assert "| Region | Sales |" in text and "| North | 100 |" in text and "| South | 250 |" in text
    assert "# Annual Summary" in text  # headings by type size, as on text pages


def test_ocr_never_reaches_the_network() -> None:
    # A fresh process with every connection refused: the engine, the orientation classifier
    # and the layout model load from the installed wheels, or the conversion fails.
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs): raise OSError('network used at run time')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from tests.fixtures.documents import make\n"
        "from worker.pipeline.convert import ConversionRequest, convert_document\n"
        "picture = make.image_bytes(make.rendered_text(['Offline reading works']).rotate(90, "
        "expand=True), 'PNG')\n"
        "document = convert_document(ConversionRequest(picture, 'scan.png', None, ocr_lang='fr'))\n"
        "print(' '.join(word.text for word in document.words))\n"
    )
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead,
           "https_proxy": dead, "NO_PROXY": "", "HOME": tempfile.mkdtemp()}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Offline reading works" in done.stdout
    assert "download" not in done.stderr.lower()
