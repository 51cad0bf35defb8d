"""The SDK as a user of pydantic-based SDKs expects it, against the real stack: a model class as
the schema and an instance back, retries through a rolling deploy's 502/504s, per-call
timeouts, streamed batch results, and the `QUARRY_BASE_URL` / `QUARRY_API_KEY` environment."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, field_validator
from quarry_client import (
    AsyncQuarry,
    ExtractResult,
    JobOptions,
    Quarry,
    QuarryConnectionError,
    RetryPolicy,
    UpstreamError,
    calls,
)

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, Process

FAST_RETRY = RetryPolicy(max_retries=4, backoff_base=0.05)


class Invoice(BaseModel):
    invoice_number: str
    total: float


class StrictInvoice(Invoice):
    """Stricter than its JSON Schema: the server cannot know about this check."""

    @field_validator("invoice_number")
    @classmethod
    def must_be_a_purchase_order(cls, value: str) -> str:
        if not value.startswith("PO-"):
            raise ValueError("not a purchase order number")
        return value


def test_a_pydantic_model_as_schema_gives_an_instance(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    with Quarry(tenant.api_key, api.url) as quarry:
        result = quarry.extract(("invoice.pdf", make_pdf(lines=INVOICE_LINES)), Invoice, mode="fast")
        as_dict = quarry.extract(("invoice.pdf", make_pdf(lines=INVOICE_LINES)),
                                 {"invoice_number": "string", "total": "number"}, mode="fast")
    assert isinstance(result, ExtractResult) and isinstance(result.data, Invoice)
    assert result.data == Invoice(invoice_number="INV-2024-001", total=1250.0)
    assert not result.is_partial and result.validation_errors in (None, [])
    assert as_dict.data == as_dict.result == {"invoice_number": "INV-2024-001", "total": 1250.0}


def test_a_result_the_model_refuses_is_a_partial_result_not_an_exception(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant(credits=100)
    with Quarry(tenant.api_key, api.url) as quarry:
        result = quarry.extract(("invoice.pdf", make_pdf(lines=INVOICE_LINES)), StrictInvoice,
                                mode="fast")
    assert result.data is None and result.is_partial
    assert result.result == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert all(isinstance(message, str) for message in result.validation_errors or [])
    assert result.model_errors and result.model_errors[0]["path"] == "/invoice_number"
    assert "purchase order" in result.model_errors[0]["message"]


def test_async_extract_with_a_model(api: ApiServer, worker: Process) -> None:
    import asyncio

    tenant = make_tenant(credits=100)

    async def run() -> Invoice | None:
        async with AsyncQuarry(tenant.api_key, api.url) as quarry:
            result = await quarry.extract(("i.pdf", make_pdf(lines=INVOICE_LINES)), Invoice,
                                          mode="fast")
            return result.data

    assert asyncio.run(run()) == Invoice(invoice_number="INV-2024-001", total=1250.0)


class RollingDeploy(httpx.BaseTransport):
    """A proxy in front of the real server: while a deploy rolls, some answers are its own
    502/504/409 instead of the server's."""

    def __init__(self, injected: dict[tuple[str, str], list[httpx.Response]]) -> None:
        self.inner = httpx.HTTPTransport()
        self.injected = injected
        self.sent: list[tuple[str, str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        kind = (request.method, "/v1/jobs/*" if path.startswith("/v1/jobs/") else path)
        self.sent.append((request.method, path, request.headers.get("Idempotency-Key")))
        queue = self.injected.get(kind)
        if queue:
            return queue.pop(0)
        return self.inner.handle_request(request)


def _gateway(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, text=f"<html>{status} from the proxy</html>")


def test_502_504_and_409_in_progress_are_retried_with_the_same_key(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant(credits=100)
    in_progress = httpx.Response(409, json={"detail": "A request with this key is still running.",
                                            "code": "idempotency_in_progress"},
                                 headers={"Retry-After": "1"})
    transport = RollingDeploy({
        ("POST", "/v1/extract"): [_gateway(502), in_progress],
        ("GET", "/v1/jobs/*"): [_gateway(504), _gateway(502)],
    })
    started = time.monotonic()
    with Quarry(tenant.api_key, api.url, transport=transport, retry=FAST_RETRY) as quarry:
        job = quarry.submit(("inv.pdf", make_pdf(lines=INVOICE_LINES)),
                            JobOptions(schema=Invoice.model_json_schema(), mode="fast"), wait=0)
        finished = quarry.wait(job, timeout=60)
        jobs = quarry.list_jobs().jobs
    assert time.monotonic() - started >= 1.0, "Retry-After was not honoured"
    assert finished.ok and [j.job_id for j in jobs] == [finished.job_id]
    keys = [key for method, path, key in transport.sent if path == "/v1/extract"]
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]


def test_a_post_that_is_not_replayable_is_not_retried_on_502(api: ApiServer) -> None:
    tenant = make_tenant()
    transport = RollingDeploy({("POST", "/v1/api-keys"): [_gateway(502)]})
    with Quarry(tenant.api_key, api.url, transport=transport, retry=FAST_RETRY) as quarry:
        with pytest.raises(UpstreamError):
            quarry.create_api_key("once")
        assert [k.name for k in quarry.list_api_keys()].count("once") == 0
    assert sum(1 for method, path, _ in transport.sent if path == "/v1/api-keys" and method == "POST") == 1


class SlowServer(httpx.BaseTransport):
    def __init__(self, delay: float) -> None:
        self.inner, self.delay = httpx.HTTPTransport(), delay

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        if timeout is not None and timeout < self.delay:
            time.sleep(timeout)
            raise httpx.ReadTimeout("timed out", request=request)
        return self.inner.handle_request(request)


def test_with_options_sets_a_timeout_and_retry_budget_per_call(api: ApiServer) -> None:
    tenant = make_tenant()
    with Quarry(tenant.api_key, api.url, transport=SlowServer(delay=2.0)) as quarry:
        assert quarry.me().tenant_id == tenant.tenant_id  # default 60 s read timeout
        started = time.monotonic()
        with pytest.raises(QuarryConnectionError):
            quarry.with_options(timeout=0.2, max_retries=0).me()
        assert time.monotonic() - started < 1.5
        assert quarry.settings.timeout == 60.0  # the original client is unchanged


class CountingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, counter: list[int]) -> None:
        self.inner, self.counter = inner, counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.counter[0] += len(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class CountBytes(httpx.BaseTransport):
    """Counts the bytes of `/results` answers handed to the client so far."""

    def __init__(self) -> None:
        self.inner, self.delivered = httpx.HTTPTransport(), [0]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/results"):
            assert isinstance(response.stream, httpx.SyncByteStream)
            response.stream = CountingStream(response.stream, self.delivered)
        return response


def test_batch_results_stream_line_by_line(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=1_000)
    text = ("A line of text that makes every result a few kilobytes long. " * 60).encode()
    transport = CountBytes()
    with Quarry(tenant.api_key, api.url, transport=transport) as quarry:
        uploaded = quarry.upload(("notes.txt", text))
        created = quarry.create_batch("inference.to_markdown",
                                      [{"file_uri": uploaded.file_uri} for _ in range(60)])
        deadline = time.monotonic() + 120
        while quarry.get_batch(created.batch_id).finished < 60:
            assert time.monotonic() < deadline, "the batch did not finish"
            time.sleep(0.5)
        results = quarry.batch_results(created.batch_id)
        assert not isinstance(results, list)
        first = next(iter(results))
        read_at_first = transport.delivered[0]
        rest = list(results)
    assert first.raw["position"] == 0 and first.ok
    assert len(rest) == 59 and [job.raw["position"] for job in rest] == list(range(1, 60))
    assert read_at_first < transport.delivered[0] / 2, "the whole answer was read before the first item"


def test_base_url_and_api_key_from_the_environment(api: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = make_tenant()
    monkeypatch.delenv("QUARRY_URL", raising=False)
    monkeypatch.setenv("QUARRY_BASE_URL", api.url)
    monkeypatch.setenv("QUARRY_API_KEY", tenant.api_key)
    with Quarry() as quarry:
        assert quarry.me().tenant_id == tenant.tenant_id
    monkeypatch.delenv("QUARRY_BASE_URL")
    monkeypatch.setenv("QUARRY_URL", api.url)  # the older name still works
    with Quarry() as quarry:
        assert quarry.me().tenant_id == tenant.tenant_id


def _properties(schema: dict[str, Any], components: dict[str, Any], seen: set[str]) -> set[str]:
    """Every property name a response schema can carry (refs, anyOf/allOf, list envelopes)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return set()
        return _properties(components[name], components, seen | {name})
    names = set(schema.get("properties", {}))
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            names |= _properties(part, components, seen)
    data = schema.get("properties", {}).get("data", {})
    if data.get("type") == "array":  # a list envelope: the items are what the client reads
        names |= _properties(data.get("items", {}), components, seen)
    return names


def _documented(spec: dict[str, Any], components: dict[str, Any], route: Any) -> set[str]:
    operation = spec["paths"][route.path][route.method.lower()]
    documented: set[str] = set()
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            for content in response.get("content", {}).values():
                documented |= _properties(content.get("schema", {}), components, set())
    return documented


def test_every_typed_response_field_is_in_the_servers_openapi(api: ApiServer) -> None:
    """Each client model's typed fields are documented by the route that returns it."""
    from quarry_client import models
    from quarry_client.routes import ROUTES

    returns: dict[str, type[models.ApiObject]] = {
        "me": models.Me, "list_api_keys": models.ApiKey, "create_api_key": models.IssuedKey,
        "revoke_api_key": models.ApiKey, "admin_create_tenant": models.Tenant,
        "admin_issue_key": models.IssuedKey, "admin_revoke_key": models.ApiKey,
        "admin_top_up": models.CreditBalance, "admin_set_rate_limits": models.RateLimits,
        "presign_upload": models.PresignedUpload, "get_job": models.Job, "cancel_job": models.Job,
        "list_jobs": models.Job, "create_batch": models.BatchCreated, "list_batches": models.Batch,
        "get_batch": models.Batch, "cancel_batch": models.Batch,
        "get_webhook_secret": models.WebhookSecret, "rotate_webhook_secret": models.WebhookSecret,
        "list_deliveries": models.Delivery, "redeliver": models.Delivery, "balance": models.Balance,
        "usage": models.Usage, "create_training_job": models.TrainingJob,
        "get_training_job": models.TrainingJob, "list_artifacts": models.Artifact,
        "get_artifact": models.Artifact, "delete_artifact": models.Artifact,
        "extract": models.ExtractResult, "to_markdown": models.MarkdownResult,
    }
    spec = httpx.get(f"{api.url}/openapi.json", timeout=10).json()
    components = spec.get("components", {}).get("schemas", {})
    problems = []
    for name, model in returns.items():
        documented = _documented(spec, components, ROUTES[name])
        if name == "create_training_job":  # 202, then polled: one typed object for both answers
            documented |= _documented(spec, components, ROUTES["get_training_job"])
        # `raw`, `data` and `model_errors` are made by the client, not sent by the server.
        typed = {field.name for field in dataclasses.fields(model)} - {"raw", "data", "model_errors"}
        if model in (models.Job, models.TrainingJob):
            typed -= {"status_url"}  # only on the 202 of the creating call
        if not documented:
            problems.append((name, "no documented response schema"))
        elif typed - documented:
            problems.append((name, sorted(typed - documented)))
    assert not problems, problems


def test_short_lists_follow_every_page(api: ApiServer) -> None:
    """The server pages every list (50 by default): `list_api_keys()` still returns them all."""
    tenant = make_tenant()
    with Quarry(tenant.api_key, api.url) as quarry:
        for index in range(60):
            quarry.create_api_key(f"k{index}")
        first_page = quarry.call(calls.list_api_keys())
        keys = quarry.list_api_keys()
    assert len(first_page.data) < 61 and first_page.has_more
    assert len(keys) == 61 and len({key.key_id for key in keys}) == 61


def test_page_range_and_per_page_markdown(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    with Quarry(tenant.api_key, api.url) as quarry:
        whole = quarry.to_markdown(("two.pdf", make_pdf(lines=INVOICE_LINES, pages=2)))
        second = quarry.to_markdown(("two.pdf", make_pdf(lines=INVOICE_LINES, pages=2)), page_range="2")
    assert [page.page for page in whole.pages] == [1, 2]
    assert all("INV-2024-001" in page.markdown for page in whole.pages)
    assert [page.page for page in second.pages] == [2] and second.cost == {"credits_used": 2, "pages": 1}
