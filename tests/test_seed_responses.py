"""Each seed's example request, replayed as the seed shows it, read back with the keys that seed
documents: the first's `status`/`result`/`cost`/`validation_errors`, the second's
`extractedData`/`confidenceScore`/`processedAt`/`creditsRemaining`/`rawText`, on the sync answer
and on the job as `GET /v1/jobs/{id}` shows it."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from shared.contract.jobs import RAW_TEXT_LIMIT
from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, Process

SECOND_SEED_LINES = ["LENS & LIGHT CO.", "847 Mission St, San Francisco",
                     "Invoice Number: INV-2847", "Total Due: $9,782.00"]
SECOND_SEED_KEYS = {"extractedData", "confidenceScore", "processedAt", "creditsRemaining", "rawText"}


def test_first_seed_example_reads_with_its_keys(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    # seeds/000: -H "X-API-KEY: …" -F "file=@invoice.pdf" -F 'schema={"type":"object",…}'
    schema = '{"type":"object","properties":{"invoice_number":{"type":"string"},"total":{"type":"number"}}}'
    response = httpx.post(f"{api.url}/v1/extract", headers={"X-API-KEY": tenant.api_key},
                          files={"file": ("invoice.pdf", make_pdf(lines=INVOICE_LINES))},
                          data={"schema": schema}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert body["cost"]["pages"] == 1 and body["cost"]["credits_used"] > 0
    assert "validation_errors" in body and body["validation_errors"] is None
    # The second seed's keys ride along, equal to Quarry's own.
    assert body["extractedData"] == body["result"]
    assert body["creditsRemaining"] == body["credits_remaining"] == 100 - body["cost"]["credits_used"]


def test_second_seed_example_reads_with_its_keys(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=500)
    # seeds/004: -H "x-api-key: …" -F "file=@/path/to/invoice.pdf" -F 'schema={…shorthand…}'
    response = httpx.post(f"{api.url}/v1/extract", headers={"x-api-key": tenant.api_key},
                          files={"file": ("invoice.pdf", make_pdf(lines=SECOND_SEED_LINES))},
                          data={"schema": '{"invoiceNumber": "string", "totalDue": "number"}'},
                          timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["extractedData"] == {"invoiceNumber": "INV-2847", "totalDue": 9782.0}
    score = body["confidenceScore"]
    assert isinstance(score, int) and 80 <= score <= 100 and score == body["confidence"]
    processed = datetime.fromisoformat(body["processedAt"].replace("Z", "+00:00"))
    assert processed.tzinfo is not None and body["processedAt"] == body["processed_at"]
    assert body["creditsRemaining"] == 500 - body["cost"]["credits_used"] < 500
    assert "Total Due: $9,782.00" in body["rawText"] and body["rawText"] == body["raw_text"]

    job = httpx.get(f"{api.url}/v1/jobs/{body['job_id']}", headers={"x-api-key": tenant.api_key},
                    timeout=30).json()
    assert {key: job[key] for key in SECOND_SEED_KEYS} == {key: body[key] for key in SECOND_SEED_KEYS}
    assert job["status"] == "succeeded" and job["cost"] == body["cost"]
    listed = httpx.get(f"{api.url}/v1/jobs", headers={"x-api-key": tenant.api_key}, timeout=30).json()
    assert listed["data"][0]["extractedData"] == body["extractedData"]
    assert "creditsRemaining" not in listed["data"][0]  # a list reads no balance


def test_raw_text_is_cut_at_the_documented_limit(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=1000)
    text = "Invoice Number: INV-77\n" + "".join(f"line {i:06d} of filler text\n" for i in range(5000))
    assert len(text) > RAW_TEXT_LIMIT
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/extract", files={"file": ("notes.txt", text.encode(), "text/plain")},
                               data={"schema": json.dumps({"invoiceNumber": "string"}), "mode": "fast"})
        assert response.status_code == 200, response.text
        body = response.json()
        job = client.get(f"/v1/jobs/{body['job_id']}").json()
    assert len(body["raw_text"]) > RAW_TEXT_LIMIT
    assert body["rawText"] == body["raw_text"][:RAW_TEXT_LIMIT]
    assert job["rawText"] == body["rawText"] and job["raw_text"] == body["raw_text"]


def test_seed_keys_are_only_on_extract_results(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        markdown = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())})
        assert markdown.status_code == 200, markdown.text
        job = client.get(f"/v1/jobs/{markdown.json()['job_id']}").json()
    assert not SECOND_SEED_KEYS & (set(markdown.json()) | set(job))
