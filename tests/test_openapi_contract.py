"""The OpenAPI document can drive a generic client, and the API keeps what it documents:
typed 2xx bodies, the key as a security scheme, the 400 (never FastAPI's 422) for bad
input, unknown JSON fields refused, `Retry-After` from the limiter's real wait and
`Idempotent-Replayed` on replays."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from shared.db.session import transaction
from shared.tenants.service import set_rate_limits
from tests.factories import make_tenant
from tests.stack import ApiServer

ID = re.compile(r"^[a-z][A-Za-z0-9]*$")


@pytest.fixture(scope="module")
def spec(api: ApiServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{api.url}/openapi.json", timeout=30).json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation) for path, methods in spec["paths"].items()
            for method, operation in methods.items()]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_v1_operation_has_a_typed_2xx_body(spec: dict[str, Any]) -> None:
    untyped = []
    for method, path, operation in operations(spec):
        if not path.startswith("/v1/"):
            continue
        ok = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        for code, response in ok.items():
            for media, content in (response.get("content") or {"none": {}}).items():
                schema = resolve(spec, content.get("schema") or {})
                if media == "application/json" and not (schema.get("properties") or
                                                        schema.get("anyOf")):
                    untyped.append((method, path, code, media))
                elif not schema:
                    untyped.append((method, path, code, media))
        if not ok:
            untyped.append((method, path, "no 2xx", ""))
    assert not untyped, untyped


def test_the_api_key_is_a_security_scheme_on_every_keyed_route(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                                  "description": schemes["ApiKey"]["description"]}}
    for method, path, operation in operations(spec):
        keyed = path.startswith("/v1/") and not path.endswith("/content")
        assert (operation.get("security") == [{"ApiKey": []}]) == keyed, (method, path)
        headers = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "x-api-key" not in headers, (method, path)


def test_no_fastapi_422_and_errors_use_the_error_body(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for method, path, operation in operations(spec):
        for code, response in operation["responses"].items():
            if code[0] in "45" and path.startswith("/v1/"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, code)
            if code == "422":  # only the real one: the extraction output fails the schema
                assert "schema_validation_failed" in response["description"], (method, path)
        if path.startswith("/v1/") and operation.get("security"):
            assert "invalid_request" in operation["responses"]["400"]["description"]


def test_error_codes_are_described_by_their_class(spec: dict[str, Any]) -> None:
    extract = spec["paths"]["/v1/extract"]["post"]["responses"]
    assert "- `invalid_file`: The file is damaged" in extract["400"]["description"]
    assert "`insufficient_credits`" in extract["402"]["description"]
    assert "`rate_limited`" in extract["429"]["description"]
    assert "`too_many_pages`" in extract["413"]["description"]  # a code raised by `code=`
    described: dict[str, str] = {}
    for method, path, operation in operations(spec):
        listed = [(line[3:].split("`", 1)[0], line) for code, response in
                  operation["responses"].items() if code[0] in "45"
                  for line in response.get("description", "").splitlines()
                  if line.startswith("- `")]
        codes = [code for code, _ in listed]
        assert len(codes) == len(set(codes)), (method, path, codes)  # one status per code
        for code, line in listed:  # and one description, wherever it is listed
            assert described.setdefault(code, line) == line, (code, line)


def test_operation_ids_are_readable_and_tagged(spec: dict[str, Any]) -> None:
    ids = {operation["operationId"]: (method, path) for method, path, operation in operations(spec)}
    assert len(ids) == len(operations(spec))
    assert all(ID.match(name) for name in ids), sorted(ids)
    for name in ("extract", "toMarkdown", "canonical", "ocrToMarkdown", "getJob", "listJobs",
                 "cancelJob", "listBatches", "listArtifacts", "listDeliveries", "getUsage"):
        assert name in ids, name
    tags = {tag["name"] for tag in spec["tags"]}
    for _, _, operation in operations(spec):
        assert operation["tags"] and set(operation["tags"]) <= tags


def test_seed_requests_are_examples(spec: dict[str, Any]) -> None:
    extract = spec["paths"]["/v1/extract"]["post"]["requestBody"]["content"]
    examples = extract["multipart/form-data"]["examples"]
    assert '"invoiceNumber": "string"' in examples["shorthand"]["value"]["schema"]
    ocr = spec["paths"]["/v1/ocr/to-markdown"]["post"]["requestBody"]["content"]
    assert ocr["application/json"]["examples"]["seed"]["value"]["file_name"] == "document.pdf"


def test_lists_share_one_envelope(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if method != "GET" or not operation["operationId"].startswith("list"):
            continue
        ok = resolve(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
        assert set(ok["properties"]) == {"data", "has_more", "next_cursor"}, path
        query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"limit", "cursor"} <= query, path


def test_unknown_json_fields_are_a_clear_400(api: ApiServer) -> None:
    admin = make_tenant(is_admin=True)
    tenant = make_tenant()
    with api.client(admin.api_key) as client:
        # A misspelled limit used to answer 200 and change nothing.
        response = client.put(f"/v1/admin/tenants/{tenant.tenant_id}/rate-limits",
                              json={"heavy": {"rate": 1, "brust": 5}})
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_request"
        assert "Unknown field: heavy.brust" in response.json()["detail"]
        presign = client.post("/v1/uploads/presign", json={"file_name": "a.pdf", "sise": 3})
        assert presign.status_code == 400 and "sise" in presign.json()["detail"]


def test_a_seed_ocr_body_is_accepted_field_for_field(api: ApiServer) -> None:
    """Seed 000's `/v1/ocr/to-markdown` body: every field it sends is known (no 400)."""
    tenant = make_tenant()
    body = {"tenant_id": tenant.tenant_id, "file_uri": "s3://nowhere/none",
            "file_name": "document.pdf", "mode": "default",
            "ocr": {"provider_model": "openai/gpt-4o-mini", "api_key": "sk-x"}}
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/ocr/to-markdown", json=body)
    assert response.status_code == 404, response.text  # the file is unknown; the body is fine


def test_retry_after_is_the_limiters_real_wait(api: ApiServer) -> None:
    tenant = make_tenant()
    with transaction() as session:  # one request per 10 s, no burst beyond it
        set_rate_limits(session, tenant_id=tenant.tenant_id,
                        limits={"general": {"rate": 0.1, "burst": 1}})
    with api.client(tenant.api_key) as client:
        statuses = [client.get("/v1/me") for _ in range(3)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    waits = [int(r.headers["Retry-After"]) for r in limited]
    assert all(5 <= wait <= 10 for wait in waits), waits


def test_an_idempotent_replay_says_so(api: ApiServer) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        presigned = client.post("/v1/uploads/presign", json={"file_name": "a.txt"}).json()
        put = httpx.put(presigned["upload_url"], content=b"hello world\n", timeout=30)
        assert put.status_code == 200, put.text
        file_uri = presigned["file_uri"]
        item = {"file_uri": file_uri}
        batch = {"operation": "inference.to_markdown", "items": [item]}
        other_batch = {**batch, "items": [{**item, "metadata": {"n": 1}}]}
        job = {"operation": "inference.to_markdown", "file_uri": file_uri, "wait": 0}
        answers = {}
        for path, body, changed in (("/v1/batches", batch, other_batch),
                                    ("/v1/canonical", job, {**job, "metadata": {"n": 1}})):
            headers = {"Idempotency-Key": f"replay-{time.time_ns()}"}
            first = client.post(path, json=body, headers=headers)
            again = client.post(path, json=body, headers=headers)
            other = client.post(path, json=changed, headers=headers)
            answers[path] = (first, again, other)
    for path, (first, again, other) in answers.items():
        assert first.status_code == again.status_code == 202, (path, first.text, again.text)
        assert "Idempotent-Replayed" not in first.headers, path
        assert again.headers["Idempotent-Replayed"] == "true", path
        # A replay names the same job or batch; its status is read afresh and may have moved on.
        id_key = "batch_id" if path == "/v1/batches" else "job_id"
        first_id, again_id = first.json()[id_key], again.json()[id_key]
        assert again_id == first_id, path
        assert other.status_code == 409 and "Idempotent-Replayed" not in other.headers, path
