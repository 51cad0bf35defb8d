"""The LLM engine against a real OpenAI-compatible server on loopback, scripted per test."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from shared.errors import BadRequest, SchemaValidationFailed, UpstreamError
from shared.extraction.schema import parse_schema
from shared.jobs.options import ExtractOptions
from shared.sealing import seal
from shared.settings import get_settings
from tests.factories import INVOICE_LINES, make_pdf
from tests.llm_server import ScriptedLLM, answer, failure, running_llm
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.document import Document
from worker.pipeline.extract import extract_document
from worker.pipeline.extract.llm_engine import extract_with_llm
from worker.pipeline.llm import LLMConfig, complete_text, image_part, text_part

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
SECRET = "sk-test-SECRETKEY-0123456789abcdef"
SEED_SCHEMA = parse_schema({"type": "object", "required": ["invoice_number", "total"],
                            "properties": {"invoice_number": {"type": "string"},
                                           "total": {"type": "number"}}})


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with running_llm() as server:
        yield server


@pytest.fixture(scope="module")
def invoice() -> Document:
    return convert_document(ConversionRequest(make_pdf(lines=INVOICE_LINES), "i.pdf", None))


def config(llm: ScriptedLLM, **overrides: object) -> LLMConfig:
    values: dict[str, object] = {"model": "openai/gpt-4o-mini", "api_key": SECRET,
                                 "api_base": llm.url, "num_retries": 2, "timeout_s": 5,
                                 "retry_backoff_s": 0.01, "byok": True}
    return LLMConfig(**{**values, **overrides})  # type: ignore[arg-type]


def byok_options(llm: ScriptedLLM, **extra: object) -> ExtractOptions:
    section = {"provider_model": "openai/gpt-4o-mini", "api_base": llm.url,
               "api_key_sealed": seal(SECRET), "num_retries": 1}
    return ExtractOptions.model_validate({"schema": SEED_SCHEMA, "mode": "standard",
                                          "llm": section, **extra})


def test_structured_output_is_requested_and_grounded(llm: ScriptedLLM, invoice: Document) -> None:
    llm.script(answer({"invoice_number": "INV-2024-001", "total": 1250}))
    outcome = extract_document(invoice, byok_options(llm))
    body = outcome.payload
    assert body["result"] == {"invoice_number": "INV-2024-001", "total": 1250}
    assert body["engine"] == "llm:openai/gpt-4o-mini" and body["validation_errors"] is None
    assert body["fields"]["total"]["source"] == "Total: $1,250.00"
    assert body["fields"]["total"]["page"] == 1 and len(body["fields"]["total"]["bbox"]) == 4
    assert 80 <= body["confidence"] <= 100
    sent = llm.requests[0]
    assert sent.body["response_format"]["type"] == "json_schema"
    assert sent.body["response_format"]["json_schema"]["schema"]["properties"]["total"]
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert "Invoice Number: INV-2024-001" in sent.prompt


def test_model_without_schema_support_gets_json_mode_and_schema_in_prompt(
        llm: ScriptedLLM, invoice: Document) -> None:
    llm.script(answer({"invoice_number": "INV-2024-001", "total": "$1,250.00"}))
    result = extract_with_llm(invoice, SEED_SCHEMA, config(llm, model="openai/my-local-model"))
    assert result == {"invoice_number": "INV-2024-001", "total": 1250.0}  # coerced to a number
    sent = llm.requests[0]
    assert sent.body["response_format"] == {"type": "json_object"}
    assert '"invoice_number"' in sent.prompt and "JSON Schema" in sent.prompt


def test_invalid_json_then_good_repair(llm: ScriptedLLM, invoice: Document) -> None:
    llm.script(answer('{"invoice_number": "INV-2024-001", "total": '),
               answer("```json\n{\"invoice_number\": \"INV-2024-001\", \"total\": 1250.0}\n```"))
    outcome = extract_document(invoice, byok_options(llm))
    assert outcome.payload["result"]["total"] == 1250.0 and not outcome.partial
    assert len(llm.requests) == 2
    assert "not valid JSON" in llm.requests[1].body["messages"][-1]["content"]


def test_schema_violation_repaired_once_then_422_or_partial(llm: ScriptedLLM,
                                                            invoice: Document) -> None:
    bad = answer({"invoice_number": "INV-2024-001", "total": "about twelve hundred"})
    llm.script(bad, bad)
    with pytest.raises(SchemaValidationFailed) as raised:
        extract_document(invoice, byok_options(llm))
    assert any("total" in e for e in raised.value.extra["validation_errors"])
    assert "total" in llm.requests[1].body["messages"][-1]["content"]
    llm.script(bad, bad)
    outcome = extract_document(invoice, byok_options(llm, allow_partial=True))
    assert outcome.partial and outcome.payload["validation_errors"]
    assert outcome.payload["result"]["invoice_number"] == "INV-2024-001"


def test_rate_limited_then_success(llm: ScriptedLLM, invoice: Document) -> None:
    llm.script(failure(429, "Rate limit reached for requests", code="rate_limit_exceeded",
                       retry_after="0", error_type="requests"),
               answer({"invoice_number": "INV-2024-001", "total": 1250}))
    result = extract_with_llm(invoice, SEED_SCHEMA, config(llm))
    assert result["total"] == 1250 and len(llm.requests) == 2


def test_rate_limit_outlasting_retries_is_502(llm: ScriptedLLM) -> None:
    limited = failure(429, "Rate limit reached", retry_after="0", error_type="requests")
    llm.script(limited, limited, limited)
    with pytest.raises(UpstreamError) as raised:
        complete_text(config(llm, num_retries=1), [{"role": "user", "content": "hi"}])
    assert raised.value.extra["code"] == "llm_rate_limited" and len(llm.requests) == 2


def test_provider_500_is_retried_then_502_without_the_key(llm: ScriptedLLM) -> None:
    broken = failure(500, f"internal failure while using key {SECRET}", error_type="server_error")
    llm.script(broken, broken, broken)
    with pytest.raises(UpstreamError) as raised:
        complete_text(config(llm), [{"role": "user", "content": "hi"}])
    error = raised.value
    assert error.status_code == 502 and error.extra["code"] == "llm_provider_error"
    assert SECRET not in error.detail and SECRET[:8] not in error.detail
    assert "internal failure" not in error.detail and "HTTP 500" in error.detail  # no echo
    assert len(llm.requests) == 3  # first try + num_retries


def test_slow_reply_past_the_timeout_is_502(llm: ScriptedLLM) -> None:
    llm.script(answer({"total": 1}).__class__(content="{}", delay_s=3))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as raised:
        complete_text(config(llm, timeout_s=0.5, num_retries=0), [{"role": "user", "content": "x"}])
    assert raised.value.extra["code"] == "llm_timeout"
    assert time.monotonic() - started < 2.5


def test_bad_key_bad_model_and_unreachable_base(llm: ScriptedLLM) -> None:
    llm.script(failure(401, f"Incorrect API key provided: {SECRET}", code="invalid_api_key"))
    with pytest.raises(UpstreamError) as auth:
        complete_text(config(llm), [{"role": "user", "content": "x"}])
    assert auth.value.extra["code"] == "llm_authentication_failed"
    assert SECRET not in auth.value.detail and "Incorrect API key" not in auth.value.detail
    assert "HTTP 401" in auth.value.detail
    llm.script(failure(404, "The model `gpt-9` does not exist", code="model_not_found"))
    with pytest.raises(BadRequest) as missing:
        complete_text(config(llm, model="openai/gpt-9"), [{"role": "user", "content": "x"}])
    assert missing.value.extra["code"] == "invalid_model"
    with pytest.raises(BadRequest) as unknown:
        complete_text(config(llm, model="no-such-provider/model"), [{"role": "user", "content": "x"}])
    assert unknown.value.status_code == 400
    with pytest.raises(UpstreamError) as unreachable:
        complete_text(config(llm, api_base="http://127.0.0.1:9/v1"),
                      [{"role": "user", "content": "x"}])
    assert unreachable.value.extra["code"] == "llm_unreachable"


def test_vision_messages_carry_image_parts(llm: ScriptedLLM) -> None:
    llm.script(answer("# Page text"))
    content = [text_part("Transcribe this page."), image_part(b"\x89PNG fake", "image/png")]
    assert complete_text(config(llm), [{"role": "user", "content": content}]) == "# Page text"
    sent = llm.requests[0].body["messages"][0]["content"]
    assert sent[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_long_document_is_chunked_in_parallel_and_merged(
        llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUARRY_LLM_CHUNK_TOKENS", "256")
    get_settings.cache_clear()
    filler = [f"Item line {i} with a long description of goods" for i in range(20)]
    pdf = make_pdf(lines=["Invoice Number: INV-77", *filler], pages=3)
    document = convert_document(ConversionRequest(pdf, "long.pdf", None))
    schema = parse_schema({"invoice_number": "string", "items": [{"sku": "string"}]})

    def per_chunk(recorded: object) -> object:
        prompt = recorded.prompt  # type: ignore[attr-defined]
        page = prompt.split("--- page ")[1].split(" ")[0]
        return answer({"invoice_number": "INV-77", "items": [{"sku": f"P{page}"}, {"sku": "SHARED"}]})

    llm.script()
    llm.responder = per_chunk  # type: ignore[assignment]
    try:
        result = extract_with_llm(document, schema, config(llm))
    finally:
        llm.responder = None
        get_settings.cache_clear()
    assert len(llm.requests) == 3
    assert result["invoice_number"] == "INV-77"
    assert sorted(item["sku"] for item in result["items"]) == ["P1", "P2", "P3", "SHARED"]


def test_server_default_model_is_used_without_byok(
        llm: ScriptedLLM, invoice: Document, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUARRY_LLM_DEFAULT_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("QUARRY_LLM_DEFAULT_API_BASE", llm.url)
    monkeypatch.setenv("QUARRY_LLM_DEFAULT_API_KEY", "sk-server-key-000000")
    get_settings.cache_clear()
    llm.script(answer({"invoice_number": "INV-2024-001", "total": 1250}))
    try:
        outcome = extract_document(invoice, ExtractOptions.model_validate(
            {"schema": SEED_SCHEMA, "mode": "robust"}))
    finally:
        get_settings.cache_clear()
    assert outcome.payload["engine"] == "llm:openai/gpt-4o-mini"
    assert llm.requests[0].headers["authorization"] == "Bearer sk-server-key-000000"


def test_robust_mode_reports_values_missing_from_the_ocr_reading(
        llm: ScriptedLLM, invoice: Document) -> None:
    other = convert_document(ConversionRequest(make_pdf(lines=["Invoice Number: INV-2024-001",
                                                               "Total: $1,290.00"]), "o.pdf", None))
    llm.script(answer({"invoice_number": "INV-2024-001", "total": 1250}))
    body = extract_document(invoice, byok_options(llm, mode="robust"), other).payload
    assert [d["field"] for d in body["cross_check"]] == ["total"]
    assert body["fields"]["total"]["confidence"] < body["fields"]["invoice_number"]["confidence"]
    assert json.dumps(body)  # the payload stays JSON


def test_llm_calls_and_tokens_are_counted_for_metrics(llm: ScriptedLLM, invoice: Document) -> None:
    from shared.metrics import LLM_CALLS, LLM_TOKENS

    def counted(metric: object, *labels: str) -> float:
        return float(metric.labels(*labels)._value.get())  # type: ignore[attr-defined]

    calls_ok, calls_error = counted(LLM_CALLS, "openai", "ok"), counted(LLM_CALLS, "openai", "error")
    prompt_tokens = counted(LLM_TOKENS, "openai", "prompt")
    llm.script(failure(429, "Rate limit reached", retry_after="0", error_type="requests"),
               answer({"invoice_number": "INV-2024-001", "total": 1250}))
    extract_with_llm(invoice, SEED_SCHEMA, config(llm))
    assert counted(LLM_CALLS, "openai", "error") == calls_error + 1
    assert counted(LLM_CALLS, "openai", "ok") == calls_ok + 1
    assert counted(LLM_TOKENS, "openai", "prompt") > prompt_tokens
