"""Extraction through the running API and worker: both seeds, local and LLM, and clean failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.llm_server import ScriptedLLM, answer, failure, running_llm
from tests.stack import ApiServer, Process

FIRST_SEED_SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"},
                                                     "total": {"type": "number"}}}
SECOND_SEED_SCHEMA = '{"invoiceNumber": "string", "totalDue": "number"}'
SECOND_SEED_LINES = ["LENS & LIGHT CO.", "847 Mission St, San Francisco",
                     "Invoice Number: INV-2847", "Total Due: $9,782.00"]
KEY = "sk-live-abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with running_llm() as server:
        yield server


def byok(llm: ScriptedLLM, **extra: str) -> dict[str, str]:
    return {"llm_provider_model": "openai/gpt-4o-mini", "llm_api_key": KEY,
            "llm_api_base": llm.url, "llm_num_retries": "0", **extra}


def extract(client: httpx.Client, lines: list[str], form: dict[str, str]) -> httpx.Response:
    return client.post("/v1/extract", files={"file": ("invoice.pdf", make_pdf(lines=lines),
                                                      "application/pdf")}, data=form)


def test_both_seeds_with_the_local_engine(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        first = extract(client, INVOICE_LINES, {"schema": json.dumps(FIRST_SEED_SCHEMA)}).json()
        second = extract(client, SECOND_SEED_LINES, {"schema": SECOND_SEED_SCHEMA}).json()
    assert first["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert first["engine"] == "local" and first["mode"] == "standard"
    assert first["fields"]["invoice_number"]["source"] == "Invoice Number: INV-2024-001"
    assert second["result"] == {"invoiceNumber": "INV-2847", "totalDue": 9782.0}
    assert second["fields"]["totalDue"]["page"] == 1 and second["confidence"] >= 80
    assert "Total Due: $9,782.00" in second["raw_text"]


def test_both_seeds_through_a_byok_llm(api: ApiServer, worker: Process, llm: ScriptedLLM) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        llm.script(answer({"invoice_number": "INV-2024-001", "total": 1250.0}))
        first = extract(client, INVOICE_LINES, {"schema": json.dumps(FIRST_SEED_SCHEMA), **byok(llm)})
        sent = llm.requests[0]
        llm.script(answer({"invoiceNumber": "INV-2847", "totalDue": "$9,782.00"}))
        second = extract(client, SECOND_SEED_LINES, {"schema": SECOND_SEED_SCHEMA, **byok(llm)})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert body["engine"] == "llm:openai/gpt-4o-mini"
    assert body["fields"]["total"]["source"] == "Total: $1,250.00"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert "Invoice Number: INV-2024-001" in sent.prompt
    assert second.status_code == 200, second.text
    assert second.json()["result"] == {"invoiceNumber": "INV-2847", "totalDue": 9782.0}


def test_the_byok_rate_needs_the_callers_model_on_every_channel(
        api: ApiServer, worker: Process, llm: ScriptedLLM) -> None:
    # Standard extraction is 3 credits a page, BYOK half of it rounded up: 2.
    llm.responder = lambda _: answer({"invoice_number": "INV-2024-001", "total": 1250.0})
    ocr_only = {"ocr_provider_model": "openai/gpt-4o-mini", "ocr_api_key": "sk-ocr-only",
                "ocr_api_base": llm.url}
    with api.client(make_tenant().api_key) as client:
        own = extract(client, INVOICE_LINES, {"schema": json.dumps(FIRST_SEED_SCHEMA),
                                              **byok(llm)})
        # A key for reading pages only: the values are not the caller's model's work.
        reading_only = extract(client, INVOICE_LINES, {"schema": json.dumps(FIRST_SEED_SCHEMA),
                                                       **ocr_only})
    llm.responder = None
    assert own.status_code == 200 and own.json()["cost"]["credits_used"] == 2, own.text
    assert reading_only.status_code == 200, reading_only.text
    assert reading_only.json()["cost"]["credits_used"] == 3


def test_empty_llm_api_key_means_not_provided(api: ApiServer, worker: Process,
                                              llm: ScriptedLLM) -> None:
    tenant = make_tenant()
    llm.script()
    with api.client(tenant.api_key) as client:
        response = extract(client, INVOICE_LINES, {"schema": json.dumps(FIRST_SEED_SCHEMA),
                                                   **byok(llm, llm_api_key="")})
    assert response.status_code == 200 and response.json()["engine"] == "local"
    assert llm.requests == []


def _balance(client: httpx.Client) -> int:
    value: int = client.get("/v1/me").json()["credits_balance"]
    return value


def _assert_refused(client: httpx.Client, form: dict[str, str], status: int, code: str) -> dict[str, Any]:
    before = _balance(client)
    response = extract(client, INVOICE_LINES, {"schema": json.dumps(FIRST_SEED_SCHEMA), **form})
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["detail"]
    assert KEY not in response.text and KEY[:8] not in response.text
    assert _balance(client) == before  # nothing charged
    return body


def test_bad_model_key_and_base_are_clear_errors_and_free(
        api: ApiServer, worker: Process, llm: ScriptedLLM) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        llm.script()
        body = _assert_refused(client, byok(llm, llm_provider_model="nosuchprovider/model-x"),
                               400, "invalid_model")
        assert "nosuchprovider/model-x" in body["detail"]
        llm.script(failure(404, "The model `gpt-17` does not exist", code="model_not_found"))
        _assert_refused(client, byok(llm, llm_provider_model="openai/gpt-17"), 400, "invalid_model")
        llm.script(failure(401, f"Incorrect API key provided: {KEY}", code="invalid_api_key"))
        body = _assert_refused(client, byok(llm), 502, "llm_authentication_failed")
        assert "Incorrect API key" not in body["detail"] and "HTTP 401" in body["detail"]
        body = _assert_refused(client, byok(llm, llm_api_base="http://127.0.0.1:9/v1"),
                               502, "llm_unreachable")
        llm.script(failure(500, "upstream exploded", error_type="server_error"))
        _assert_refused(client, byok(llm), 502, "llm_provider_error")


def test_bad_schemas_are_400_and_free(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        before = _balance(client)
        for schema in ("{not json", '{"a": "strng"}', '{"type": "array", "items": {}}',
                       '{"type": "object", "properties": {"a": {"type": "strin"}}}'):
            response = extract(client, INVOICE_LINES, {"schema": schema})
            assert response.status_code == 400, response.text
            assert response.json()["code"] == "invalid_schema" and response.json()["detail"]
        assert _balance(client) == before


def test_llm_schema_violation_is_422_free_or_partial_charged(
        api: ApiServer, worker: Process, llm: ScriptedLLM) -> None:
    tenant = make_tenant()
    bad = answer({"invoice_number": "INV-2024-001", "total": "n/a"})
    with api.client(tenant.api_key) as client:
        before = _balance(client)
        llm.script(bad, bad)
        strict = extract(client, INVOICE_LINES, {"schema": json.dumps(
            {**FIRST_SEED_SCHEMA, "required": ["total"]}), **byok(llm)})
        assert strict.status_code == 422, strict.text
        assert strict.json()["code"] == "schema_validation_failed"
        assert _balance(client) == before
        llm.script(bad, bad)
        partial = extract(client, INVOICE_LINES, {"schema": json.dumps(
            {**FIRST_SEED_SCHEMA, "required": ["total"]}), "allow_partial": "true", **byok(llm)})
        assert partial.status_code == 200 and partial.json()["status"] == "partial"
        assert partial.json()["validation_errors"]
        assert _balance(client) < before
