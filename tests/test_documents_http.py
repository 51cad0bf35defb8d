"""Documents through the running API and worker: every refusal is its documented 4xx, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import make_tenant
from tests.fixtures.documents import make
from tests.stack import ApiServer, Process

SIGNATURE = "Invalid {} file signature. The file may be corrupted or renamed."
CORRUPTED = "Corrupted or invalid PDF file structure."
PASSWORD = "Password protected PDFs are not supported."
PNG = make.image_bytes(make.rendered_text(["Hello"]), "PNG")

REFUSALS = [
    ("png-named-pdf", PNG, "invoice.pdf", None, 400, SIGNATURE.format("PDF")),
    ("pdf-named-docx", make.text_pdf(), "report.docx", None, 400, SIGNATURE.format("DOCX")),
    ("pdf-declared-png", make.text_pdf(), "scan", "image/png", 400, SIGNATURE.format("PNG")),
    ("truncated-pdf", make.text_pdf()[:400], "cut.pdf", "application/pdf", 400, CORRUPTED),
    ("garbage-pdf", b"%PDF-1.4\n" + b"\x13garbage" * 300, "junk.pdf", None, 400, CORRUPTED),
    ("user-password", make.encrypted_pdf(user_password="u"), "locked.pdf", None, 400, PASSWORD),
    ("owner-password", make.encrypted_pdf(user_password=None), "drm.pdf", None, 400, PASSWORD),
    ("pixel-bomb", make.png_bomb(), "bomb.png", "image/png", 413, None),
    ("zip-bomb", make.zip_bomb_docx(), "bomb.docx", None, 413, None),
    ("too-many-pages", make.text_pdf(["x"], pages=2001), "long.pdf", None, 413, None),
    ("unsupported", b"\x7fELF\x02\x01\x01" + bytes(300), "tool.bin", None, 400, None),
]


@pytest.mark.parametrize(("case", "data", "name", "content_type", "status", "detail"), REFUSALS,
                         ids=[case[0] for case in REFUSALS])
def test_refusals_on_upload(api: ApiServer, case: str, data: bytes, name: str,
                            content_type: str | None, status: int, detail: str | None) -> None:
    tenant = make_tenant()
    file = (name, data, content_type) if content_type else (name, data)
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": file})
        balance = client.get("/v1/me").json()["credits_balance"]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"detail", "code"}
    if detail:
        assert body["detail"] == detail
    if case == "unsupported":
        assert body["code"] == "unsupported_file_type" and "DOCX" in body["detail"]
    assert balance == 1000  # nothing was queued, nothing charged


@pytest.mark.parametrize(("data", "name", "status", "detail"), [
    (PNG, "invoice.pdf", 400, SIGNATURE.format("PDF")),
    (make.encrypted_pdf(user_password=None), "drm.pdf", 400, PASSWORD),
    (make.zip_bomb_docx(), "bomb.docx", 413, None),
], ids=["spoofed", "owner-password", "zip-bomb"])
def test_worker_rechecks_presigned_uploads(api: ApiServer, worker: Process, data: bytes, name: str,
                                           status: int, detail: str | None) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        target = client.post("/v1/uploads/presign", json={"file_name": name}).json()
        put = httpx.put(target["upload_url"], content=data, headers=target["headers"])
        assert put.status_code == 200, put.text
        response = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": target["file_uri"]})
    assert response.status_code == status, response.text
    if detail:
        assert response.json()["detail"] == detail


@pytest.mark.parametrize(("data", "name", "words"), [
    (make.docx_bytes(), "plan.docx", ["# Project Plan", "| Milestone | Date |"]),
    (make.xlsx_bytes(), "book.xlsx", ["| Product | Units | Price |"]),
    (make.eml_bytes(), "mail.eml", ["Quarterly numbers", "Balance: 9,999.00"]),
    (make.HTML_TEXT.encode(), "status.html", ["# Service Status"]),
], ids=["docx", "xlsx", "eml", "html"])
def test_formats_convert_through_http(api: ApiServer, worker: Process, data: bytes, name: str,
                                      words: list[str]) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": (name, data)})
    assert response.status_code == 200, response.text
    body = response.json()
    for word in words:
        assert word in body["markdown"]
    assert body["plain_text"] and body["meta"]["ocr_pages"] == 0


def test_scanned_pdf_through_http_reports_ocr_meta(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    lines = ["Invoice Number: INV-2024-001", "Total Due: $1,250.00"]
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("scan.pdf", make.scanned_pdf(lines))})
        fast = client.post("/v1/to-markdown", files={"file": ("scan.pdf", make.scanned_pdf(lines))},
                           data={"conversion_mode": "fast"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "INV-2024-001" in body["markdown"]
    meta = body["meta"]
    assert meta["pages"] == 1 and meta["ocr_pages"] == 1 and meta["conversion_mode"] == "default"
    assert meta["engine"] == "pymupdf+rapidocr" and meta["duration_ms"] > 0
    assert fast.status_code == 200 and fast.json()["meta"]["ocr_pages"] == 0
