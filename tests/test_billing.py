"""Credits, limits and tenancy through HTTP: holds, charges, 402, 429, 503, usage."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shared.billing.models import LedgerEntry
from shared.db.session import transaction
from tests.factories import make_long_pdf, make_pdf, make_tenant
from tests.stack import ApiServer, Process, redis_database, start_api


def ledger(tenant_id: str) -> tuple[int, Counter[str]]:
    with transaction() as session:
        total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                               .where(LedgerEntry.tenant_id == tenant_id))
        kinds = Counter(session.scalars(select(LedgerEntry.kind)
                                        .where(LedgerEntry.tenant_id == tenant_id)))
    return int(total or 0), kinds


def wait_idle(client: httpx.Client, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [client.get("/v1/jobs", params={"status": s, "limit": 1}).json()["data"]
                for s in ("queued", "running")]
        if not any(busy):
            return
        time.sleep(0.3)
    raise AssertionError("jobs still pending")


@pytest.fixture(scope="module")
def roomy_api(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    # Room for all 200 at once, so the holds race (the caps are tested elsewhere).
    server = start_api({**base_env, "QUARRY_MAX_INFLIGHT_HEAVY": "500",
                        "QUARRY_MAX_INFLIGHT_HEAVY_PER_TENANT": "500"}, log_dir)
    yield server
    server.process.stop()


def test_200_concurrent_submissions_never_overdraw(
    roomy_api: ApiServer, api: ApiServer, worker: Process
) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant(credits=50)
    with api.client(admin.api_key) as client:
        limits = {"heavy": {"rate": 1000, "burst": 1000}}
        put = client.put(f"/v1/admin/tenants/{tenant.tenant_id}/rate-limits", json=limits)
        assert put.status_code == 200, put.text
    pdf = make_pdf()

    async def fire() -> list[int]:
        async with httpx.AsyncClient(base_url=roomy_api.url, timeout=120,
                                     headers={"X-API-KEY": tenant.api_key}) as client:
            async def one() -> int:
                response = await client.post(
                    "/v1/to-markdown", files={"file": ("a.pdf", pdf)},
                    data={"conversion_mode": "fast", "wait": "0"})
                return response.status_code
            return await asyncio.gather(*(one() for _ in range(200)))

    codes = Counter(asyncio.run(fire()))
    assert codes[200] + codes[202] == 50 and codes[402] == 150, codes
    with api.client(tenant.api_key) as client:
        wait_idle(client)
        succeeded = client.get("/v1/jobs", params={"status": "succeeded", "limit": 200}).json()
        assert len(succeeded["data"]) == 50
        balance = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
    total, kinds = ledger(tenant.tenant_id)
    assert balance["credits_balance"] == 0 == total == balance["ledger_sum"]
    assert kinds == {"top_up": 1, "hold": 50, "release": 50, "charge": 50}


def test_402_names_the_shortfall_and_creates_nothing(api: ApiServer) -> None:
    tenant = make_tenant(credits=2)
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf(pages=1))},
                               data={"schema": '{"total": "number"}'})
        assert response.status_code == 402
        body = response.json()
        assert body["code"] == "insufficient_credits" and body["credits_required"] == 3
        assert client.get("/v1/jobs").json()["data"] == []
        assert client.get("/v1/me").json()["credits_balance"] == 2


def test_partial_is_charged_but_422_is_not(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    schema = json.dumps({"type": "object", "required": ["po_number"],
                         "properties": {"po_number": {"type": "string"}}})
    with api.client(tenant.api_key) as client:
        failed = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                             data={"schema": schema})
        assert failed.status_code == 422
        assert client.get("/v1/me").json()["credits_balance"] == 100
        partial = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                              data={"schema": schema, "allow_partial": "true"})
        assert partial.json()["status"] == "partial"
        assert partial.json()["cost"]["credits_used"] == 3
        assert partial.json()["credits_remaining"] == 97
    total, kinds = ledger(tenant.tenant_id)
    assert total == 97 and kinds["charge"] == 1


def test_canceled_job_gets_back_what_it_did_not_use(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=10_000)
    with api.client(tenant.api_key) as client:
        job = client.post("/v1/to-markdown", files={"file": ("big.pdf", make_long_pdf(pages=800))},
                          data={"wait": "0"}).json()
        assert client.get("/v1/me").json()["credits_balance"] == 10_000 - 1600
        canceled = client.post(f"/v1/jobs/{job['job_id']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        # Queued: free. Running (a worker claimed it already): the pages it converted.
        used = canceled.json()["cost"]["credits_used"]
        assert used == 2 * canceled.json()["cost"]["pages"] < 1600
        wait_idle(client)
        time.sleep(1)
        assert client.get(f"/v1/jobs/{job['job_id']}").json()["status"] == "canceled"
        assert client.get("/v1/me").json()["credits_balance"] == 10_000 - used
    total, kinds = ledger(tenant.tenant_id)
    assert total == 10_000 - used and kinds["charge"] == (1 if used else 0)


def test_rate_limit_429_with_headers_per_tenant(api: ApiServer) -> None:
    admin, slow, other = make_tenant(is_admin=True), make_tenant(), make_tenant()
    with api.client(admin.api_key) as client:
        client.put(f"/v1/admin/tenants/{slow.tenant_id}/rate-limits",
                   json={"general": {"rate": 1, "burst": 3}})
    with api.client(slow.api_key) as client:
        responses = [client.get("/v1/jobs") for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert responses[0].headers["x-ratelimit-limit"] == "3"
    assert responses[0].headers["x-ratelimit-remaining"] == "2"
    limited = responses[3]
    assert limited.json()["detail"] == "Rate limit exceeded"
    assert limited.headers["retry-after"] == "1" and "x-ratelimit-reset" in limited.headers
    with api.client(other.api_key) as client:
        assert client.get("/v1/jobs").status_code == 200
    time.sleep(1.1)
    with api.client(slow.api_key) as client:
        assert client.get("/v1/jobs").status_code == 200


@pytest.fixture(scope="module")
def capped_api(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    no_worker_queue = redis_database(base_env, 5)
    server = start_api({**base_env, "QUARRY_REDIS_URL": no_worker_queue,
                        "QUARRY_MAX_INFLIGHT_HEAVY": "1", "QUARRY_MAX_QUEUE_DEPTH": "1"}, log_dir)
    yield server
    server.process.stop()


def test_inflight_cap_and_queue_guard_give_503(capped_api: ApiServer) -> None:
    tenant = make_tenant()

    form = (b'--b\r\nContent-Disposition: form-data; name="wait"\r\n\r\n0\r\n--b\r\n'
            b'Content-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + make_pdf() + b"\r\n--b--\r\n")

    async def slow_upload() -> AsyncIterator[bytes]:  # holds the one place while it arrives
        yield form[:100]
        await asyncio.sleep(2)
        yield form[100:]

    async def one_uploading() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=capped_api.url, timeout=30,
                                     headers={"X-API-KEY": tenant.api_key}) as client:
            async def submit(delay: float) -> httpx.Response:
                await asyncio.sleep(delay)
                return await client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                                         data={"wait": "2"})
            uploading = client.post("/v1/to-markdown", content=slow_upload(),
                                    headers={"Content-Type": "multipart/form-data; boundary=b"})
            return list(await asyncio.gather(uploading, submit(0.5)))

    first, second = asyncio.run(one_uploading())
    assert first.status_code == 202  # no worker on this queue
    assert second.status_code == 503 and second.headers["retry-after"] == "1"
    with capped_api.client(tenant.api_key) as client:
        client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())}, data={"wait": "0"})
        full = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                           data={"wait": "0"})
    assert full.status_code == 503 and "queue" in full.json()["detail"]


def test_usage_and_balance_are_tenant_scoped(api: ApiServer, worker: Process) -> None:
    tenant, other, admin = make_tenant(credits=100), make_tenant(), make_tenant(is_admin=True)
    with api.client(tenant.api_key) as client:
        client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=2))})
        client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                    data={"schema": '{"total": "number"}', "mode": "fast"})
        by_operation = client.get(f"/v1/billing/usage/{tenant.tenant_id}",
                                  params={"group_by": "operation"}).json()
        by_day = client.get(f"/v1/billing/usage/{tenant.tenant_id}").json()
        assert client.get(f"/v1/billing/balance/{other.tenant_id}").status_code == 403
    rows = {row["operation"]: row for row in by_operation["rows"]}
    assert rows["inference.to_markdown"]["credits"] == 4 and rows["inference.to_markdown"]["pages"] == 2
    assert rows["inference.extract"]["credits"] == 1
    assert by_operation["totals"] == {"jobs": 2, "pages": 3, "credits": 5}
    assert by_operation["credits_remaining"] == 95
    assert by_day["rows"][0]["day"] == time.strftime("%Y-%m-%d", time.gmtime())
    with api.client(admin.api_key) as client:
        seen = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
    assert seen["credits_balance"] == 95 == seen["ledger_sum"]


def test_monthly_free_pages_are_not_billed(base_env: dict[str, str], log_dir: Path) -> None:
    from tests.stack import start_worker

    env = {**base_env, "QUARRY_FREE_PAGES_PER_MONTH": "3",
           "QUARRY_REDIS_URL": redis_database(base_env, 7)}
    own_api, own_worker = start_api(env, log_dir), start_worker(env, log_dir, concurrency=1)
    try:
        tenant = make_tenant(credits=100)
        with own_api.client(tenant.api_key) as client:
            first = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=2))})
            second = client.post("/v1/to-markdown", files={"file": ("b.pdf", make_pdf(pages=2))})
    finally:
        own_worker.stop()
        own_api.process.stop()
    assert first.json()["cost"] == {"credits_used": 0, "pages": 2}
    assert second.json()["cost"] == {"credits_used": 2, "pages": 2}
    assert second.json()["credits_remaining"] == 98
