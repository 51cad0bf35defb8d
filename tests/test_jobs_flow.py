"""Jobs end to end through HTTP with a real worker: sync, async, presign, idempotency."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, Process

SEED_SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"},
                                               "total": {"type": "number"}}}


def poll(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in ("succeeded", "partial", "failed", "canceled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_first_seed_extract_call_returns_values_and_cost(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=500)
    with api.client(tenant.api_key) as client:
        response = client.post(
            "/v1/extract",
            files={"file": ("invoice.pdf", make_pdf(lines=INVOICE_LINES), "application/pdf")},
            data={"schema": json.dumps(SEED_SCHEMA)},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert body["cost"] == {"credits_used": 3, "pages": 1}
    assert body["validation_errors"] is None
    assert body["credits_remaining"] == 497
    assert body["job_id"].startswith("job_") and body["processed_at"].endswith("Z")
    assert "INV-2024-001" in body["raw_text"]


def test_second_seed_shorthand_schema(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    pdf = make_pdf(lines=["LENS & LIGHT CO.", "Invoice Number: INV-2847", "Total Due: $9,782.00"])
    with api.client() as client:
        response = client.post(
            "/v1/extract", headers={"x-api-key": tenant.api_key},
            files={"file": ("invoice.pdf", pdf)},
            data={"schema": '{"invoiceNumber": "string", "totalDue": "number"}'},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == {"invoiceNumber": "INV-2847", "totalDue": 9782.0}
    assert 0 <= body["confidence"] <= 100
    assert isinstance(body["credits_remaining"], int)


def test_to_markdown_returns_markdown_text_and_meta(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown",
                               files={"file": ("doc.pdf", make_pdf(lines=INVOICE_LINES, pages=2))})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Invoice Number: INV-2024-001" in body["markdown"]
    assert "INV-2024-001" in body["plain_text"]
    assert body["meta"]["pages"] == 2
    assert body["cost"] == {"credits_used": 4, "pages": 2}


def test_wait_zero_returns_202_then_poll(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("d.pdf", make_pdf())},
                               data={"wait": "0", "metadata": '{"ref": "abc"}'})
        assert response.status_code == 202
        body = response.json()
        assert response.headers["location"] == body["status_url"] == f"/v1/jobs/{body['job_id']}"
        finished = poll(client, body["job_id"])
    assert finished["status"] == "succeeded"
    assert finished["metadata"] == {"ref": "abc"}
    assert finished["attempts"] == 1
    assert finished["markdown"]


def test_presign_put_canonical_flow(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        presigned = client.post("/v1/uploads/presign",
                                json={"file_name": "inv.pdf", "content_type": "application/pdf"})
        assert presigned.status_code == 200, presigned.text
        target = presigned.json()
        assert target["method"] == "PUT" and target["file_uri"].startswith("quarry://")
        put = httpx.put(target["upload_url"], content=make_pdf(lines=INVOICE_LINES),
                        headers=target["headers"])
        assert put.status_code == 200, put.text
        response = client.post("/v1/canonical", json={
            "operation": "inference.extract", "file_uri": target["file_uri"],
            "schema": SEED_SCHEMA, "mode": "fast",
        })
    assert response.status_code == 200, response.text
    assert response.json()["result"]["invoice_number"] == "INV-2024-001"
    assert response.json()["cost"]["credits_used"] == 1


def test_file_uri_of_another_tenant_is_404(api: ApiServer) -> None:
    owner, intruder = make_tenant(), make_tenant()
    with api.client(owner.api_key) as client:
        uri = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()["file_uri"]
    with api.client(intruder.api_key) as client:
        response = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": uri})
    assert response.status_code == 404


def test_tampered_expired_and_oversized_local_puts(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        target = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()
    url = target["upload_url"]
    tampered = url.replace("signature=", "signature=0")
    assert httpx.put(tampered, content=b"%PDF-1.4").status_code == 403
    expired = url.replace("expires=", "expires=1")
    assert httpx.put(expired, content=b"%PDF-1.4").status_code == 403
    too_big = httpx.put(url, content=b"0" * (52 * 1024 * 1024))
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "payload_too_large"


def test_idempotency_key_returns_same_job_and_conflicts_on_other_body(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant()
    pdf = make_pdf()
    headers = {"Idempotency-Key": "order-42"}
    with api.client(tenant.api_key) as client:
        first = client.post("/v1/to-markdown", files={"file": ("a.pdf", pdf)},
                            data={"wait": "0"}, headers=headers)
        second = client.post("/v1/to-markdown", files={"file": ("a.pdf", pdf)},
                             data={"wait": "0"}, headers=headers)
        assert first.json()["job_id"] == second.json()["job_id"]
        other = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=2))},
                            data={"wait": "0"}, headers=headers)
        assert other.status_code == 409
        listed = client.get("/v1/jobs").json()["data"]
    assert len(listed) == 1


def test_jobs_are_tenant_scoped_and_paginated(api: ApiServer, worker: Process) -> None:
    tenant, other = make_tenant(), make_tenant()
    with api.client(tenant.api_key) as client:
        ids = [client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                           data={"wait": "0"}).json()["job_id"] for _ in range(5)]
        page1 = client.get("/v1/jobs", params={"limit": 2}).json()
        page2 = client.get("/v1/jobs", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
        page3 = client.get("/v1/jobs", params={"limit": 2, "cursor": page2["next_cursor"]}).json()
        seen = [job["job_id"] for page in (page1, page2, page3) for job in page["data"]]
        assert sorted(seen) == sorted(ids) and page3["next_cursor"] is None
        assert client.get("/v1/jobs", params={"cursor": "garbage!"}).status_code == 400
    with api.client(other.api_key) as client:
        assert client.get(f"/v1/jobs/{ids[0]}").status_code == 404
        assert client.post(f"/v1/jobs/{ids[0]}/cancel").status_code == 404
        assert client.get("/v1/jobs").json()["data"] == []


def test_bad_form_input_is_400(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        no_file = client.post("/v1/extract", data={"schema": "{}"})
        assert no_file.status_code == 400 and "file" in no_file.json()["detail"]
        bad_schema = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                                 data={"schema": "{not json"})
        assert bad_schema.status_code == 400 and bad_schema.json()["code"] == "invalid_schema"
        bad_mode = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                               data={"schema": '{"a": "string"}', "mode": "turbo"})
        assert bad_mode.status_code == 400
        bad_wait = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                               data={"wait": "9999"})
        assert bad_wait.status_code == 400
        bad_meta = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                               data={"metadata": "[1]"})
        assert bad_meta.status_code == 400


def test_schema_failure_is_422_unless_partial_allowed(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    schema = {"type": "object", "required": ["po_number"],
              "properties": {"po_number": {"type": "string"}, "total": {"type": "number"}}}
    with api.client(tenant.api_key) as client:
        strict = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                             data={"schema": json.dumps(schema)})
        assert strict.status_code == 422, strict.text
        assert strict.json()["code"] == "schema_validation_failed"
        partial = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                              data={"schema": json.dumps(schema), "allow_partial": "true"})
        assert partial.status_code == 200
        assert partial.json()["status"] == "partial"
        assert partial.json()["validation_errors"]
        assert client.get("/v1/me").json()["credits_balance"] == 97


def test_long_job_shows_pages_done_while_running(api: ApiServer, worker: Process) -> None:
    from tests.factories import make_long_pdf

    tenant = make_tenant(credits=10_000)
    seen: list[dict[str, int]] = []
    with api.client(tenant.api_key) as client:
        job_id = client.post("/v1/to-markdown", files={"file": ("long.pdf", make_long_pdf(pages=800))},
                             data={"wait": "0"}).json()["job_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = client.get(f"/v1/jobs/{job_id}").json()
            if job["status"] == "running" and job["progress"]:
                seen.append(job["progress"])
            if job["status"] == "succeeded":
                break
            time.sleep(0.2)
    assert seen, "no progress was reported while the job ran"
    assert all(p["pages_total"] == 800 and 0 < p["pages_done"] <= 800 for p in seen)
    assert job["progress"] == {"pages_done": 800, "pages_total": 800}
