"""The S3 backend through boto3 against moto's standalone server: presign, PUT, process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, MotoServer, redis_database, start_api, start_moto, start_worker

BUCKET = "quarry-test"


@pytest.fixture(scope="module")
def moto(log_dir: Path) -> Iterator[MotoServer]:
    server = start_moto(log_dir)
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def s3_env(base_env: dict[str, str], moto: MotoServer) -> dict[str, str]:
    env = {
        **base_env,
        "QUARRY_STORAGE_BACKEND": "s3",
        "QUARRY_S3_BUCKET": BUCKET,
        "QUARRY_S3_ENDPOINT_URL": moto.url,
        "QUARRY_REDIS_URL": redis_database(base_env, 4),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    return env


@pytest.fixture(scope="module")
def s3_stack(s3_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    api = start_api(s3_env, log_dir)
    worker = start_worker(s3_env, log_dir)
    yield api
    worker.stop()
    api.process.stop()


def _objects(env: dict[str, str]) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=env["QUARRY_S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_presigned_put_goes_straight_to_s3_and_canonical_reads_it(
    s3_stack: ApiServer, s3_env: dict[str, str]
) -> None:
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        target = client.post("/v1/uploads/presign", json={
            "file_name": "invoice.pdf", "content_type": "application/pdf"}).json()
        assert target["upload_url"].startswith(s3_env["QUARRY_S3_ENDPOINT_URL"])
        put = httpx.put(target["upload_url"], content=make_pdf(lines=INVOICE_LINES),
                        headers=target["headers"])
        assert put.status_code == 200, put.text
        assert any(key.startswith(f"{tenant.tenant_id}/uploads/") for key in _objects(s3_env))
        response = client.post("/v1/canonical", json={
            "operation": "inference.extract", "file_uri": target["file_uri"],
            "schema": json.dumps({"invoice_number": "string", "total": "number"}),
        })
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}


def test_multipart_upload_is_stored_in_s3(s3_stack: ApiServer, s3_env: dict[str, str]) -> None:
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("report.pdf", make_pdf())})
    assert response.status_code == 200, response.text
    assert any(key.endswith("/report.pdf") and key.startswith(tenant.tenant_id)
               for key in _objects(s3_env))


def test_canonical_before_upload_is_400_and_readyz_checks_bucket(s3_stack: ApiServer) -> None:
    tenant = make_tenant()
    with s3_stack.client(tenant.api_key) as client:
        uri = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()["file_uri"]
        response = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": uri})
        assert response.status_code == 400
        assert "not been uploaded" in response.json()["detail"]
        assert client.get("/readyz").json()["checks"]["storage"] == "ok"
