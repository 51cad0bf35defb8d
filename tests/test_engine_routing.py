"""Routing to the engine that fits (docs/routing.md), and partial results under rate limits.

The rule (`choose_route`) is tested directly; the HTTP tests run an API and a worker of
their own (a separate Redis database) whose server model is a scripted OpenAI-compatible
server, with small chunks and a short retry budget so a rate-limited long document ends
`partial` within seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pymupdf
import pytest

from shared.extraction.schema import parse_schema
from shared.jobs.options import ExtractOptions
from shared.settings import Settings, get_settings
from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.llm_server import Recorded, Reply, ScriptedLLM, answer, failure, running_llm
from tests.stack import ApiServer, redis_database, start_api, start_worker
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.extract.routing import DocumentShape, SchemaShape, choose_route

MODEL = "openai/gpt-4o-mini"
SIMPLE = {"type": "object", "properties": {"invoice_number": {"type": "string"},
                                          "total": {"type": "number"}}}
# The local engine cannot find a purchase-order reference in INVOICE_LINES.
NEEDS_PO = {"type": "object", "required": ["po_reference"],
            "properties": {"invoice_number": {"type": "string"},
                           "po_reference": {"type": "string"}}}
LINE_ITEMS = {"invoice_number": "string", "line_items": [{"description": "string",
                                                          "amount": "number"}]}

TEXT = DocumentShape(pages=2, ocr_pages=0, has_text=True)
SCAN = DocumentShape(pages=2, ocr_pages=2, has_text=True)


def shape(schema: dict[str, Any]) -> SchemaShape:
    return SchemaShape.of(parse_schema(schema))


# --- the rule ---------------------------------------------------------------------------

def test_fast_never_calls_a_model_byok_included() -> None:
    for model in (None, "server", "byok"):
        route = choose_route("fast", SCAN, shape(LINE_ITEMS), model=model)
        assert (route.name, route.model_first, route.may_escalate) == ("local", False, False)
        assert "fast" in route.reason


def test_standard_sends_clear_text_and_a_simple_schema_to_the_local_engine_first() -> None:
    route = choose_route("standard", TEXT, shape(SIMPLE), model="server")
    assert route.name == "local_then_llm" and route.may_escalate and not route.model_first


def test_standard_sends_scans_and_complex_schemas_to_the_model_first() -> None:
    scanned = choose_route("standard", SCAN, shape(SIMPLE), model="server")
    assert scanned.name == "llm" and scanned.model_first and "OCR" in scanned.reason
    empty = choose_route("standard", DocumentShape(1, 0, has_text=False), shape(SIMPLE),
                         model="server")
    assert empty.name == "llm" and "no text layer" in empty.reason
    items = choose_route("standard", TEXT, shape(LINE_ITEMS), model="server")
    assert items.name == "llm" and "1 array(s) of objects" in items.reason
    deep = {"a": {"b": {"c": "string"}}}
    assert choose_route("standard", TEXT, shape(deep), model="server").name == "llm"
    many = {f"field_{i}": "string" for i in range(13)}
    assert choose_route("standard", TEXT, shape(many), model="server").name == "llm"
    assert choose_route("standard", TEXT, shape(many), model="server",
                        max_simple_fields=13).name == "local_then_llm"
    # One level of nesting and arrays of plain values are still simple.
    nested = {"buyer": {"name": "string", "vat": "string"}, "tags": ["string"]}
    assert choose_route("standard", TEXT, shape(nested), model="server").name == "local_then_llm"


def test_without_a_model_the_local_engine_answers_and_robust_cross_checks_readings() -> None:
    standard = choose_route("standard", SCAN, shape(LINE_ITEMS), model=None)
    assert (standard.name, standard.reason) == ("local", "no model is configured")
    robust = choose_route("robust", TEXT, shape(SIMPLE), model=None)
    assert robust.name == "local_cross_check" and "OCR" in robust.reason


def test_robust_always_cross_checks_the_model() -> None:
    route = choose_route("robust", TEXT, shape(SIMPLE), model="server")
    assert route.name == "llm_cross_check" and route.model_first
    byok = choose_route("robust", TEXT, shape(SIMPLE), model="byok")
    assert byok.name == "byok" and "checked against" in byok.reason


def test_byok_and_trained_pipelines_keep_their_meaning() -> None:
    byok = choose_route("standard", TEXT, shape(SIMPLE), model="byok")
    assert (byok.name, byok.reason, byok.model_first) == ("byok", "the caller's own model", True)
    trained = choose_route("standard", TEXT, shape(SIMPLE), model="server", pipeline="llm")
    assert trained.name == "trained_llm" and trained.model_first
    pinned = choose_route("standard", SCAN, shape(LINE_ITEMS), model=None, pipeline="local")
    assert pinned.name == "local" and "trained pipeline" in pinned.reason
    fallback = choose_route("standard", TEXT, shape(SIMPLE), model=None, pipeline="llm")
    assert fallback.name == "local" and "local fallback" in fallback.reason


# --- through the API and a worker whose server model is scripted ------------------------

@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with running_llm() as server:
        yield server


@pytest.fixture(scope="module")
def routed(base_env: dict[str, str], log_dir: Path, llm: ScriptedLLM) -> Iterator[ApiServer]:
    """An API and a worker of their own; the server's model is the scripted one."""
    env = {**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 13),
           "QUARRY_LLM_DEFAULT_MODEL": MODEL, "QUARRY_LLM_DEFAULT_API_BASE": llm.url,
           "QUARRY_LLM_DEFAULT_API_KEY": "sk-server-test", "QUARRY_LLM_NUM_RETRIES": "0",
           "QUARRY_LLM_RETRY_BACKOFF_S": "0.1",
           # A rate-limited link rests this long: the chunks' own retries reach the server.
           "QUARRY_LLM_COOLDOWN_S": "0.5",
           # 256 tokens (the floor) a chunk: each page of `long_invoice` is its own chunk.
           "QUARRY_LLM_CHUNK_TOKENS": "256",
           "QUARRY_ROUTING_CHUNK_RETRY_BUDGET_S": "6",
           "QUARRY_ROUTING_CHUNK_RETRY_BACKOFF_S": "1"}
    api, worker = start_api(env, log_dir), start_worker(env, log_dir, concurrency=1,
                                                        name="routing-worker")
    yield api
    worker.stop()
    api.process.stop()


def extract(client: httpx.Client, pdf: bytes, schema: dict[str, Any],
            **form: str) -> dict[str, Any]:
    response = client.post("/v1/extract", files={"file": ("doc.pdf", pdf, "application/pdf")},
                           data={"schema": json.dumps(schema), **form})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_clear_text_pdf_with_a_simple_schema_is_answered_locally(
        routed: ApiServer, llm: ScriptedLLM) -> None:
    llm.script()
    with routed.client(make_tenant().api_key) as client:
        body = extract(client, make_pdf(lines=INVOICE_LINES), SIMPLE)
        job = client.get(f"/v1/jobs/{body['job_id']}").json()
    assert llm.requests == []
    assert body["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert body["engine"] == "local" and "model" not in body
    assert body["route"]["name"] == "local_then_llm" and body["route"]["escalated"] is False
    assert "local engine answers first" in body["route"]["reason"]
    assert job["route"] == body["route"]


def test_a_missing_required_field_escalates_to_the_model(
        routed: ApiServer, llm: ScriptedLLM) -> None:
    llm.script(answer({"invoice_number": "INV-2024-001", "po_reference": "PO-7781"}))
    with routed.client(make_tenant().api_key) as client:
        body = extract(client, make_pdf(lines=INVOICE_LINES), NEEDS_PO)
        job = client.get(f"/v1/jobs/{body['job_id']}").json()
    assert len(llm.requests) == 1
    assert body["result"] == {"invoice_number": "INV-2024-001", "po_reference": "PO-7781"}
    route = body["route"]
    assert route["name"] == "local_then_llm" and route["escalated"] is True
    assert "po_reference" in route["escalation_reason"]
    assert body["model"].endswith("gpt-4o-mini") and body["engine"] == f"llm:{MODEL}"
    assert job["model"] == body["model"] and job["route"]["escalated"] is True


def test_fast_mode_never_calls_the_model(routed: ApiServer, llm: ScriptedLLM) -> None:
    llm.script(answer({"po_reference": "PO-7781"}))
    with routed.client(make_tenant().api_key) as client:
        body = extract(client, make_pdf(lines=INVOICE_LINES), NEEDS_PO, mode="fast",
                       allow_partial="true")
    assert llm.requests == []
    assert body["status"] == "partial" and "po_reference" not in body["result"]
    assert body["route"] == {"name": "local", "reason": "fast mode never calls a model",
                             "escalated": False, "escalation_reason": None,
                             "local_fallback": None}


def test_the_local_engine_answers_when_every_provider_fails(
        routed: ApiServer, llm: ScriptedLLM) -> None:
    llm.script()  # every call: 500 "no scripted reply left"
    with routed.client(make_tenant().api_key) as client:
        body = extract(client, make_pdf(lines=INVOICE_LINES), LINE_ITEMS)
    assert len(llm.requests) >= 1
    assert body["route"]["name"] == "llm" and body["route"]["local_fallback"]
    assert body["engine"] == "local" and body["result"]["invoice_number"] == "INV-2024-001"


def long_invoice() -> bytes:
    """Four pages, each over 256 tokens of text: the invoice number and two line items on
    pages 1–2, filler on 3–4."""
    filler = [f"Terms and conditions paragraph {i}, delivery and payment details" for i in range(22)]
    pages = [["Invoice Number: INV-9001", "Widget 40.00", *filler],
             ["Gadget 60.00", *filler], ["Appendix A", *filler], ["Appendix B", *filler]]
    document = pymupdf.open()
    for lines in pages:
        page = document.new_page()
        for row, text in enumerate(lines):
            page.insert_text((72, 60 + row * 20), text, fontsize=10)
    data: bytes = document.tobytes()
    document.close()
    return data


def test_rate_limited_chunks_end_partial_with_the_finished_pages_kept(
        routed: ApiServer, llm: ScriptedLLM) -> None:
    def per_page(recorded: Recorded) -> Reply:
        page = recorded.prompt.split("--- page ")[1].split(" ")[0]
        if page == "1":
            return answer({"invoice_number": "INV-9001",
                           "line_items": [{"description": "Widget", "amount": 40}]})
        if page == "2":
            return answer({"line_items": [{"description": "Gadget", "amount": 60}]})
        return failure(429, "Rate limit reached", error_type="requests")

    llm.script()
    llm.responder = per_page
    try:
        with routed.client(make_tenant().api_key) as client:
            body = extract(client, long_invoice(), LINE_ITEMS)
            job = client.get(f"/v1/jobs/{body['job_id']}").json()
    finally:
        llm.responder = None
    pages_asked = [r.prompt.split("--- page ")[1].split(" ")[0] for r in llm.requests]
    assert pages_asked.count("1") == 1 and pages_asked.count("3") >= 2  # page 3 was retried
    assert body["status"] == "partial" and job["status"] == "partial"
    assert body["result"]["invoice_number"] == "INV-9001"
    assert sorted(i["description"] for i in body["result"]["line_items"]) == ["Gadget", "Widget"]
    assert body["missing"]["pages"] == [3, 4] and body["missing"]["reason"] == "rate_limited"
    assert job["missing"] == body["missing"] and body["route"]["name"] == "llm"
    # Only the pages extracted are charged.
    assert job["cost"]["pages"] == 2


# --- the local engine as the chain's last link, switched off ----------------------------

@pytest.mark.skipif(not hasattr(Settings(), "llm_chain_local_last"),
                    reason="the provider chain's local-last setting is not there yet")
def test_without_local_last_a_failing_chain_fails_the_job(
        llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.errors import AllProvidersFailed, UpstreamError
    from worker.pipeline.extract import extract_document

    for name, value in {"QUARRY_LLM_DEFAULT_MODEL": MODEL, "QUARRY_LLM_DEFAULT_API_BASE": llm.url,
                        "QUARRY_LLM_DEFAULT_API_KEY": "sk-server-test",
                        "QUARRY_LLM_NUM_RETRIES": "0",
                        "QUARRY_LLM_CHAIN_LOCAL_LAST": "false"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    document = convert_document(ConversionRequest(make_pdf(lines=INVOICE_LINES), "a.pdf", None))
    llm.script()
    try:
        with pytest.raises((AllProvidersFailed, UpstreamError)):
            extract_document(document, ExtractOptions.model_validate(
                {"schema": parse_schema(LINE_ITEMS)}))
    finally:
        get_settings.cache_clear()
