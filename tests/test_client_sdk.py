"""The `quarry_client` SDK against the real stack: results, errors, retries, idempotency."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from quarry_client import (
    AsyncQuarry,
    AuthenticationError,
    BadRequest,
    InsufficientCredits,
    JobOptions,
    NotFound,
    PermissionDenied,
    Quarry,
    RetryPolicy,
)

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, Process

SCHEMA = {"invoice_number": "string", "total": "number"}


def test_extract_and_markdown_return_typed_results(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    with Quarry(tenant.api_key, api.url) as quarry:
        result = quarry.extract(("invoice.pdf", make_pdf(lines=INVOICE_LINES)), SCHEMA)
        markdown = quarry.to_markdown(("doc.pdf", make_pdf(lines=INVOICE_LINES, pages=2)))
        me = quarry.me()
    assert result.status == "success" and result.job_id.startswith("job_")
    assert result.result == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert result.cost == {"credits_used": 3, "pages": 1} and result.credits_remaining == 97
    assert "Invoice Number: INV-2024-001" in markdown.markdown and markdown.meta["pages"] == 2
    assert (me.tenant_id, me.is_admin, me.credits_balance) == (tenant.tenant_id, False, 93)


def test_submit_then_wait_and_presigned_upload(api: ApiServer, worker: Process, tmp_path: object) -> None:
    tenant = make_tenant(credits=100)
    pdf = make_pdf(lines=INVOICE_LINES)
    with Quarry(tenant.api_key, api.url, presign_threshold=1) as quarry:  # every file goes presign + PUT
        job = quarry.submit(("inv.pdf", pdf), JobOptions(schema=SCHEMA, mode="fast"))
        assert job.status in ("queued", "running") or job.done
        finished = quarry.wait(job, timeout=60)
        by_uri = quarry.extract(("inv.pdf", pdf), SCHEMA, mode="fast")
        page = quarry.list_jobs(limit=10)
    assert finished.ok and finished.result == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert by_uri.result == finished.result
    assert {j.job_id for j in page.jobs} >= {finished.job_id, by_uri.job_id}


def test_async_client_runs_calls_concurrently(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)

    async def run() -> list[str]:
        async with AsyncQuarry(tenant.api_key, api.url) as quarry:
            pdfs = [make_pdf(lines=[f"Invoice Number: INV-{i}", "Total: $5.00"]) for i in range(4)]
            results = await asyncio.gather(*(quarry.extract((f"{i}.pdf", pdf), SCHEMA, mode="fast")
                                             for i, pdf in enumerate(pdfs)))
            return [r.result["invoice_number"] for r in results]

    assert sorted(asyncio.run(run())) == ["INV-0", "INV-1", "INV-2", "INV-3"]


def test_errors_are_typed_with_detail_code_and_status(api: ApiServer, worker: Process) -> None:
    tenant, broke = make_tenant(), make_tenant(credits=0)
    with Quarry("not-a-key", api.url) as quarry, pytest.raises(AuthenticationError) as auth:
        quarry.me()
    assert auth.value.status_code == 401 and auth.value.detail and auth.value.request_id
    with Quarry(broke.api_key, api.url) as quarry, pytest.raises(InsufficientCredits) as credits:
        quarry.extract(("a.pdf", make_pdf()), SCHEMA)
    assert (credits.value.status_code, credits.value.code) == (402, "insufficient_credits")
    with Quarry(tenant.api_key, api.url) as quarry:
        with pytest.raises(NotFound):
            quarry.get_job("job_missing")
        with pytest.raises(BadRequest) as bad:
            quarry.extract(("fake.pdf", b"not a pdf at all"), SCHEMA)
        with pytest.raises(PermissionDenied):
            quarry.admin_create_tenant("nope")
    assert "file signature" in bad.value.detail or bad.value.code != "bad_request"


class LoseFirstResponse(httpx.BaseTransport):
    """Forwards to the real server, then pretends the first POST's answer was lost."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.posts: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.posts.append(request.headers.get("Idempotency-Key"))
            if len(self.posts) == 1:
                response.read()
                raise httpx.ReadError("connection reset", request=request)
        return response


def test_lost_response_is_retried_under_the_same_idempotency_key(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    transport = LoseFirstResponse()
    retry = RetryPolicy(max_retries=3, backoff_base=0.05)
    with Quarry(tenant.api_key, api.url, transport=transport, retry=retry) as quarry:
        result = quarry.extract(("inv.pdf", make_pdf(lines=INVOICE_LINES)), SCHEMA)
    with Quarry(tenant.api_key, api.url) as quarry:
        jobs = quarry.list_jobs(limit=50).jobs
        balance = quarry.balance()
    assert len(transport.posts) == 2 and transport.posts[0] == transport.posts[1] is not None
    assert [j.job_id for j in jobs] == [result.job_id]  # one job, not two
    assert balance.credits_balance == 97 and balance.credits_held == 0


class RecordStatuses(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.seen.append(response.status_code)
        return response


def test_rate_limited_calls_are_retried_until_they_pass(api: ApiServer, worker: Process) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant(credits=100)
    with Quarry(admin.api_key, api.url) as operator:
        operator.admin_set_rate_limits(tenant.tenant_id, general={"rate": 2, "burst": 1},
                                       heavy={"rate": 1, "burst": 1})
    transport = RecordStatuses()
    with Quarry(tenant.api_key, api.url, retry=RetryPolicy(max_retries=20), transport=transport) as quarry:
        started = time.monotonic()
        for _ in range(4):
            assert quarry.me().tenant_id == tenant.tenant_id
        assert quarry.extract(("a.pdf", make_pdf()), SCHEMA, mode="fast").status == "success"
        assert quarry.extract(("b.pdf", make_pdf(lines=["x"])), SCHEMA, mode="fast")
    assert 429 in transport.seen and time.monotonic() - started >= 1.0


def test_admin_keys_credits_and_billing_through_the_client(api: ApiServer, worker: Process) -> None:
    admin = make_tenant(is_admin=True)
    with Quarry(admin.api_key, api.url) as operator:
        tenant = operator.admin_create_tenant("sdk-co", credits=10)
        issued = operator.admin_issue_key(tenant.tenant_id, name="ci")
        topped = operator.admin_top_up(tenant.tenant_id, 15, reason="sdk test")
        assert topped.credits_balance == 25
        assert operator.balance(tenant.tenant_id).credits_balance == 25
    with Quarry(issued.api_key, api.url) as quarry:
        extra = quarry.create_api_key("second")
        names = {k.name for k in quarry.list_api_keys()}
        assert {"ci", "second"} <= names
        assert quarry.revoke_api_key(extra.key_id).revoked_at is not None
        quarry.extract(("a.pdf", make_pdf()), SCHEMA, mode="fast")
        usage = quarry.usage(group_by="operation")
        assert usage.totals["credits"] == 1 and usage.credits_remaining == 24
    with Quarry(admin.api_key, api.url) as operator:
        operator.admin_revoke_key(issued.key_id)
    with Quarry(issued.api_key, api.url) as quarry, pytest.raises(AuthenticationError):
        quarry.me()


def test_cancel_job_through_the_client(api: ApiServer) -> None:
    tenant = make_tenant()
    with Quarry(tenant.api_key, api.url) as quarry:
        job = quarry.submit(("d.pdf", make_pdf()), JobOptions(schema=SCHEMA), wait=0)
        canceled = quarry.cancel_job(job.job_id)
    assert canceled.status in ("canceled", "succeeded", "partial", "failed", "queued", "running")
    assert canceled.job_id == job.job_id
