"""Billing and storage holes (issue 12: items 4, 6, 8, 10, 11), closed and kept closed.

Pages beyond the balance are never served, refused calls keep no file, retention sweeps
objects without a row, an admin debit cannot overdraw, a signed upload is written once,
and training needs credits and counts as heavy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shared.billing.models import LedgerEntry
from shared.db.session import transaction
from shared.jobs.models import Job, Upload
from shared.retention.service import purge_expired
from shared.settings import get_settings
from shared.storage.factory import get_storage
from tests.factories import make_pdf, make_tenant
from tests.stack import (
    ApiServer,
    Process,
    create_bucket,
    redis_database,
    start_api,
    start_s3,
    start_worker,
)
from tests.test_batches import results, upload, wait_batch
from tests.test_storage_s3 import BUCKET


def make_eml(*attachments: tuple[str, bytes]) -> bytes:
    """An e-mail with a short body and each (name, PDF bytes) attached."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Docs"
    message.set_content("Please find the documents attached.")
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


def ledger_sum(tenant_id: str) -> int:
    with transaction() as session:
        total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                               .where(LedgerEntry.tenant_id == tenant_id))
    return int(total or 0)


def stored_files(tenant_id: str) -> list[Path]:
    root = get_settings().local_storage_dir / tenant_id
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def poll(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_an_email_is_held_for_its_attachments_pages(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=5)
    eml = make_eml(("report.pdf", make_pdf(pages=3)))
    with api.client(tenant.api_key) as client:
        refused = client.post("/v1/to-markdown", files={"file": ("mail.eml", eml)})
        assert refused.status_code == 402, refused.text
        body = refused.json()
        assert body["code"] == "insufficient_credits" and body["credits_required"] == 8
        assert "markdown" not in body
        assert client.get("/v1/jobs").json()["data"] == []
        assert client.get("/v1/me").json()["credits_balance"] == 5
    assert ledger_sum(tenant.tenant_id) == 5


def test_batch_items_beyond_the_balance_fail_with_402_and_are_not_served(
    api: ApiServer, worker: Process
) -> None:
    """Items are held at one page each; the worker counts the real pages before converting.
    Whatever order they run in, neither long item (6 credits) ever finds 6 to hold."""
    tenant = make_tenant(credits=7)
    with api.client(tenant.api_key) as client:
        long_pdf = upload(client, make_pdf(pages=3))
        long_mail = upload(client, make_eml(("a.pdf", make_pdf(pages=2))), name="mail.eml")
        short_pdf = upload(client, make_pdf(lines=["Short one"]))
        accepted = client.post("/v1/batches", json={
            "operation": "inference.to_markdown",
            "items": [{"file_uri": uri} for uri in (long_pdf, long_mail, short_pdf)]})
        assert accepted.status_code == 202, accepted.text
        assert client.get("/v1/me").json()["credits_balance"] == 7 - 3 * 2
        batch_id = accepted.json()["batch_id"]
        done = wait_batch(client, batch_id)
        lines = results(client, batch_id)
        balance = client.get("/v1/me").json()["credits_balance"]
    assert done["counts"]["failed"] == 2 and done["counts"]["succeeded"] == 1
    long_ones, short = lines[:2], lines[2]
    for line in long_ones:
        assert line["status"] == "failed", line
        assert line["error"]["code"] == "insufficient_credits"
        assert "markdown" not in line and line["cost"] == {"credits_used": 0, "pages": 0}
    assert "Short one" in short["markdown"] and short["cost"]["credits_used"] == 2
    assert balance == 5 == ledger_sum(tenant.tenant_id)


def test_refused_calls_keep_no_file_and_a_replay_stores_none(api: ApiServer, worker: Process) -> None:
    broke, payer = make_tenant(credits=1), make_tenant(credits=100)
    pdf = make_pdf()
    with api.client(broke.api_key) as client:
        no_credits = client.post("/v1/to-markdown", files={"file": ("a.pdf", pdf)})
        assert no_credits.status_code == 402, no_credits.text
        unsafe = client.post("/v1/to-markdown", files={"file": ("a.pdf", pdf)},
                             data={"conversion_mode": "fast", "webhook_url": "http://10.0.0.1/"})
        assert unsafe.status_code == 400 and unsafe.json()["code"] == "unsafe_url", unsafe.text
    assert stored_files(broke.tenant_id) == []
    with api.client(payer.api_key) as client:
        headers = {"Idempotency-Key": "replayed"}
        first, again = (client.post("/v1/to-markdown", files={"file": ("a.pdf", pdf)},
                                    data={"wait": "0"}, headers=headers) for _ in range(2))
        assert first.json()["job_id"] == again.json()["job_id"]
        poll(client, first.json()["job_id"])
    assert len(stored_files(payer.tenant_id)) == 1


def test_retention_deletes_orphan_objects_after_a_grace_period(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant()
    storage = get_storage()
    with api.client(tenant.api_key) as client:
        job = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())}).json()
    with transaction() as session:
        kept_key = session.get_one(Upload, session.get_one(Job, job["job_id"]).upload_id).storage_key
    orphan, fresh = (f"{tenant.tenant_id}/uploads/upl_{name}/a.pdf" for name in ("old", "new"))
    for key in (orphan, fresh):
        storage.put_bytes(key, b"%PDF-1.4 left behind")
    two_hours_ago = time.time() - 2 * 3600
    for key in (orphan, kept_key):
        os.utime(get_settings().local_storage_dir / key, (two_hours_ago, two_hours_ago))
    with transaction() as session:
        report = purge_expired(session)
    assert storage.size(orphan) is None
    assert storage.size(fresh) and storage.size(kept_key)
    assert report.orphans >= 1


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_debit_beyond_the_balance_is_refused(api: ApiServer, base_env: dict[str, str]) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant(credits=10)
    credits_url = f"/v1/admin/tenants/{tenant.tenant_id}/credits"
    with api.client(admin.api_key) as client:
        refused = client.post(credits_url, json={"amount": -50, "reason": "chargeback"})
        assert refused.status_code == 402, refused.text
        assert refused.json()["code"] == "insufficient_credits"
        assert refused.json()["credits_balance"] == 10
        emptied = client.post(credits_url, json={"amount": -10, "reason": "refund"})
        assert emptied.status_code == 200 and emptied.json()["credits_balance"] == 0
    cli = run_cli(base_env, "top-up", tenant.tenant_id, "--", "-5")
    assert cli.returncode == 1 and json.loads(cli.stderr)["code"] == "insufficient_credits"
    with api.client(tenant.api_key) as client:
        assert client.get("/v1/me").json()["credits_balance"] == 0
    assert ledger_sum(tenant.tenant_id) == 0


def to_markdown_of(client: httpx.Client, file_uri: str) -> dict[str, Any]:
    response = client.post("/v1/canonical", json={"operation": "inference.to_markdown",
                                                   "file_uri": file_uri, "conversion_mode": "fast"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_signed_upload_url_writes_once(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        target = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()
        original = make_pdf(lines=["Original bytes"])
        first = httpx.put(target["upload_url"], content=original, headers=target["headers"])
        assert first.status_code == 200, first.text
        job = to_markdown_of(client, target["file_uri"])
        second = httpx.put(target["upload_url"], content=make_pdf(lines=["Swapped bytes"]),
                           headers=target["headers"])
        assert second.status_code == 409 and second.json()["code"] == "upload_exists"
        retried = httpx.put(target["upload_url"], content=original, headers=target["headers"])
        assert retried.status_code == 200  # a client's retry of the same bytes changes nothing
        kept = client.get(f"/v1/jobs/{job['job_id']}").json()
        again = to_markdown_of(client, target["file_uri"])
    assert "Original bytes" in kept["markdown"] and "Original bytes" in again["markdown"]


def test_training_needs_a_positive_balance_and_counts_as_heavy(api: ApiServer) -> None:
    admin, broke = make_tenant(is_admin=True), make_tenant(credits=0)
    with api.client(admin.api_key) as client:
        limits = {"heavy": {"rate": 0.001, "burst": 2}}
        put = client.put(f"/v1/admin/tenants/{broke.tenant_id}/rate-limits", json=limits)
        assert put.status_code == 200, put.text
    body = {"schema": {"total": "number"},
            "examples": [{"file_uri": "quarry://uploads/upl_x", "expected": {"total": 1}}] * 4}
    with api.client(broke.api_key) as client:
        answers = [client.post("/v1/training-jobs", json=body) for _ in range(3)]
        assert client.get("/v1/jobs").status_code == 200  # the general bucket is untouched
    assert [answer.status_code for answer in answers] == [402, 402, 429]
    assert answers[0].json()["code"] == "insufficient_credits"
    assert answers[0].headers["x-ratelimit-limit"] == "2"


@pytest.fixture(scope="module")
def s3_stack(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API and worker of their own on a real S3 server (SeaweedFS), whose presigned PUTs
    cannot be revoked."""
    s3 = start_s3(log_dir, access_key="testing", secret_key="testing")
    env = {**base_env, **s3.env(BUCKET), "QUARRY_REDIS_URL": redis_database(base_env, 13)}
    create_bucket(s3, BUCKET)
    api, worker = start_api(env, log_dir), start_worker(env, log_dir)
    yield api
    worker.stop()
    api.process.stop()
    s3.stop()


def test_on_s3_a_job_refuses_bytes_swapped_after_first_use(s3_stack: ApiServer) -> None:
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        target = client.post("/v1/uploads/presign",
                             json={"file_name": "a.pdf", "content_type": "application/pdf"}).json()
        original = httpx.put(target["upload_url"], content=make_pdf(lines=["Original bytes"]),
                             headers=target["headers"])
        assert original.status_code == 200, original.text
        first = to_markdown_of(client, target["file_uri"])
        swap = httpx.put(target["upload_url"], content=make_pdf(lines=["Swapped bytes"]),
                         headers=target["headers"])
        assert swap.status_code == 200  # S3 cannot refuse it: the URL stays valid until expiry
        swapped = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": target["file_uri"]})
        kept = client.get(f"/v1/jobs/{first['job_id']}").json()
    assert swapped.status_code == 409 and swapped.json()["code"] == "upload_changed"
    assert "Original bytes" in kept["markdown"]
