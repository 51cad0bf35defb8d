"""The S3 backend through boto3 against a real S3 server (SeaweedFS): presign, PUT, process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import (
    ApiServer,
    S3Server,
    redis_database,
    running_s3,
    start_api,
    start_worker,
)

BUCKET = "quarry-test"


@pytest.fixture(scope="module")
def s3(log_dir: Path) -> Iterator[S3Server]:
    with running_s3(log_dir, BUCKET) as server:
        yield server


@pytest.fixture(scope="module")
def s3_env(base_env: dict[str, str], s3: S3Server) -> dict[str, str]:
    return {**base_env, **s3.env(BUCKET), "QUARRY_REDIS_URL": redis_database(base_env, 4)}


@pytest.fixture(scope="module")
def s3_stack(s3_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    api = start_api(s3_env, log_dir)
    worker = start_worker(s3_env, log_dir)
    yield api
    worker.stop()
    api.process.stop()


def _objects(s3: S3Server) -> list[str]:
    listing = s3.client().list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_presigned_put_goes_straight_to_s3_and_canonical_reads_it(
    s3_stack: ApiServer, s3: S3Server
) -> None:
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        target = client.post("/v1/uploads/presign", json={
            "file_name": "invoice.pdf", "content_type": "application/pdf"}).json()
        assert target["upload_url"].startswith(s3.url)
        put = httpx.put(target["upload_url"], content=make_pdf(lines=INVOICE_LINES),
                        headers=target["headers"])
        assert put.status_code == 200, put.text
        assert any(key.startswith(f"{tenant.tenant_id}/uploads/") for key in _objects(s3))
        response = client.post("/v1/canonical", json={
            "operation": "inference.extract", "file_uri": target["file_uri"],
            "schema": json.dumps({"invoice_number": "string", "total": "number"}),
        })
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}


def test_presigned_put_is_checked_by_the_server(s3_stack: ApiServer) -> None:
    """A real S3 server verifies the signature: a tampered URL is refused, not stored."""
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        target = client.post("/v1/uploads/presign", json={
            "file_name": "invoice.pdf", "content_type": "application/pdf"}).json()
    tampered = target["upload_url"].replace("Signature=", "Signature=0")
    put = httpx.put(tampered, content=make_pdf(), headers=target["headers"])
    assert put.status_code == 403, put.text


def test_multipart_upload_is_stored_in_s3(s3_stack: ApiServer, s3: S3Server) -> None:
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("report.pdf", make_pdf())})
    assert response.status_code == 200, response.text
    assert any(key.endswith("/report.pdf") and key.startswith(tenant.tenant_id)
               for key in _objects(s3))


def test_canonical_before_upload_is_400_and_readyz_checks_bucket(s3_stack: ApiServer) -> None:
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        uri = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()["file_uri"]
        response = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": uri})
        assert response.status_code == 400
        assert "not been uploaded" in response.json()["detail"]
        assert client.get("/readyz").json()["checks"]["storage"] == "ok"
