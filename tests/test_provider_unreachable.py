"""A BYOK provider whose host name does not resolve is unreachable (502 `llm_unreachable`, as
docs/providers.md says), not refused: only a name that resolves to a forbidden address is a
400 `unsafe_url`. Webhook URLs are still checked at submission, unresolvable names included."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.llm_server import answer, running_llm
from tests.stack import ApiServer, Process, redis_database, start_api, start_worker

UNRESOLVABLE = "http://no-such-host.invalid/v1"  # RFC 6761: never resolves


def extract_with_model(client: httpx.Client, api_base: str, **form: str) -> httpx.Response:
    return client.post("/v1/extract", files={"file": ("i.pdf", make_pdf(lines=INVOICE_LINES))},
                       data={"schema": '{"invoice_number": "string"}',
                             "llm_provider_model": "openai/gpt-4o-mini",
                             "llm_api_key": "sk-test-key-0000", "llm_api_base": api_base,
                             "llm_num_retries": "0", "wait": "60", **form})


def balance(client: httpx.Client) -> int:
    return int(client.get("/v1/me").json()["credits_balance"])


def test_a_provider_host_that_does_not_resolve_is_unreachable_and_not_charged(
        api: ApiServer, worker: Process) -> None:
    with api.client(make_tenant().api_key) as client:
        before = balance(client)
        response = extract_with_model(client, UNRESOLVABLE)
        after = balance(client)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["code"] == "llm_unreachable", body
    assert "not allowed" not in body["detail"]
    assert after == before


def test_a_provider_host_at_the_metadata_address_is_still_refused(
        api: ApiServer, worker: Process) -> None:
    with api.client(make_tenant().api_key) as client:
        before = balance(client)
        response = extract_with_model(client, "http://169.254.169.254/v1")
        after = balance(client)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsafe_url"
    assert after == before


def test_a_webhook_host_that_does_not_resolve_is_refused_at_submission(api: ApiServer) -> None:
    with api.client(make_tenant().api_key) as client:
        response = client.post("/v1/extract", files={"file": ("d.pdf", make_pdf())}, data={
            "schema": '{"a": "string"}', "webhook_url": "http://no-such-host.invalid/hook"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsafe_url"
    assert "does not resolve" in response.json()["detail"]


def test_llm_fallback_applies_when_the_provider_host_does_not_resolve(
        base_env: dict[str, str], log_dir: Path) -> None:
    """A 400 would never fall back; an unreachable provider does, to the server's chain."""
    with running_llm() as chain_link:
        chain_link.responder = lambda _request: answer({"invoice_number": "INV-2024-001"})
        env = {**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 1),
               "CHAIN_TEST_KEY": "sk-chain-test-key", "QUARRY_LLM_NUM_RETRIES": "0",
               "QUARRY_LLM_CHAIN": json.dumps([{
                   "model": "openai/chain-only", "api_base": chain_link.url,
                   "api_key_env": "CHAIN_TEST_KEY", "timeout_s": 10}])}
        import redis

        redis.Redis.from_url(env["QUARRY_REDIS_URL"]).flushdb()  # no cooldowns or queue left
        api = start_api(env, log_dir)
        worker = start_worker(env, log_dir, concurrency=1, name="unreachable-worker")
        try:
            with api.client(make_tenant().api_key) as client:
                response = extract_with_model(client, UNRESOLVABLE, llm_fallback="true")
        finally:
            worker.stop()
            api.process.stop()
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "openai/chain-only"
    assert response.json()["result"] == {"invoice_number": "INV-2024-001"}
    assert len(chain_link.requests) == 1
