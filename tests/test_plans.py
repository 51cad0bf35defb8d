"""Plans through HTTP: a tenant's plan sets its heavy rate (free 10/min, premium 100/min), its
upload size (free 5 MiB, premium 50 MiB) on multipart and presigned uploads alike, and its
monthly free pages; the admin API moves a tenant between plans and overrides still win."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymupdf
import pytest

from tests.factories import TenantKeys, make_pdf, make_tenant
from tests.stack import ApiServer, Process, redis_database, start_api, start_worker

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def admin() -> TenantKeys:
    return make_tenant(is_admin=True)


def put_on_plan(api: ApiServer, admin: TenantKeys, tenant: TenantKeys, plan: str) -> httpx.Response:
    with api.client(admin.api_key) as client:
        return client.put(f"/v1/admin/tenants/{tenant.tenant_id}/plan", json={"plan": plan})


def tenant_on(api: ApiServer, admin: TenantKeys, plan: str) -> TenantKeys:
    tenant = make_tenant()
    answer = put_on_plan(api, admin, tenant, plan)
    assert answer.status_code == 200, answer.text
    return tenant


def heavy_statuses(api: ApiServer, tenant: TenantKeys, count: int) -> list[int]:
    """`count` heavy calls at once; each takes a token, though its body (no file) is a 400."""
    with api.client(tenant.api_key) as client:
        return [client.post("/v1/to-markdown", data={"wait": "0"}).status_code
                for _ in range(count)]


def pdf_of_size(size: int) -> bytes:
    """A valid one-page PDF carrying `size` bytes of incompressible attachment."""
    document = pymupdf.open(stream=make_pdf(), filetype="pdf")
    document.embfile_add("padding.bin", os.urandom(size))
    data: bytes = document.tobytes()
    return data


def test_free_gets_429_on_its_11th_heavy_request_and_premium_does_not(
    api: ApiServer, admin: TenantKeys
) -> None:
    free, premium = tenant_on(api, admin, "free"), tenant_on(api, admin, "premium")
    free_statuses = heavy_statuses(api, free, 11)
    assert free_statuses[:10] == [400] * 10 and free_statuses[10] == 429
    with api.client(free.api_key) as client:
        refused = client.post("/v1/to-markdown", data={"wait": "0"})
    assert refused.json() == {"detail": "Rate limit exceeded", "code": "rate_limited"}
    assert refused.headers["X-RateLimit-Limit"] == "10" and int(refused.headers["Retry-After"]) >= 1
    assert heavy_statuses(api, premium, 11) == [400] * 11


def test_an_override_on_top_of_a_plan_wins(api: ApiServer, admin: TenantKeys) -> None:
    tenant = tenant_on(api, admin, "premium")
    with api.client(admin.api_key) as client:
        put = client.put(f"/v1/admin/tenants/{tenant.tenant_id}/rate-limits",
                         json={"heavy": {"rate": 0.05, "burst": 3}})
        assert put.status_code == 200, put.text
    assert heavy_statuses(api, tenant, 4) == [400, 400, 400, 429]
    with api.client(tenant.api_key) as client:
        me = client.get("/v1/me").json()
    assert me["plan"] == "premium"
    assert me["limits"]["heavy"] == {"per_minute": 3.0, "rate_per_s": 0.05, "burst": 3}
    assert me["limits"]["general"]["per_minute"] == 3000  # not overridden: the plan's own


def test_me_shows_the_plan_and_its_limits(api: ApiServer, admin: TenantKeys) -> None:
    tenant = tenant_on(api, admin, "free")
    with api.client(tenant.api_key) as client:
        me = client.get("/v1/me").json()
    assert me["plan"] == "free"
    assert me["limits"] == {
        "heavy": {"per_minute": 10.0, "rate_per_s": pytest.approx(10 / 60), "burst": 10},
        "general": {"per_minute": 300.0, "rate_per_s": 5.0, "burst": 60},
        "max_upload_bytes": 5 * MIB, "free_pages_per_month": 100, "free_pages_left": 100,
        "max_batch_items": 10,
    }
    with api.client(make_tenant().api_key) as client:  # no plan: the default (flat settings)
        assert client.get("/v1/me").json()["plan"] == "standard"


def test_multipart_upload_size_follows_the_plan_and_switching_takes_effect(
    api: ApiServer, admin: TenantKeys
) -> None:
    tenant = tenant_on(api, admin, "free")
    document = pdf_of_size(6 * MIB)
    with api.client(tenant.api_key) as client:
        refused = client.post("/v1/to-markdown", files={"file": ("big.pdf", document)},
                              data={"wait": "0"})
        assert refused.status_code == 413
        assert refused.json() == {"detail": "File exceeds the upload size limit of 5 MiB.",
                                  "code": "payload_too_large"}
        # Under the plan's limit plus the form's envelope, the file alone is still too big.
        small_over = client.post("/v1/to-markdown", data={"wait": "0"},
                                 files={"file": ("b.pdf", pdf_of_size(5 * MIB + 200_000))})
        assert small_over.status_code == 413 and "5 MiB" in small_over.json()["detail"]
    moved = put_on_plan(api, admin, tenant, "premium")
    assert moved.status_code == 200
    assert moved.json()["plan"] == "premium"
    assert moved.json()["limits"]["max_upload_bytes"] == 50 * MIB
    with api.client(tenant.api_key) as client:
        accepted = client.post("/v1/to-markdown", files={"file": ("big.pdf", document)},
                               data={"wait": "0"})
        assert accepted.status_code == 202, accepted.text
        client.post(f"/v1/jobs/{accepted.json()['job_id']}/cancel")
        assert client.get("/v1/me").json()["plan"] == "premium"


def test_presigned_upload_size_follows_the_plan(api: ApiServer, admin: TenantKeys) -> None:
    free, premium = tenant_on(api, admin, "free"), tenant_on(api, admin, "premium")
    body = os.urandom(6 * MIB)
    with api.client(free.api_key) as client:
        declared = client.post("/v1/uploads/presign", json={"file_name": "a.pdf", "size": len(body)})
        assert declared.status_code == 413
        assert declared.json()["detail"] == "File exceeds the upload size limit of 5 MiB."
        presigned = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()
    assert presigned["max_bytes"] == 5 * MIB
    put = httpx.put(presigned["upload_url"], content=body, headers=presigned["headers"], timeout=60)
    assert put.status_code == 413
    assert put.json()["detail"] == "File exceeds the upload size limit of 5 MiB."
    with api.client(premium.api_key) as client:
        presigned = client.post("/v1/uploads/presign",
                                json={"file_name": "a.pdf", "size": len(body)}).json()
    assert presigned["max_bytes"] == 50 * MIB
    put = httpx.put(presigned["upload_url"], content=body, headers=presigned["headers"], timeout=60)
    assert put.status_code == 200 and put.json()["size"] == len(body)


def test_an_unknown_plan_is_400_listing_the_plans(api: ApiServer, admin: TenantKeys) -> None:
    tenant = make_tenant()
    answer = put_on_plan(api, admin, tenant, "platinum")
    assert answer.status_code == 400
    assert "free, premium, standard" in answer.json()["detail"]
    with api.client(tenant.api_key) as client:
        assert client.put(f"/v1/admin/tenants/{tenant.tenant_id}/plan",
                          json={"plan": "premium"}).status_code == 403
        assert client.get("/v1/me").json()["plan"] == "standard"


@pytest.fixture(scope="module")
def planned_stack(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API and worker whose operator defined a `trial` plan (3 free pages a month) and made
    it the default."""
    plans = {"trial": {"heavy": {"per_minute": 600}, "general": {"per_minute": 6000},
                       "max_upload_mb": 10, "free_pages_per_month": 3}}
    env = {**base_env, "QUARRY_PLANS": json.dumps(plans), "QUARRY_DEFAULT_PLAN": "trial",
           "QUARRY_REDIS_URL": redis_database(base_env, 8)}
    own_api = start_api(env, log_dir)
    own_worker: Process = start_worker(env, log_dir, concurrency=1)
    yield own_api
    own_worker.stop()
    own_api.process.stop()


def test_the_plans_free_pages_are_used_before_credits(planned_stack: ApiServer) -> None:
    tenant = make_tenant(credits=100)
    with planned_stack.client(tenant.api_key) as client:
        me = client.get("/v1/me").json()
        assert (me["plan"], me["limits"]["free_pages_left"]) == ("trial", 3)
        first = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=2))})
        second = client.post("/v1/to-markdown", files={"file": ("b.pdf", make_pdf(pages=2))})
        after = client.get("/v1/me").json()
    assert first.json()["cost"] == {"credits_used": 0, "pages": 2}
    # One page left free, one billed at the default markdown price (2 credits a page).
    assert second.json()["cost"] == {"credits_used": 2, "pages": 2}
    assert second.json()["credits_remaining"] == 98
    assert after["credits_balance"] == 98 and after["limits"]["free_pages_left"] == 0


def test_a_free_batch_is_no_bigger_than_a_minute_of_single_requests(
    api: ApiServer, admin: TenantKeys
) -> None:
    # One batch is one heavy request: without its own cap, 10,000 jobs would ride on one token.
    free, premium = tenant_on(api, admin, "free"), tenant_on(api, admin, "premium")
    answers = {}
    for name, tenant in (("free", free), ("premium", premium)):
        with api.client(tenant.api_key) as client:
            presigned = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()
            put = httpx.put(presigned["upload_url"], content=make_pdf(),
                            headers=presigned["headers"])
            assert put.status_code == 200, put.text
            items = [{"file_uri": presigned["file_uri"]}] * 11
            answers[name] = client.post("/v1/batches", json={
                "operation": "inference.to_markdown", "items": items})
            balance = client.get("/v1/me").json()["credits_balance"]
            answers[name + "_jobs"] = client.get("/v1/jobs").json()["data"]
        if name == "free":
            assert balance == 1000
    refused = answers["free"]
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "too_many_items"
    assert refused.json()["detail"] == "A batch holds at most 10 items on this plan."
    assert answers["free_jobs"] == []
    assert answers["premium"].status_code == 202, answers["premium"].text

