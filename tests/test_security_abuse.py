"""Abuse found by an attacker's pass (issue 12): free work through cancel and training,
500s on dates and multipart limits, HTML nesting bombs, an unbounded request id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pymupdf
import pytest
from sqlalchemy import select

from shared.billing.models import LedgerEntry
from shared.db.session import transaction
from tests.factories import make_pdf, make_tenant
from tests.fixtures.documents.make import image_bytes, rendered_text
from tests.stack import ApiServer, Process, redis_database, start_api, start_worker

FINISHED = ("succeeded", "partial", "failed", "canceled")


def scanned_pdf(pages: int) -> bytes:
    """Image-only pages (OCR reads every one); one image shared by all, so the file is small."""
    lines = [f"Invoice Number: INV-{i:04d}   Total due: {i * 13}.00 EUR" for i in range(14)]
    picture = image_bytes(rendered_text(lines), "PNG")
    document = pymupdf.open()
    xref = 0
    for _ in range(pages):
        page = document.new_page(width=500, height=80 + 28 * len(lines))
        xref = page.insert_image(page.rect, stream=picture) if not xref else \
            page.insert_image(page.rect, xref=xref)
    data: bytes = document.tobytes()
    document.close()
    return data


def charges(job_id: str) -> list[LedgerEntry]:
    with transaction() as session:
        return list(session.scalars(select(LedgerEntry).where(
            LedgerEntry.job_id == job_id, LedgerEntry.kind == "charge")))


def poll(client: httpx.Client, url: str, until: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(url).json()
        if until(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} never got there: {body}")


@pytest.fixture(scope="module")
def one_worker(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API and a single-slot worker of their own: a busy worker shows as a waiting job."""
    env = {**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 11)}
    api, worker = start_api(env, log_dir), start_worker(env, log_dir, concurrency=1)
    yield api
    worker.stop()
    api.process.stop()


def test_cancel_stops_a_running_job_and_charges_the_pages_done(one_worker: ApiServer) -> None:
    tenant = make_tenant(credits=1000)
    with one_worker.client(tenant.api_key) as client:
        submitted = client.post("/v1/to-markdown", files={"file": ("scan.pdf", scanned_pdf(40))},
                                data={"wait": "0"})
        assert submitted.status_code == 202, submitted.text
        job_url = f"/v1/jobs/{submitted.json()['job_id']}"
        poll(client, job_url, lambda job: (job.get("progress") or {}).get("pages_done", 0) >= 1)
        canceled = client.post(f"{job_url}/cancel").json()
        # The single worker takes the next job once the canceled one let go of it: within a
        # page, not after the other ~39 pages of OCR.
        quick = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                            data={"wait": "0", "conversion_mode": "fast"}).json()
        done = poll(client, f"/v1/jobs/{quick['job_id']}", lambda job: job["status"] in FINISHED,
                    timeout=15)
        balance = client.get("/v1/me").json()["credits_balance"]
    assert done["status"] == "succeeded"
    assert canceled["status"] == "canceled"
    pages = canceled["cost"]["pages"]
    assert 1 <= pages < 40 and canceled["cost"]["credits_used"] == 2 * pages
    [charge] = charges(canceled["job_id"])
    assert charge.amount == -2 * pages and charge.pages == pages
    assert balance == 1000 - 2 * pages - 1


@pytest.fixture(scope="module")
def no_worker(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API whose queue no worker reads: its jobs stay queued."""
    api = start_api({**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 12)}, log_dir)
    yield api
    api.process.stop()


def test_cancel_of_a_queued_job_is_free(no_worker: ApiServer) -> None:
    tenant = make_tenant(credits=100)
    with no_worker.client(tenant.api_key) as client:
        job = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=3))},
                          data={"wait": "0"})
        assert job.status_code == 202, job.text
        assert client.get("/v1/me").json()["credits_balance"] == 100 - 6
        canceled = client.post(f"/v1/jobs/{job.json()['job_id']}/cancel").json()
        assert client.get("/v1/me").json()["credits_balance"] == 100
    assert canceled["status"] == "canceled"
    assert canceled["cost"] == {"credits_used": 0, "pages": 0}
    assert charges(canceled["job_id"]) == []


def training_form(pdf: bytes, count: int) -> dict[str, Any]:
    schema = {"invoice_number": "string", "total": "string"}
    expected = [{"invoice_number": "WRONG", "total": "WRONG"}] * count
    return {"files": [("files", (f"e{i}.pdf", pdf, "application/pdf")) for i in range(count)],
            "data": {"schema": json.dumps(schema), "expected": json.dumps(expected),
                     "mode": "fast"}}


def test_training_is_billed_by_the_examples_pages(api: ApiServer, worker: Process) -> None:
    pdf = make_pdf(lines=["Invoice Number: INV-7", "Total: 12.00"], pages=3)
    poor = make_tenant(credits=1)
    with api.client(poor.api_key) as client:
        refused = client.post("/v1/training-jobs", **training_form(pdf, 4))
        assert refused.status_code == 402, refused.text
        assert refused.json()["code"] == "insufficient_credits"
        assert refused.json()["credits_required"] == 12  # 4 examples × 3 pages × 1 (fast)
        assert client.get("/v1/me").json()["credits_balance"] == 1
    payer = make_tenant(credits=50)
    with api.client(payer.api_key) as client:
        accepted = client.post("/v1/training-jobs", **training_form(pdf, 4))
        assert accepted.status_code == 202, accepted.text
        assert client.get("/v1/me").json()["credits_balance"] == 50 - 12  # held
        job = poll(client, accepted.json()["status_url"],
                   lambda body: body["status"] in ("succeeded", "failed"))
        assert job["status"] == "succeeded", job
        balance = client.get(f"/v1/billing/balance/{payer.tenant_id}").json()
        usage = client.get(f"/v1/billing/usage/{payer.tenant_id}",
                           params={"group_by": "operation"}).json()
    assert balance["credits_balance"] == 38 == balance["ledger_sum"]
    assert usage["rows"] == [{"operation": "training", "jobs": 1, "pages": 12, "credits": 12}]


@pytest.mark.parametrize("params", [
    {"from": "0001-01-01T00:00:00+01:00"},
    {"to": "9999-12-31T23:59:59-01:00"}, {"from": "2024-02-01", "to": "2024-01-01"},
])
def test_usage_dates_out_of_range_are_400(api: ApiServer, params: dict[str, str]) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.get(f"/v1/billing/usage/{tenant.tenant_id}", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize("start", ["0001-01-01", "0001-01-01T01:00:00+01:00"])
def test_usage_window_at_the_edges_of_the_calendar_works(api: ApiServer, start: str) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.get(f"/v1/billing/usage/{tenant.tenant_id}",
                              params={"from": start, "to": "9999-12-31"})
    assert response.status_code == 200, response.text
    assert response.json()["from"] == "0001-01-01T00:00:00Z"  # an instant without offset: UTC


def test_job_list_cursor_out_of_range_is_400(api: ApiServer) -> None:
    import base64

    tenant = make_tenant()
    cursor = base64.urlsafe_b64encode(b"0001-01-01T00:00:00+01:00|job_x").decode()
    with api.client(tenant.api_key) as client:
        response = client.get("/v1/jobs", params={"cursor": cursor})
    assert response.status_code == 400 and response.json()["code"] == "bad_request"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"data": {f"f{i}": "x" for i in range(1100)}, "files": {"file": ("a.pdf", b"%PDF-")}},
     400, "invalid_request"),
    ({"data": {"schema": "x" * (1024 * 1024 + 10)}, "files": {"file": ("a.pdf", b"%PDF-")}},
     413, "payload_too_large"),
    ({"content": b"--b\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=b"}},
     400, "invalid_request"),
])
def test_multipart_parser_errors_have_documented_codes(
        api: ApiServer, body: dict[str, Any], status: int, code: str) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", **body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


BOMBS = {
    "divs": b"<div>" * 200_000 + b"Invoice" + b"</div>" * 200_000,
    "tables": b"<table><tr><td>" * 20_000 + b"x" + b"</td></tr></table>" * 20_000,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_deeply_nested_html_is_refused_at_the_api(api: ApiServer, name: str) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("a.html", BOMBS[name])})
        assert client.get("/v1/jobs").json()["data"] == []
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "nesting_too_deep"


def test_deep_html_in_an_email_body_is_refused(api: ApiServer) -> None:
    bomb = "<div>" * 5_000 + "Invoice" + "</div>" * 5_000
    message = ("From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
               f"Content-Type: text/html; charset=utf-8\r\n\r\n{bomb}\r\n").encode()
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("a.eml", message)})
    assert response.status_code == 400 and response.json()["code"] == "nesting_too_deep"


def test_ordinary_html_still_converts(api: ApiServer, worker: Process) -> None:
    rows = "".join(f"<tr><td>item {i}<td>{i}.00" for i in range(200))  # unclosed cells
    items = "".join(f"<li>point {i}" for i in range(500))  # unclosed list items
    html = (f"<html><body><h1>Invoice</h1>{'<p>para' * 400}<table>{rows}</table>"
            f"<ul>{items}</ul>{'<div>' * 40}deep enough{'</div>' * 40}</body></html>")
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("a.html", html.encode())})
    assert response.status_code == 200, response.text
    markdown = response.json()["markdown"]
    assert "# Invoice" in markdown and "item 199" in markdown and "deep enough" in markdown


def test_request_id_is_capped_on_every_kind_of_answer(api: ApiServer) -> None:
    tenant = make_tenant()
    long_id = "r" * 8000
    with api.client(tenant.api_key) as client:
        answers = [
            client.get("/healthz", headers={"X-Request-ID": long_id}),
            client.get("/v1/jobs", headers={"X-Request-ID": long_id}),
            client.get("/v1/nowhere", headers={"X-Request-ID": long_id}),
            httpx.get(f"{api.url}/v1/jobs", headers={"X-Request-ID": long_id}),  # 401
            client.post("/v1/to-markdown", headers={"X-Request-ID": long_id},
                        files={"file": ("a.html", BOMBS["tables"])}),
        ]
    for answer in answers:
        echoed = answer.headers.get_list("x-request-id")
        assert echoed == ["r" * 200], (answer.status_code, [len(value) for value in echoed])
