"""Value boxes on turned pages, over HTTP against the real API and worker: a field's
`bbox`, scaled by the page image's size over `X-Page-Width`, frames the value's text in
that picture, for PDFs with `/Rotate` (text layer and scans) and for scans OCR turned."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pymupdf
import pytest
from PIL import Image

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.fixtures.documents.make import image_bytes, photo_like, rendered_text, scanned_pdf
from tests.stack import ApiServer, Process

TOTAL = {"type": "object", "properties": {"total": {"type": "number"}}}


def extract(client: httpx.Client, data: bytes, name: str) -> dict[str, Any]:
    response = client.post("/v1/extract", data={"schema": json.dumps(TOTAL), "mode": "standard"},
                           files={"file": (name, data)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def with_rotate(pdf: bytes, degrees: int) -> bytes:
    """The same PDF, its page carrying `/Rotate`: viewers (and the page image) show it turned."""
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        document[0].set_rotation(degrees)
        data: bytes = document.tobytes()
    return data


def text_in_box(picture: httpx.Response, bbox: list[float], upright: float) -> str:
    """OCR of the picture cut at `bbox` (page units), turned `upright` degrees
    counter-clockwise so the text runs left to right."""
    from worker.pipeline.ocr.engine import recognize

    with Image.open(io.BytesIO(picture.content)) as image:
        scale = image.width / float(picture.headers["x-page-width"])
        x0, y0, x1, y1 = (round(v * scale) for v in bbox)
        pad = 4
        crop = image.convert("L").crop((x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    crop = crop.rotate(upright, expand=True, fillcolor=255)
    return " ".join(line.text for line in recognize(np.asarray(crop, dtype=np.uint8)))


def job_and_page(client: httpx.Client, data: bytes, name: str) -> tuple[dict[str, Any], httpx.Response]:
    job = extract(client, data, name)
    picture = client.get(f"/v1/jobs/{job['job_id']}/pages/1.png")
    assert picture.status_code == 200, picture.text
    return job, picture


def assert_inside(box: list[float], picture: httpx.Response) -> None:
    width, height = float(picture.headers["x-page-width"]), float(picture.headers["x-page-height"])
    assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height, (box, width, height)


@pytest.mark.parametrize("rotate", [90, 270])
def test_a_rotated_pdfs_total_box_frames_the_total_in_its_page_image(
        api: ApiServer, worker: Process, rotate: int) -> None:
    """MuPDF reads a `/Rotate` page's words unrotated; the box a client gets is on the page
    as drawn (842 × 595 points for a turned A4), where the total is."""
    data = with_rotate(make_pdf(lines=INVOICE_LINES), rotate)
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        job, picture = job_and_page(client, data, "turned.pdf")
        markdown = client.post("/v1/to-markdown", files={"file": ("turned.pdf", data)})
    assert job["result"]["total"] == pytest.approx(1250.0)
    assert (float(picture.headers["x-page-width"]), float(picture.headers["x-page-height"])) == (842, 595)
    page = markdown.json()["pages"][0]
    assert (page["width"], page["height"]) == (842.0, 595.0)  # the page's size as drawn
    box = job["fields"]["total"]["bbox"]
    assert_inside(box, picture)
    assert box[3] - box[1] > box[2] - box[0]  # a line of text shown sideways is tall
    text = text_in_box(picture, box, rotate)
    assert "1,250.00" in text, (text, box)


def quarter_turned_png() -> bytes:
    return image_bytes(rendered_text(INVOICE_LINES).rotate(90, expand=True, fillcolor=255), "PNG")


@pytest.mark.parametrize(("name", "make", "turned"), [
    ("turned.png", quarter_turned_png, 90.0),
    ("photo.jpg", lambda: photo_like(INVOICE_LINES, turn=90, skew=6), 96.0),
], ids=["quarter-turn", "photo-leaning"])
def test_a_turned_scans_total_box_frames_the_total_in_the_picture_as_stored(
        api: ApiServer, worker: Process, name: str, make: Callable[[], bytes],
        turned: float) -> None:
    """A scan stored a quarter turn off upright (and a photo leaning 6° more): OCR reads it
    turned upright (and deskewed), the box is turned back onto the picture as stored, which
    is what the page image draws (for a lean, the box around the turned rectangle)."""
    data = make()
    with Image.open(io.BytesIO(data)) as stored:
        stored_width = stored.width
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        job, picture = job_and_page(client, data, name)
    assert job["result"]["total"] == pytest.approx(1250.0)
    assert float(picture.headers["x-page-width"]) == stored_width  # 72 dpi: a pixel a point
    box = job["fields"]["total"]["bbox"]
    assert_inside(box, picture)
    text = text_in_box(picture, box, -turned)
    assert "1,250" in text, (text, box)


def test_a_scanned_pdf_page_with_rotate_gets_its_box_on_the_page_as_drawn(
        api: ApiServer, worker: Process) -> None:
    """A scan with `/Rotate 90`: OCR reads the page drawn turned, then turns it upright; the
    box goes back onto the drawn page."""
    data = with_rotate(scanned_pdf(INVOICE_LINES), 90)
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        job, picture = job_and_page(client, data, "scan.pdf")
    assert job["result"]["total"] == pytest.approx(1250.0)
    box = job["fields"]["total"]["bbox"]
    assert_inside(box, picture)
    text = text_in_box(picture, box, 90)
    assert "1,250" in text, (text, box)
