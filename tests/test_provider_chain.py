"""The server's provider chain (LiteLLM Router) through HTTP and a worker of its own.

Two scripted OpenAI-compatible servers are the extraction chain's links, two more the
vision (OCR) chain's. The tests run in order: the 429 test leaves the first link resting,
and the tests after it rely on that (as a real deployment would see it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.fixtures.documents import make
from tests.llm_server import Recorded, Reply, ScriptedLLM, answer, failure, running_llm
from tests.stack import ApiServer, redis_database, start_api, start_worker

FIRST, SECOND = "openai/chain-first", "openai/chain-second"
OCR_FIRST, OCR_SECOND = "openai/vision-first", "openai/vision-second"
# The local engine cannot find a purchase-order reference in INVOICE_LINES: the model must.
NEEDS_PO = {"type": "object", "required": ["po_reference"],
            "properties": {"invoice_number": {"type": "string"},
                           "po_reference": {"type": "string"}}}
ANSWER = {"invoice_number": "INV-2024-001", "po_reference": "PO-7781"}
DETAIL = "All fallback providers failed to process the document."
TRANSCRIPT = "# Scanned Invoice\n\n| Item | Amount |\n|---|---|\n| Paper | 12.00 |"


@pytest.fixture(scope="module")
def links() -> Iterator[dict[str, ScriptedLLM]]:
    with (running_llm() as first, running_llm() as second, running_llm() as ocr_first,
          running_llm() as ocr_second, running_llm() as byok):
        yield {"first": first, "second": second, "ocr_first": ocr_first,
               "ocr_second": ocr_second, "byok": byok}


@pytest.fixture(scope="module")
def chained(base_env: dict[str, str], log_dir: Path,
            links: dict[str, ScriptedLLM]) -> Iterator[ApiServer]:
    """An API and a worker of their own (own Redis database: own queue, own cooldowns)."""
    def link(model: str, server: ScriptedLLM, timeout_s: float) -> dict[str, Any]:
        return {"model": model, "api_base": server.url, "api_key_env": "CHAIN_TEST_KEY",
                "timeout_s": timeout_s}

    env = {**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 1),
           "CHAIN_TEST_KEY": "sk-chain-test-key",
           "QUARRY_LLM_CHAIN": json.dumps([link(FIRST, links["first"], 1.5),
                                           link(SECOND, links["second"], 5)]),
           "QUARRY_OCR_CHAIN": json.dumps([link(OCR_FIRST, links["ocr_first"], 5),
                                           link(OCR_SECOND, links["ocr_second"], 5)]),
           "QUARRY_LLM_NUM_RETRIES": "0", "QUARRY_LLM_ALLOWED_FAILS": "20",
           "QUARRY_LLM_COOLDOWN_S": "60", "QUARRY_LLM_CHAIN_LOCAL_LAST": "false"}
    import redis

    redis.Redis.from_url(env["QUARRY_REDIS_URL"]).flushdb()  # no cooldowns from an earlier run
    api = start_api(env, log_dir)
    worker = start_worker(env, log_dir, concurrency=1, name="chain-worker")
    yield api
    worker.stop()
    api.process.stop()


def always(reply: Reply) -> Any:
    return lambda _request: reply


def serve(server: ScriptedLLM, reply: Reply) -> None:
    """Every request to `server` gets `reply`; its request log starts empty."""
    server.script()
    server.responder = always(reply)


def extract(client: httpx.Client, **form: str) -> httpx.Response:
    return client.post("/v1/extract", files={"file": ("doc.pdf", make_pdf(lines=INVOICE_LINES))},
                       data={"schema": json.dumps(NEEDS_PO), "wait": "60", **form})


def test_a_failing_first_link_falls_back_and_the_job_records_the_second_model(
        chained: ApiServer, links: dict[str, ScriptedLLM]) -> None:
    serve(links["first"], failure(500, "upstream exploded", error_type="server_error"))
    serve(links["second"], answer(ANSWER))
    with chained.client(make_tenant().api_key) as client:
        response = extract(client)
        assert response.status_code == 200, response.text
        body = response.json()
        job = client.get(f"/v1/jobs/{body['job_id']}").json()
    assert body["result"]["po_reference"] == "PO-7781"
    assert len(links["first"].requests) == 1 and len(links["second"].requests) == 1
    assert body["model"] == SECOND and job["model"] == SECOND
    assert body["engine"] == job["engine"] == f"llm:{SECOND}"  # whose answer it is
    assert links["second"].requests[0].headers["authorization"] == "Bearer sk-chain-test-key"


def test_a_first_link_slower_than_its_timeout_falls_back(
        chained: ApiServer, links: dict[str, ScriptedLLM]) -> None:
    serve(links["first"], Reply(content=json.dumps(ANSWER), delay_s=4))
    serve(links["second"], answer(ANSWER))
    with chained.client(make_tenant().api_key) as client:
        response = extract(client)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == SECOND
    assert len(links["first"].requests) == 1 and len(links["second"].requests) == 1


def test_a_rate_limited_link_rests_and_the_next_job_skips_it(
        chained: ApiServer, links: dict[str, ScriptedLLM]) -> None:
    serve(links["first"], failure(429, "Rate limit reached", retry_after="60",
                                  error_type="requests"))
    serve(links["second"], answer(ANSWER))
    with chained.client(make_tenant().api_key) as client:
        first_job, second_job = extract(client), extract(client)
    assert first_job.status_code == second_job.status_code == 200, second_job.text
    assert first_job.json()["model"] == second_job.json()["model"] == SECOND
    # The second job never called the resting link (shared cooldown, in Redis).
    assert len(links["first"].requests) == 1 and len(links["second"].requests) == 2


def test_all_links_failing_is_500_all_providers_failed_and_charges_nothing(
        chained: ApiServer, links: dict[str, ScriptedLLM]) -> None:
    serve(links["second"], failure(503, "overloaded", error_type="server_error"))
    tenant = make_tenant()
    with chained.client(tenant.api_key) as client:
        before = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
        response = extract(client)
        assert response.status_code == 500, response.text
        assert response.json()["detail"] == DETAIL
        assert response.json()["code"] == "all_providers_failed"
        jobs = client.get("/v1/jobs").json()["data"]
        job = client.get(f"/v1/jobs/{jobs[0]['job_id']}").json()
        after = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
    assert job["status"] == "failed" and job["error"]["code"] == "all_providers_failed"
    assert job["error"]["detail"] == DETAIL
    assert after["credits_balance"] == before["credits_balance"]
    assert len(links["second"].requests) == 1  # failed once: not retried as transient


def test_byok_failure_stays_with_the_caller_unless_it_opts_in(
        chained: ApiServer, links: dict[str, ScriptedLLM]) -> None:
    serve(links["byok"], failure(500, "caller's provider is down", error_type="server_error"))
    serve(links["second"], answer(ANSWER))
    byok = {"llm_provider_model": "openai/caller-model", "llm_api_key": "sk-caller-key-123",
            "llm_api_base": links["byok"].url, "llm_num_retries": "0"}
    with chained.client(make_tenant().api_key) as client:
        own = extract(client, **byok)
        assert own.status_code == 502, own.text
        assert own.json()["code"] == "llm_provider_error"
        assert links["second"].requests == [] and len(links["byok"].requests) == 1
        opted = extract(client, **byok, llm_fallback="true")
    assert opted.status_code == 200, opted.text
    assert opted.json()["model"] == SECOND and opted.json()["result"] == ANSWER
    # Opting in may use the server's paid models: the full standard rate, not the BYOK half.
    assert opted.json()["cost"]["credits_used"] == 3
    assert len(links["byok"].requests) == 2 and len(links["second"].requests) == 1
    assert links["second"].requests[0].headers["authorization"] == "Bearer sk-chain-test-key"


def test_the_ocr_chain_falls_back_for_a_scanned_page(
        chained: ApiServer, links: dict[str, ScriptedLLM]) -> None:
    serve(links["ocr_first"], failure(502, "vision backend down", error_type="server_error"))
    serve(links["ocr_second"], answer(TRANSCRIPT))
    scan = make.image_bytes(make.rendered_text(["Scanned Invoice"]), "PNG")
    with chained.client(make_tenant().api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("scan.png", scan)},
                               data={"wait": "60"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "| Paper | 12.00 |" in body["markdown"]
    assert body["meta"]["engine"] == f"llm:{OCR_SECOND}"
    assert len(links["ocr_first"].requests) == 1 and len(links["ocr_second"].requests) == 1
    sent: Recorded = links["ocr_second"].requests[0]
    parts = sent.body["messages"][-1]["content"]
    assert any(part["type"] == "image_url" for part in parts)


def test_an_ocr_chain_that_fails_entirely_fails_the_job_without_charge(
        chained: ApiServer, links: dict[str, ScriptedLLM]) -> None:
    serve(links["ocr_first"], failure(500, "vision backend down", error_type="server_error"))
    serve(links["ocr_second"], failure(500, "vision backend down", error_type="server_error"))
    scan = make.image_bytes(make.rendered_text(["Scanned Invoice"]), "PNG")
    tenant = make_tenant()
    with chained.client(tenant.api_key) as client:
        before = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
        response = client.post("/v1/to-markdown", files={"file": ("scan.png", scan)},
                               data={"wait": "60"})
        after = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
    assert response.status_code == 500, response.text
    assert response.json()["detail"] == DETAIL
    assert response.json()["code"] == "all_providers_failed"
    assert after["credits_balance"] == before["credits_balance"]
    assert len(links["ocr_first"].requests) == 1 and len(links["ocr_second"].requests) == 1
