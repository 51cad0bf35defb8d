"""The client's route table and the server's OpenAPI agree: routes, body fields, query, headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from quarry_client.routes import ROUTES, Route

from tests.stack import ApiServer

NOT_FOR_CLIENTS = {
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
    ("PUT", "/v1/uploads/{upload_id}/content"),  # the presigned PUT target, reached via `upload_url`
}
# Routes in API.md whose server side is still being built (none now). While a route is listed
# here the client may call it before the server has it; once it lands, it is checked fully.
PENDING_ON_SERVER: set[tuple[str, str]] = set()
# Routes that read the raw request (JSON or multipart): OpenAPI declares the JSON shape only
# (the client sends the multipart form's fields too), and no headers.
RAW_REQUEST = {("POST", "/v1/training-jobs")}
# API.md: "every job-creating call accepts an Idempotency-Key"; no route is exempt.
IDEMPOTENCY_GAPS: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def spec(api: ApiServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{api.url}/openapi.json", timeout=30).json()
    return document


def server_routes(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): operation for path, operations in spec["paths"].items()
            for method, operation in operations.items()}


def client_routes() -> dict[tuple[str, str], Route]:
    return {(route.method, route.path): route for route in ROUTES.values()}


def body_fields(spec: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return set()
    schema = next(iter(content.values()))["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


def parameters(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == where}


def test_every_client_route_exists_on_the_server(spec: dict[str, Any]) -> None:
    missing = set(client_routes()) - set(server_routes(spec))
    extra = missing - PENDING_ON_SERVER
    assert not extra, f"client calls routes the server lacks: {extra}"


def test_every_server_route_has_a_client_method(spec: dict[str, Any]) -> None:
    uncovered = set(server_routes(spec)) - set(client_routes()) - NOT_FOR_CLIENTS
    assert not uncovered, f"server routes without a client method: {sorted(uncovered)}"


def test_body_and_query_fields_match(spec: dict[str, Any]) -> None:
    server = server_routes(spec)
    mismatches = []
    for key, route in client_routes().items():
        if key not in server or key in RAW_REQUEST:
            continue
        operation = server[key]
        if set(route.body) != body_fields(spec, operation):
            mismatches.append((key, "body", sorted(set(route.body) ^ body_fields(spec, operation))))
        if set(route.query) != parameters(operation, "query"):
            mismatches.append((key, "query", sorted(set(route.query) ^ parameters(operation, "query"))))
        if set(route.path.split("{")[1:]) and not parameters(operation, "path"):
            mismatches.append((key, "path", route.path))
    assert not mismatches, f"client and server disagree on fields: {mismatches}"


def test_job_creating_routes_take_an_idempotency_key(spec: dict[str, Any]) -> None:
    server = server_routes(spec)
    creating = {key for key, route in client_routes().items() if route.creates_job}
    for key in creating & set(server) - RAW_REQUEST:
        declared = "Idempotency-Key" in parameters(server[key], "header")
        assert declared or key in IDEMPOTENCY_GAPS, key
    assert {("POST", "/v1/extract"), ("POST", "/v1/to-markdown"), ("POST", "/v1/canonical"),
            ("POST", "/v1/ocr/to-markdown")} <= creating


def test_every_list_pages_the_same_way_in_client_and_server(spec: dict[str, Any]) -> None:
    """Every server list (`list*` operations: the `{"data", "has_more", "next_cursor"}`
    envelope) takes `limit` and `cursor`, and so does the client's route for it."""
    server = server_routes(spec)
    lists = {key for key, operation in server.items() if operation["operationId"].startswith("list")}
    assert {("GET", "/v1/jobs"), ("GET", "/v1/batches"), ("GET", "/v1/artifacts"),
            ("GET", "/v1/api-keys"), ("GET", "/v1/jobs/{job_id}/deliveries")} <= lists
    client = client_routes()
    for key in lists:
        assert {"limit", "cursor"} <= parameters(server[key], "query"), key
        assert key in client and {"limit", "cursor"} <= set(client[key].query), key
