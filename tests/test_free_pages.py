"""Free pages through HTTP: a plan's monthly free pages are reserved at submission like
credits, so a tenant with no credits can use them, and concurrent jobs can't each count the
same free pages (the excess is refused with 402, never served unpaid)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.factories import TenantKeys, make_pdf, make_tenant
from tests.stack import ApiServer, Process
from tests.test_batches import upload, wait_batch
from tests.test_billing import ledger, wait_idle

PRICE = 2
"""Credits a page for to-markdown in the default mode."""


@pytest.fixture(scope="module")
def admin() -> TenantKeys:
    return make_tenant(is_admin=True)


def free_tenant(api: ApiServer, admin: TenantKeys, *, credits: int) -> TenantKeys:
    """A tenant on the `free` plan: 100 free pages a month."""
    tenant = make_tenant(credits=credits)
    with api.client(admin.api_key) as client:
        answer = client.put(f"/v1/admin/tenants/{tenant.tenant_id}/plan", json={"plan": "free"})
    assert answer.status_code == 200, answer.text
    return tenant


def account(client: httpx.Client, tenant: TenantKeys) -> tuple[int, int, int]:
    """(credits_balance, free_pages_left, ledger_sum) as the tenant sees them."""
    me = client.get("/v1/me").json()
    ledger_sum = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()["ledger_sum"]
    return me["credits_balance"], me["limits"]["free_pages_left"], ledger_sum


def submit_at_once(api: ApiServer, tenant: TenantKeys, count: int, pages: int) -> list[Any]:
    """`count` to-markdown jobs of `pages` pages each, submitted concurrently."""
    pdf = make_pdf(pages=pages)

    def one(_: int) -> httpx.Response:
        with api.client(tenant.api_key) as client:
            return client.post("/v1/to-markdown", files={"file": ("doc.pdf", pdf)},
                               data={"wait": "0"})

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def finished_jobs(client: httpx.Client) -> list[dict[str, Any]]:
    wait_idle(client)
    jobs: list[dict[str, Any]] = client.get("/v1/jobs", params={"limit": 100}).json()["data"]
    return jobs


def test_free_tenant_without_credits_converts_with_its_free_pages(
    api: ApiServer, worker: Process, admin: TenantKeys
) -> None:
    tenant = free_tenant(api, admin, credits=0)
    with api.client(tenant.api_key) as client:
        done = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=30))})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "success"
        assert done.json()["cost"] == {"credits_used": 0, "pages": 30}
        assert account(client, tenant) == (0, 70, 0)


def test_more_pages_than_free_pages_and_credits_cover_is_402_and_changes_nothing(
    api: ApiServer, admin: TenantKeys
) -> None:
    tenant = free_tenant(api, admin, credits=0)
    with api.client(tenant.api_key) as client:
        refused = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=120))})
        assert refused.status_code == 402, refused.text
        body = refused.json()
        # 100 pages free, the other 20 at the default price.
        assert body["code"] == "insufficient_credits"
        assert (body["credits_required"], body["credits_balance"]) == (20 * PRICE, 0)
        assert client.get("/v1/jobs").json()["data"] == []
        assert account(client, tenant) == (0, 100, 0)


def test_concurrent_jobs_cannot_share_the_same_free_pages(
    api: ApiServer, worker: Process, admin: TenantKeys
) -> None:
    tenant = free_tenant(api, admin, credits=0)
    answers = submit_at_once(api, tenant, count=6, pages=30)
    codes = Counter(answer.status_code for answer in answers)
    # 100 free pages cover three 30-page jobs; the fourth would need 20 pages of credits.
    assert codes[202] + codes[200] == 3 and codes[402] == 3, codes
    with api.client(tenant.api_key) as client:
        jobs = finished_jobs(client)
        assert [job["status"] for job in jobs] == ["succeeded"] * 3
        assert sum(job["cost"]["pages"] for job in jobs) == 90
        assert sum(job["cost"]["credits_used"] for job in jobs) == 0
        assert account(client, tenant) == (0, 10, 0)
    total, kinds = ledger(tenant.tenant_id)
    assert total == 0 and kinds["charge"] == 3


def test_free_pages_first_then_credits_under_concurrency(
    api: ApiServer, worker: Process, admin: TenantKeys
) -> None:
    tenant = free_tenant(api, admin, credits=50)
    answers = submit_at_once(api, tenant, count=6, pages=30)
    codes = Counter(answer.status_code for answer in answers)
    # Three jobs free, the fourth 10 free pages + 20 paid (40 credits); 10 credits can't
    # pay for a fifth.
    assert codes[202] + codes[200] == 4 and codes[402] == 2, codes
    with api.client(tenant.api_key) as client:
        jobs = finished_jobs(client)
        assert [job["status"] for job in jobs] == ["succeeded"] * 4
        assert sum(job["cost"]["pages"] for job in jobs) == 120
        # Every page beyond the 100 free ones was paid for, at the full price.
        assert sum(job["cost"]["credits_used"] for job in jobs) == 20 * PRICE
        assert account(client, tenant) == (10, 0, 10)
    total, kinds = ledger(tenant.tenant_id)
    assert total == 10 and kinds["charge"] == 4


def test_a_canceled_job_returns_the_free_pages_it_did_not_use(
    api: ApiServer, worker: Process, admin: TenantKeys
) -> None:
    tenant = free_tenant(api, admin, credits=0)
    with api.client(tenant.api_key) as client:
        job = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=40))},
                          data={"wait": "0"}).json()
        assert client.get("/v1/me").json()["limits"]["free_pages_left"] == 60
        canceled = client.post(f"/v1/jobs/{job['job_id']}/cancel")
        # Queued: nothing used; running: the pages converted so far; finished first (409):
        # all 40.
        used = 40 if canceled.status_code == 409 else canceled.json()["cost"]["pages"]
        wait_idle(client)
        assert account(client, tenant) == (0, 100 - used, 0)


def test_batch_items_take_free_pages_when_the_worker_counts_them(
    api: ApiServer, worker: Process, admin: TenantKeys
) -> None:
    tenant = free_tenant(api, admin, credits=0)
    with api.client(tenant.api_key) as client:
        file_uri = upload(client, make_pdf(pages=30))
        # Held at one free page each on acceptance; the worker raises each to its 30 pages
        # from the free pages left: three fit, the fourth would need 20 pages of credits.
        response = client.post("/v1/batches", json={
            "operation": "inference.to_markdown",
            "items": [{"file_uri": file_uri} for _ in range(4)]})
        assert response.status_code == 202, response.text
        done = wait_batch(client, response.json()["batch_id"])
        assert (done["counts"]["succeeded"], done["counts"]["failed"]) == (3, 1)
        failed = client.get("/v1/jobs", params={"status": "failed"}).json()["data"]
        assert failed[0]["error"]["code"] == "insufficient_credits"
        assert account(client, tenant) == (0, 10, 0)


def test_a_canceled_batch_returns_its_free_pages(
    api: ApiServer, worker: Process, admin: TenantKeys
) -> None:
    tenant = free_tenant(api, admin, credits=0)
    with api.client(tenant.api_key) as client:
        file_uri = upload(client, make_pdf(pages=10))
        response = client.post("/v1/batches", json={
            "operation": "inference.to_markdown",
            "items": [{"file_uri": file_uri} for _ in range(10)]})
        assert response.status_code == 202, response.text
        batch_id = response.json()["batch_id"]
        assert client.post(f"/v1/batches/{batch_id}/cancel").status_code == 200
        done = wait_batch(client, batch_id)
        assert done["counts"]["canceled"] > 0
        pages = sum(job["cost"]["pages"] for job in finished_jobs(client))
        assert account(client, tenant) == (0, 100 - pages, 0)
