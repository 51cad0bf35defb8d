"""Batches end to end: bulk accept, counts, JSON Lines results, cancel, 402, fairness."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from sqlalchemy import func, select

from shared.billing.models import LedgerEntry
from shared.db.session import transaction
from tests.factories import make_pdf, make_tenant
from tests.receivers import webhook_receiver
from tests.stack import ApiServer, Process


def upload(client: httpx.Client, pdf: bytes, name: str = "doc.pdf") -> str:
    presigned = client.post("/v1/uploads/presign", json={"file_name": name}).json()
    put = httpx.put(presigned["upload_url"], content=pdf, headers=presigned["headers"])
    assert put.status_code == 200, put.text
    file_uri: str = presigned["file_uri"]
    return file_uri


def items_for(client: httpx.Client, count: int, distinct: int = 4) -> list[dict[str, Any]]:
    uris = [upload(client, make_pdf(lines=[f"Document {n}"])) for n in range(distinct)]
    return [{"file_uri": uris[n % distinct], "metadata": {"n": n}} for n in range(count)]


def wait_batch(client: httpx.Client, batch_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        if body["completed_at"]:
            return body
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not complete: {body}")


def results(client: httpx.Client, batch_id: str) -> list[dict[str, Any]]:
    with client.stream("GET", f"/v1/batches/{batch_id}/results") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in response.iter_lines() if line]


def test_batch_of_hundreds_completes_with_counts_results_and_one_event(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant(credits=10_000)
    with webhook_receiver() as receiver, api.client(tenant.api_key) as client:
        items = items_for(client, 240)
        items[7]["conversion_mode"] = "default"
        started = time.monotonic()
        response = client.post("/v1/batches", json={
            "operation": "inference.to_markdown", "defaults": {"conversion_mode": "fast"},
            "items": items, "webhook_url": receiver.url})
        assert response.status_code == 202, response.text
        assert time.monotonic() - started < 5
        batch_id = response.json()["batch_id"]
        assert batch_id.startswith("bat_") and response.json()["total"] == 240
        running = client.get(f"/v1/batches/{batch_id}").json()
        assert running["total"] == 240 and 0 <= running["progress"] <= 1
        done = wait_batch(client, batch_id)
        lines = results(client, batch_id)
        (event,) = receiver.wait_for(1)
        time.sleep(0.5)
        assert len(receiver.requests) == 1
    assert done["status"] == "completed" and done["counts"]["succeeded"] == 240
    assert done["progress"] == 1.0 and done["eta_s"] == 0.0
    assert [line["position"] for line in lines] == list(range(240))
    assert all(line["status"] == "succeeded" and line["markdown"] for line in lines)
    assert [line["metadata"]["n"] for line in lines] == list(range(240))
    assert lines[7]["cost"]["credits_used"] == 2 and lines[8]["cost"]["credits_used"] == 1
    payload = json.loads(event.body)
    assert payload["type"] == "batch.completed"
    assert payload["data"]["batch_id"] == batch_id
    assert payload["data"]["counts"]["succeeded"] == 240


def test_batch_is_tenant_scoped(api: ApiServer) -> None:
    owner, other = make_tenant(), make_tenant()
    with api.client(owner.api_key) as client:
        batch_id = client.post("/v1/batches", json={
            "operation": "inference.to_markdown", "items": items_for(client, 2, 1)}).json()[
            "batch_id"]
    with api.client(other.api_key) as client:
        for response in (client.get(f"/v1/batches/{batch_id}"),
                         client.get(f"/v1/batches/{batch_id}/results"),
                         client.post(f"/v1/batches/{batch_id}/cancel")):
            assert response.status_code == 404


def test_a_batch_the_balance_cannot_cover_is_refused_whole(api: ApiServer) -> None:
    tenant = make_tenant(credits=5)
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/batches", json={
            "operation": "inference.to_markdown", "items": items_for(client, 10, 2)})
        assert response.status_code == 402, response.text
        assert response.json()["credits_required"] == 20
        assert client.get("/v1/me").json()["credits_balance"] == 5
        assert client.get("/v1/jobs").json()["data"] == []


def test_invalid_items_are_named(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        items = items_for(client, 3, 1)
        items[1]["mode"] = "turbo"
        bad_mode = client.post("/v1/batches", json={"operation": "inference.extract",
                                                     "defaults": {"schema": {"a": "string"}},
                                                     "items": items})
        items[1] = {"file_uri": "quarry://uploads/upl_missing"}
        missing = client.post("/v1/batches", json={"operation": "inference.to_markdown",
                                                   "items": items})
        items[1] = {"file_uri": items[0]["file_uri"], "webhook_url": "http://10.0.0.1/"}
        hostile = client.post("/v1/batches", json={"operation": "inference.to_markdown",
                                                   "items": items})
        empty = client.post("/v1/batches", json={"operation": "inference.to_markdown",
                                                 "items": []})
    assert bad_mode.status_code == 400 and "items[1]" in bad_mode.json()["detail"]
    assert missing.status_code == 404 and "items[1]" in missing.json()["detail"]
    assert hostile.status_code == 400 and hostile.json()["code"] == "unsafe_url"
    assert empty.status_code == 400


def test_cancel_stops_what_has_not_run_and_returns_its_credits(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant(credits=1000)
    with webhook_receiver() as receiver, api.client(tenant.api_key) as client:
        response = client.post("/v1/batches", json={
            "operation": "inference.to_markdown", "items": items_for(client, 150, 2),
            "webhook_url": receiver.url})
        batch_id = response.json()["batch_id"]
        canceled = client.post(f"/v1/batches/{batch_id}/cancel")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "canceled"
        done = wait_batch(client, batch_id)
        (event,) = receiver.wait_for(1)
        again = client.post(f"/v1/batches/{batch_id}/cancel").json()
        balance = client.get("/v1/me").json()["credits_balance"]
    counts = done["counts"]
    assert counts["canceled"] > 0 and counts["queued"] == counts["running"] == 0
    assert counts["canceled"] + counts["succeeded"] == 150
    assert again["counts"] == counts
    assert json.loads(event.body)["data"]["status"] == "canceled"
    assert balance == 1000 - 2 * counts["succeeded"]
    with transaction() as session:
        ledger_sum = session.scalar(select(func.sum(LedgerEntry.amount))
                                    .where(LedgerEntry.tenant_id == tenant.tenant_id))
    assert ledger_sum == balance


def test_a_big_batch_does_not_hold_up_another_tenants_single_job(
    api: ApiServer, worker: Process
) -> None:
    bulk, single = make_tenant(credits=10_000), make_tenant()
    with api.client(bulk.api_key) as client:
        batch_id = client.post("/v1/batches", json={
            "operation": "inference.to_markdown", "items": items_for(client, 400, 2)}).json()[
            "batch_id"]
        time.sleep(1)
        with api.client(single.api_key) as other:
            started = time.monotonic()
            response = other.post("/v1/to-markdown", files={"file": ("d.pdf", make_pdf())})
            elapsed = time.monotonic() - started
        pending = client.get(f"/v1/batches/{batch_id}").json()
        client.post(f"/v1/batches/{batch_id}/cancel")
        wait_batch(client, batch_id)
    assert response.status_code == 200, response.text
    assert elapsed < 5, elapsed
    assert pending["counts"]["queued"] > 0, "the batch finished before the single job ran"


def test_second_tenants_batch_gets_an_equal_share_of_the_bulk_queue(
    api: ApiServer, worker: Process
) -> None:
    first, second = make_tenant(credits=10_000), make_tenant(credits=10_000)
    with api.client(first.api_key) as a, api.client(second.api_key) as b:
        a_id = a.post("/v1/batches", json={"operation": "inference.to_markdown",
                                           "items": items_for(a, 300, 2)}).json()["batch_id"]
        time.sleep(1)
        b_id = b.post("/v1/batches", json={"operation": "inference.to_markdown",
                                           "items": items_for(b, 20, 1)}).json()["batch_id"]
        b_done = wait_batch(b, b_id, timeout=60)
        a_state = a.get(f"/v1/batches/{a_id}").json()
        a.post(f"/v1/batches/{a_id}/cancel")
        wait_batch(a, a_id)
    assert b_done["counts"]["succeeded"] == 20
    assert a_state["completed_at"] is None, "the second batch waited for the first"


def test_idempotency_key_returns_the_first_batch_and_holds_credits_once(api: ApiServer) -> None:
    tenant = make_tenant(credits=1_000)
    with api.client(tenant.api_key) as client:
        body = {"operation": "inference.to_markdown", "items": items_for(client, 5)}
        headers = {"Idempotency-Key": "nightly-run-7"}
        first = client.post("/v1/batches", json=body, headers=headers)
        again = client.post("/v1/batches", json=body, headers=headers)
        assert first.status_code == again.status_code == 202
        assert first.json()["batch_id"] == again.json()["batch_id"]
        assert len(client.get("/v1/jobs", params={"limit": 50}).json()["data"]) == 5
        other = client.post("/v1/batches", json={**body, "items": body["items"][:2]},
                            headers=headers)
        assert other.status_code == 409 and other.json()["code"] == "conflict"
