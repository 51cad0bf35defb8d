"""Every way a file comes in obeys the tenant's plan upload limit (docs/plans.md): a `file_url`
the worker fetches, an upload made on a larger plan and used after a downgrade (canonical, OCR
markdown, batches, training), a multipart file or training example, the signed PUT while it
streams, an upload PUT straight to S3 past the plan, and the limit the playground shows."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bench.training.dataset import SCHEMA as TRAINING_SCHEMA
from bench.training.dataset import make_examples
from tests.console_browser import signed_in
from tests.factories import TenantKeys, make_pdf, make_tenant
from tests.stack import (
    ApiServer,
    Process,
    S3Server,
    redis_database,
    running_s3,
    start_api,
)
from tests.test_plans import pdf_of_size, put_on_plan, tenant_on

MIB = 1024 * 1024
TOO_BIG_FOR_FREE = {"detail": "File exceeds the upload size limit of 5 MiB.",
                    "code": "payload_too_large"}
SCHEMA = json.dumps({"total": "number"})


@cache
def big_pdf() -> bytes:
    """A valid one-page PDF of about 6 MiB: over free's 5 MiB, well under premium's 50."""
    return pdf_of_size(6 * MIB)


@pytest.fixture(scope="module")
def admin() -> TenantKeys:
    return make_tenant(is_admin=True)


def credits(client: httpx.Client) -> int:
    return int(client.get("/v1/me").json()["credits_balance"])


def upload(client: httpx.Client, data: bytes, name: str = "doc.pdf") -> str:
    presigned = client.post("/v1/uploads/presign", json={"file_name": name}).json()
    put = httpx.put(presigned["upload_url"], content=data, headers=presigned["headers"], timeout=60)
    assert put.status_code == 200, put.text
    file_uri: str = presigned["file_uri"]
    return file_uri


def nothing_submitted(client: httpx.Client) -> None:
    assert client.get("/v1/jobs").json()["data"] == []
    assert client.get("/v1/batches").json()["data"] == []


# file_url: the worker stops at the job's tenant's plan.

class BigFile(BaseHTTPRequestHandler):
    """The big PDF with its length declared, or (`/streamed.pdf`) without: read to the end."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = big_pdf()
        self.send_response(200)
        if self.path != "/streamed.pdf":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the worker stopped reading at its limit

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BigFile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_file_url_over_the_plan_fails_413_and_premium_fetches_it(
    api: ApiServer, worker: Process, admin: TenantKeys, files: str
) -> None:
    free, premium = tenant_on(api, admin, "free"), tenant_on(api, admin, "premium")
    with api.client(free.api_key) as client:
        for path in ("/big.pdf", "/streamed.pdf"):  # the declared length, then the count
            refused = client.post("/v1/canonical", json={
                "operation": "inference.to_markdown", "file_url": files + path})
            assert refused.status_code == 413, (path, refused.text)
            assert {key: refused.json()[key] for key in ("detail", "code")} == TOO_BIG_FOR_FREE
            job = client.get(f"/v1/jobs/{refused.json()['job_id']}").json()
            assert job["status"] == "failed" and job["cost"]["credits_used"] == 0
        assert credits(client) == 1000
    with api.client(premium.api_key) as client:
        fetched = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_url": f"{files}/big.pdf"})
    assert fetched.status_code == 200, fetched.text
    assert "INV-2024-001" in fetched.json()["markdown"]


# An upload made on premium, used after the tenant moved to free.

def test_an_upload_from_a_larger_plan_is_refused_after_a_downgrade(
    api: ApiServer, worker: Process, admin: TenantKeys
) -> None:
    tenant = tenant_on(api, admin, "premium")
    examples = make_examples(4)
    with api.client(tenant.api_key) as client:
        big = upload(client, big_pdf(), "big.pdf")
        small = [upload(client, ex.data, ex.file_name) for ex in examples[1:]]
    assert put_on_plan(api, admin, tenant, "free").status_code == 200
    with api.client(tenant.api_key) as client:
        extract = client.post("/v1/canonical", json={
            "operation": "inference.extract", "file_uri": big, "schema": SCHEMA})
        markdown = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": big})
        ocr = client.post("/v1/ocr/to-markdown", json={
            "tenant_id": tenant.tenant_id, "file_uri": big})
        for refused in (extract, markdown, ocr):
            assert refused.status_code == 413, refused.text
            assert refused.json() == TOO_BIG_FOR_FREE
        batch = client.post("/v1/batches", json={
            "operation": "inference.to_markdown",
            "items": [{"file_uri": small[0]}, {"file_uri": big}]})
        assert batch.status_code == 413, batch.text
        assert batch.json() == {"detail": "items[1]: File exceeds the upload size limit of 5 MiB.",
                                "code": "payload_too_large"}
        training = client.post("/v1/training-jobs", json={
            "schema": TRAINING_SCHEMA,
            "examples": [{"file_uri": uri, "expected": ex.expected}
                         for uri, ex in zip([big, *small], examples, strict=True)]})
        assert training.status_code == 413, training.text
        assert training.json()["detail"] == (f"examples[0] ({big.rsplit('/', 1)[-1]}): "
                                             "File exceeds the upload size limit of 5 MiB.")
        assert credits(client) == 1000
        nothing_submitted(client)
    # The same upload is fine again once the plan allows it.
    assert put_on_plan(api, admin, tenant, "premium").status_code == 200
    with api.client(tenant.api_key) as client:
        again = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": big})
    assert again.status_code == 200, again.text


# Multipart: refused for its size before the file is looked at.

def test_a_multipart_file_over_the_plan_is_413_before_it_is_inspected(
    api: ApiServer, admin: TenantKeys
) -> None:
    tenant = tenant_on(api, admin, "free")
    not_a_document = b"not a pdf " * (550 * 1024)  # 5.4 MiB: past the plan, under its envelope
    with api.client(tenant.api_key) as client:
        for route in ("/v1/to-markdown", "/v1/extract"):
            refused = client.post(route, data={"schema": SCHEMA},
                                  files={"file": ("junk.pdf", not_a_document)})
            assert refused.status_code == 413, (route, refused.text)
            assert refused.json() == TOO_BIG_FOR_FREE
        nothing_submitted(client)


def test_a_training_example_over_the_plan_is_413_naming_it(
    api: ApiServer, admin: TenantKeys
) -> None:
    tenant = tenant_on(api, admin, "free")
    examples = make_examples(4)
    big = pdf_of_size(5_990_000)  # 6 MB: the form still fits free's 5 MiB + 1 MiB envelope
    files = [("files", ("big.pdf", big, "application/pdf"))] + [
        ("files", (ex.file_name, ex.data, "application/pdf")) for ex in examples[1:]]
    with api.client(tenant.api_key) as client:
        refused = client.post("/v1/training-jobs", files=files, data={
            "schema": json.dumps(TRAINING_SCHEMA),
            "expected": json.dumps([ex.expected for ex in examples])})
        assert refused.status_code == 413, refused.text
        assert refused.json() == {
            "detail": "examples[0] (big.pdf): File exceeds the upload size limit of 5 MiB.",
            "code": "payload_too_large"}
        assert credits(client) == 1000


# The signed PUT stops reading at the plan, not at the largest plan's limit.

def test_the_signed_put_answers_413_once_the_body_passes_the_plan(
    api: ApiServer, admin: TenantKeys
) -> None:
    tenant = tenant_on(api, admin, "free")
    with api.client(tenant.api_key) as client:
        presigned = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()
    target = urlsplit(presigned["upload_url"])
    host, port = target.hostname or "", target.port or 80
    head = (f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Length: {20 * MIB}\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(head + b"x" * (5 * MIB + 64 * 1024))  # past 5 MiB, then nothing more
        answer = b""
        while b"}" not in answer:  # the whole JSON body; the old code waited for 15 MiB more
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"upload size limit of 5 MiB" in answer


# The console's playground says what the caller's plan allows.

def test_the_playground_shows_the_plans_upload_limit(api: ApiServer, admin: TenantKeys) -> None:
    tenant = tenant_on(api, admin, "free")
    with signed_in(api, tenant) as console:
        page = console.get("/console/playground")
    assert page.status_code == 200, page.text
    assert "up to 5 MiB." in page.text


# S3: bytes PUT straight to the bucket never pass the API; a batch checks their real size.

BUCKET = "quarry-plan-uploads"


@pytest.fixture(scope="module")
def s3(log_dir: Path) -> Iterator[S3Server]:
    with running_s3(log_dir, BUCKET) as server:
        yield server


@pytest.fixture(scope="module")
def s3_api(base_env: dict[str, str], s3: S3Server, log_dir: Path) -> Iterator[ApiServer]:
    server = start_api({**base_env, **s3.env(BUCKET),
                        "QUARRY_REDIS_URL": redis_database(base_env, 4)}, log_dir)
    yield server
    server.process.stop()


def test_an_s3_upload_past_the_plan_is_refused_by_a_batch(s3_api: ApiServer) -> None:
    admin = make_tenant(is_admin=True)
    tenant = tenant_on(s3_api, admin, "free")
    with s3_api.client(tenant.api_key) as client:
        small = upload(client, make_pdf())
        big = upload(client, big_pdf(), "big.pdf")  # S3 takes any size the URL allows
        batch = client.post("/v1/batches", json={
            "operation": "inference.to_markdown",
            "items": [{"file_uri": small}, {"file_uri": big}]})
        assert batch.status_code == 413, batch.text
        assert batch.json() == {"detail": "items[1]: File exceeds the upload size limit of 5 MiB.",
                                "code": "payload_too_large"}
        assert credits(client) == 1000
        nothing_submitted(client)
