"""Page images (`GET /v1/jobs/{id}/pages/{n}.png`) and the console's playground, over HTTP
against the real API and worker, then in a real browser."""

from __future__ import annotations

import io
import json
import os
import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.console_browser import browser_page, csrf_of, shot, sign_in_browser, signed_in
from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, Process

SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"},
                                          "total": {"type": "number"}}}
RECEIPTS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "receipts"
DOC_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "console-playground.png"


def extract(client: httpx.Client, data: bytes, name: str, schema: Any = SCHEMA,
            **extra: str) -> dict[str, Any]:
    response = client.post("/v1/extract", data={"schema": json.dumps(schema), **extra},
                           files={"file": (name, data)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


# The page image route.

def test_a_pdf_page_is_drawn_once_then_served_from_the_cache(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        job = extract(client, make_pdf(lines=INVOICE_LINES), "invoice.pdf")
        first = client.get(f"/v1/jobs/{job['job_id']}/pages/1.png")
        second = client.get(f"/v1/jobs/{job['job_id']}/pages/1.png")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/png"
    assert first.headers["x-page-image-cache"] == "miss"
    assert second.headers["x-page-image-cache"] == "hit" and second.content == first.content
    width, height = float(first.headers["x-page-width"]), float(first.headers["x-page-height"])
    assert (width, height) == (595, 842)  # A4, in points: the unit of `fields[].bbox`
    assert second.headers["x-page-width"] == first.headers["x-page-width"]
    assert png_size(first.content) == (1190, 1684)  # drawn at 144 dpi
    from quarry_client import Quarry

    with Quarry(api_key=tenant.api_key, base_url=api.url) as quarry:  # the SDK's call
        picture = quarry.page_image(job["job_id"], 1)
    assert (picture.width, picture.height) == (595, 842) and picture.png == first.content
    box = job["fields"]["invoice_number"]["bbox"]
    assert job["fields"]["invoice_number"]["page"] == 1
    assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height


def test_missing_pages_other_tenants_and_pageless_files_are_404(api: ApiServer,
                                                               worker: Process) -> None:
    owner, other = make_tenant(), make_tenant()
    with api.client(owner.api_key) as client:
        job = extract(client, make_pdf(lines=INVOICE_LINES), "invoice.pdf")
        text_job = client.post("/v1/to-markdown", files={"file": ("notes.txt", b"Plain notes\n")})
        assert text_job.status_code == 200, text_job.text
        for number in (2, 0):
            missing = client.get(f"/v1/jobs/{job['job_id']}/pages/{number}.png")
            assert missing.status_code == 404 and missing.json()["code"] == "page_not_found"
        assert "the file has 1 page" in client.get(f"/v1/jobs/{job['job_id']}/pages/2.png").text
        pageless = client.get(f"/v1/jobs/{text_job.json()['job_id']}/pages/1.png")
        assert pageless.status_code == 404
        assert pageless.json()["code"] == "page_image_unavailable"
        assert "only PDFs and images" in pageless.json()["detail"]
        assert client.get("/v1/jobs/job_nope/pages/1.png").json()["code"] == "not_found"
    with api.client(other.api_key) as client:
        foreign = client.get(f"/v1/jobs/{job['job_id']}/pages/1.png")
        as_job = client.get(f"/v1/jobs/{job['job_id']}")
    assert foreign.status_code == as_job.status_code == 404
    assert foreign.json() == as_job.json()
    assert httpx.get(f"{api.url}/v1/jobs/{job['job_id']}/pages/1.png").status_code == 401


def test_a_purged_file_has_no_pages_even_when_one_was_cached(api: ApiServer, worker: Process) -> None:
    from shared.db.session import transaction
    from shared.retention.service import purge_expired
    from tests.test_retention import age

    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        job = extract(client, make_pdf(lines=INVOICE_LINES), "invoice.pdf")
        assert client.get(f"/v1/jobs/{job['job_id']}/pages/1.png").status_code == 200
        age(job["job_id"], 400)
        with transaction() as session:
            purge_expired(session)
        gone = client.get(f"/v1/jobs/{job['job_id']}/pages/1.png")
    assert gone.status_code == 410
    assert gone.json()["code"] == "file_purged" and "retention" in gone.json()["detail"]


def test_cached_pages_are_swept_with_retentions_orphans(api: ApiServer, worker: Process) -> None:
    """The cache lives beside the file, under `<tenant>/uploads/`: retention's orphan sweep
    deletes it once it is an hour old, and the next request draws the page again."""
    import time

    from shared.db.session import transaction
    from shared.jobs.models import Job, Upload
    from shared.jobs.page_images import page_cache_key
    from shared.retention.service import purge_orphans
    from shared.settings import get_settings
    from shared.storage.factory import get_storage

    if get_settings().storage_backend != "local":
        pytest.skip("ages the cached file on the local storage backend")
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        job = extract(client, make_pdf(lines=INVOICE_LINES), "invoice.pdf")
        assert client.get(f"/v1/jobs/{job['job_id']}/pages/1.png").status_code == 200
        with transaction() as session:
            upload_id = session.get_one(Job, job["job_id"]).upload_id
            file_key = session.get_one(Upload, upload_id).storage_key
        cache_key = page_cache_key(file_key, 1)
        storage = get_storage()
        assert storage.size(cache_key)
        two_hours_ago = time.time() - 7200
        os.utime(Path(get_settings().local_storage_dir) / cache_key, (two_hours_ago,) * 2)
        with transaction() as session:
            purge_orphans(session, limit=10_000)
        assert storage.size(cache_key) is None and storage.size(file_key)  # the file stays
        again = client.get(f"/v1/jobs/{job['job_id']}/pages/1.png")
    assert again.status_code == 200 and again.headers["x-page-image-cache"] == "miss"


def test_the_page_image_route_is_in_the_openapi_document(api: ApiServer) -> None:
    spec = httpx.get(f"{api.url}/openapi.json").json()
    route = spec["paths"]["/v1/jobs/{job_id}/pages/{number}.png"]["get"]
    assert "image/png" in route["responses"]["200"]["content"]
    assert "X-Page-Width" in route["responses"]["200"]["headers"]
    assert "page_image_unavailable" in route["responses"]["404"]["description"]
    assert "file_purged" in route["responses"]["410"]["description"]


@pytest.mark.skipif(not RECEIPTS.is_dir(), reason="the shared receipts corpus is not beside the repo")
def test_a_scanned_values_box_sits_on_the_value_in_the_picture(api: ApiServer,
                                                               worker: Process) -> None:
    """A phone scan read by OCR, declaring 96 dpi (boxes in points: 0.75 of a pixel): the
    field's box, scaled by the picture's size over `X-Page-Width`, frames the value's text
    when that part of the picture is read again."""
    from worker.pipeline.ocr.engine import recognize

    tenant = make_tenant()
    scan = (RECEIPTS / "061.jpg").read_bytes()
    with api.client(tenant.api_key) as client:
        job = extract(client, scan, "061.jpg", schema={"total": "number"}, mode="standard")
        picture = client.get(f"/v1/jobs/{job['job_id']}/pages/1.png")
    assert picture.status_code == 200, picture.text
    field = job["fields"]["total"]
    assert job["result"]["total"] == pytest.approx(129.30)
    width_px, height_px = png_size(picture.content)
    page_width = float(picture.headers["x-page-width"])
    assert page_width == pytest.approx(792 * 72 / 96)
    scale = width_px / page_width
    x0, y0, x1, y1 = (round(v * scale) for v in field["bbox"])
    pad = 4
    with Image.open(io.BytesIO(picture.content)) as image:
        crop = image.convert("L").crop((x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    import numpy as np

    text = " ".join(line.text for line in recognize(np.asarray(crop, dtype=np.uint8)))
    assert "129.30" in text.replace(",", "."), (text, field)


# The playground over HTTP.

def declared_post(api: ApiServer, path: str, length: int, cookie: str) -> bytes:
    """A POST that declares `length` bytes and sends none: refused before any is read."""
    address = urlsplit(api.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nCookie: {cookie}\r\n"
                      "Content-Type: multipart/form-data; boundary=x\r\n"
                      f"Content-Length: {length}\r\n\r\n").encode())
        received = b""
        while b"\r\n\r\n" not in received or not received.endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            received += data
        return received


def playground_post(client: httpx.Client, token: str | None, *, operation: str = "extract",
                    data: bytes | None = None, name: str = "invoice.pdf",
                    schema: str = json.dumps(SCHEMA), htmx: bool = False) -> httpx.Response:
    form = {"operation": operation, "schema": schema, "mode": "standard"}
    if token is not None:
        form["csrf_token"] = token
    headers = {"HX-Request": "true"} if htmx else {}
    file = data if data is not None else make_pdf(lines=INVOICE_LINES)
    return client.post("/console/playground", data=form, files={"file": (name, file)},
                       headers=headers, timeout=120)


def test_playground_extracts_as_the_key_and_shows_values_boxes_and_code(
        api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    with signed_in(api, tenant) as client:
        page = client.get("/console/playground")
        assert page.status_code == 200
        assert 'for="pg-file">Document</label>' in page.text
        assert 'for="pg-schema">Schema</label>' in page.text
        result = playground_post(client, csrf_of(page.text), htmx=True)
        assert result.status_code == 200, result.text
        job_id = re.search(r'/console/jobs/(job_[A-Za-z0-9_-]+)', result.text)
        assert job_id
        image = client.get(f"/console/jobs/{job_id.group(1)}/pages/1.png")
        job_page = client.get(f"/console/jobs/{job_id.group(1)}")
        polled = client.get(f"/console/playground/jobs/{job_id.group(1)}",
                            headers={"HX-Request": "true"})
    html = result.text
    assert 'role="region" aria-label="Result"' in html
    assert "INV-2024-001" in html
    assert re.search(r'data-field="invoice_number"[\s\S]*?class="num confidence">\d+%', html)
    assert re.search(r'<rect class="box" data-field="invoice_number" x="[\d.]+"', html)
    assert 'viewBox="0 0 595.0 842.0"' in html
    # Which engine answered and why, as the job's `route` says (no model here: the local one).
    for page_html in (html, job_page.text):
        assert re.search(r'data-testid="route"[\s\S]*?<code>local</code>[\s\S]*?no model is '
                         r'configured', page_html)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    # The same request, without the key.
    assert "curl -sS http" in html and "-H &#34;X-API-KEY: $QUARRY_API_KEY&#34;" in html
    assert "quarry.extract(&#39;invoice.pdf&#39;" in html
    assert tenant.api_key not in html
    # Charged as the API charges, and a job of the tenant's like any other.
    with api.client(tenant.api_key) as api_client:
        job = api_client.get(f"/v1/jobs/{job_id.group(1)}").json()
        balance = api_client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
    assert job["status"] == "succeeded" and job["result"]["invoice_number"] == "INV-2024-001"
    assert job["cost"]["credits_used"] > 0
    assert balance["credits_balance"] == 100 - job["cost"]["credits_used"]
    # What the page polls while a job runs answers the same result once it is done.
    assert polled.status_code == 200 and "INV-2024-001" in polled.text
    assert "<html" not in polled.text and "hx-trigger" not in polled.text
    # The job's page shows the same page-with-boxes view.
    assert '<rect class="box" data-field="invoice_number"' in job_page.text


def test_playground_needs_its_form_token(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with signed_in(api, tenant) as client:
        refused = playground_post(client, None)
        forged = playground_post(client, "forged")
    assert refused.status_code == forged.status_code == 403
    with api.client(tenant.api_key) as api_client:
        assert api_client.get("/v1/jobs").json()["data"] == []


def test_playground_shows_the_apis_refusals_in_the_form(api: ApiServer, worker: Process) -> None:
    tenant, broke = make_tenant(), make_tenant(credits=0)
    with signed_in(api, tenant) as client:
        token = csrf_of(client.get("/console/playground").text)
        bad_schema = playground_post(client, token, schema="{not json")
        bad_file = playground_post(client, token, data=b"%PDF-1.7 broken", name="x.pdf")
        no_file = client.post("/console/playground", data={"csrf_token": token,
                                                           "operation": "extract"})
    with signed_in(api, broke) as client:
        token = csrf_of(client.get("/console/playground").text)
        no_credits = playground_post(client, token, htmx=True)
    assert bad_schema.status_code == 400 and 'role="alert"' in bad_schema.text
    assert 'id="pg-schema"' in bad_schema.text and "{not json" in bad_schema.text  # kept
    assert bad_file.status_code == 400 and "PDF" in bad_file.text
    assert no_file.status_code == 400 and "Choose a document" in no_file.text
    assert no_credits.status_code == 402 and "Not enough credits" in no_credits.text


def test_playground_markdown_is_rendered_with_html_escaped(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    document = (b"# Quarterly notes\n\nSome **bold** text.\n\n<script>alert('xss')</script>\n\n"
                b"<img src=x onerror=alert(1)>\n\n[click](javascript:alert(2))\n")
    with signed_in(api, tenant) as client:
        token = csrf_of(client.get("/console/playground").text)
        result = playground_post(client, token, operation="markdown", data=document,
                                 name="notes.md", htmx=True)
    assert result.status_code == 200, result.text
    rendered = result.text.split('data-testid="markdown">', 1)[1].split("</div>", 1)[0]
    assert "<h1>Quarterly notes</h1>" in rendered and "<strong>bold</strong>" in rendered
    assert "<script" not in rendered and "<img" not in rendered
    assert 'href="javascript:' not in rendered
    assert "&lt;script&gt;" in result.text
    assert "quarry.to_markdown(&#39;notes.md&#39;" in result.text


def test_playground_uploads_take_the_heavy_bucket_and_its_size_cap(api: ApiServer) -> None:
    from shared.limits.gcra import limit_for

    heavy, general = limit_for("heavy", None).burst, limit_for("general", None).burst
    assert heavy != general
    tenant = make_tenant()
    with signed_in(api, tenant) as client:
        page = client.get("/console/playground")
        token = csrf_of(page.text)
        no_file = client.post("/console/playground", data={"csrf_token": token,
                                                           "operation": "extract"})
        cookie = f"quarry_console={client.cookies['quarry_console']}"
    huge = declared_post(api, "/console/playground", 10 * 1024 ** 3, cookie)
    assert page.headers["x-ratelimit-limit"] == str(general)
    assert no_file.status_code == 400 and no_file.headers["x-ratelimit-limit"] == str(heavy)
    assert huge.startswith(b"HTTP/1.1 413") and b"upload size limit" in huge


def test_an_upload_without_a_session_is_sent_to_sign_in_before_its_body_is_read(
        api: ApiServer) -> None:
    # 4 MiB declared, none sent: the answer must come at once, not after the body deadline.
    for cookie in ("", "quarry_console=not-a-session"):
        answer = declared_post(api, "/console/playground", 4 * 1024 * 1024, cookie)
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert answer.startswith(b"HTTP/1.1 303"), answer[:200]
        assert b"location: /console/sign-in" in head


def test_an_upload_over_the_plan_is_refused_as_a_console_page_not_json(api: ApiServer) -> None:
    tenant, admin = make_tenant(), make_tenant(is_admin=True)
    with api.client(admin.api_key) as client:
        assert client.put(f"/v1/admin/tenants/{tenant.tenant_id}/plan",
                          json={"plan": "free"}).status_code == 200
    big = b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024)
    with signed_in(api, tenant) as client:
        token = csrf_of(client.get("/console/playground").text)
        swapped = playground_post(client, token, data=big, htmx=True)
        plain = playground_post(client, token, data=big)
    for answer in (swapped, plain):
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert "upload size limit of 5 MiB" in answer.text
        assert 'role="alert"' in answer.text
    assert "<html" not in swapped.text  # the alert alone, swapped in where the form was sent
    assert "<html" in plain.text and "Content-Security-Policy" in plain.headers


def test_another_tenants_page_images_are_invisible_from_the_console(api: ApiServer,
                                                                   worker: Process) -> None:
    owner, other = make_tenant(), make_tenant()
    with api.client(owner.api_key) as client:
        job = extract(client, make_pdf(lines=INVOICE_LINES), "invoice.pdf")
    with signed_in(api, other) as client:
        assert client.get(f"/console/jobs/{job['job_id']}/pages/1.png").status_code == 404
    with signed_in(api, owner) as client:
        assert client.get(f"/console/jobs/{job['job_id']}/pages/1.png").status_code == 200


# In a browser.

def test_browser_playground_extract_boxes_and_markdown(api: ApiServer, worker: Process,
                                                      browser: Any) -> None:
    from playwright.sync_api import expect

    tenant = make_tenant()
    pdf = make_pdf(lines=INVOICE_LINES)
    with browser_page(browser, api, height=900) as (page, errors):
        sign_in_browser(page, tenant.api_key)
        page.get_by_role("link", name="Playground").click()
        expect(page.get_by_role("heading", name="Playground")).to_be_visible()
        page.get_by_label("Document", exact=True).set_input_files(
            files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": pdf}])
        page.get_by_label("Schema", exact=True).fill(json.dumps(SCHEMA))
        page.get_by_role("button", name="Extract").click()
        result = page.get_by_role("region", name="Result")
        row = result.locator('tr[data-field="invoice_number"]')
        expect(row).to_contain_text("INV-2024-001", timeout=60_000)
        expect(row.locator(".confidence")).to_have_text(re.compile(r"^\d+%$"))
        image = result.locator("img.page-image").first
        expect(image).to_be_visible()
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth)")
        box = result.locator('rect.box[data-field="invoice_number"]')
        image_box, value_box = image.bounding_box(), box.bounding_box()
        assert image_box and value_box
        assert image_box["x"] <= value_box["x"] and image_box["y"] <= value_box["y"]
        assert value_box["x"] + value_box["width"] <= image_box["x"] + image_box["width"]
        assert value_box["y"] + value_box["height"] <= image_box["y"] + image_box["height"]
        assert value_box["y"] < image_box["y"] + image_box["height"] / 2  # near the top
        expect(box).not_to_have_class(re.compile(r"\bactive\b"))
        row.hover()
        expect(box).to_have_class(re.compile(r"\bactive\b"))
        page.mouse.move(0, 0)
        expect(box).not_to_have_class(re.compile(r"\bactive\b"))
        row.focus()  # the keyboard gets the same highlight
        expect(box).to_have_class(re.compile(r"\bactive\b"))
        expect(page.get_by_test_id("curl")).to_contain_text("$QUARRY_API_KEY")
        shot(page, "playground")
        if os.environ.get("QUARRY_UPDATE_DOC_SCREENSHOTS") == "1":
            row.focus()  # stays highlighted while the region scrolls into view
            result.screenshot(path=str(DOC_SCREENSHOT))
        page.get_by_role("button", name="Markdown").click()
        markdown = result.get_by_test_id("markdown")
        expect(markdown).to_be_visible(timeout=60_000)
        expect(markdown.get_by_text("INV-2024-001")).to_be_visible()
        expect(markdown).not_to_contain_text("<!--")  # page markers are not shown as text
        expect(page.get_by_test_id("sdk")).to_contain_text("quarry.to_markdown(")
        shot(page, "playground-markdown")
        page.get_by_label("Schema", exact=True).fill("{not json")
        page.get_by_role("button", name="Extract").click()
        expect(page.get_by_role("alert")).to_be_visible()
        shot(page, "playground-error")
    assert not [e for e in errors if "Content Security Policy" in e], errors
