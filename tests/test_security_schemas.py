"""Hostile schemas through the real API and worker: regexes that backtrack, references that
fetch, schemas that explode when expanded, nesting that overflows the stack, `$ref` loops."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process

CATASTROPHIC = "^(a+)+$"
EVIL = "a" * 40 + "!"  # Python's `re` needs ~2^40 steps to reject this: hours, holding the GIL
HANG_GUARD_S = 30  # far above what any of these requests need; a backtracking regex never ends
PATTERN_SCHEMA = {"type": "object", "$defs": {"code": {"type": "string", "pattern": CATASTROPHIC}},
                  "properties": {"reference": {"$ref": "#/$defs/code"}}}


def training_form(schema: Any, labels: list[dict[str, Any]]) -> dict[str, Any]:
    files = [("files", (f"doc{i}.pdf", make_pdf(), "application/pdf")) for i in range(len(labels))]
    return {"files": files, "data": {"schema": json.dumps(schema), "expected": json.dumps(labels)}}


def extract(client: httpx.Client, schema: Any, **form: str) -> httpx.Response:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return client.post("/v1/extract", files={"file": ("doc.pdf", make_pdf(), "application/pdf")},
                       data={"schema": text, **form})


def uploaded(client: httpx.Client) -> str:
    target = client.post("/v1/uploads/presign", json={"file_name": "doc.pdf"}).json()
    put = httpx.put(target["upload_url"], content=make_pdf(), headers=target["headers"])
    assert put.status_code == 200, put.text
    return str(target["file_uri"])


def assert_refused(response: httpx.Response, code: str | None = None) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["detail"] and (code is None or body["code"] == code), body


def test_a_catastrophic_pattern_in_training_labels_does_not_freeze_the_api(api: ApiServer) -> None:
    tenant = make_tenant()
    outcome: dict[str, httpx.Response] = {}

    def submit() -> None:
        with api.client(tenant.api_key) as client:
            labels = [{"reference": "aaaa"}] * 3 + [{"reference": EVIL}]
            outcome["training"] = client.post("/v1/training-jobs", timeout=HANG_GUARD_S,
                                              **training_form(PATTERN_SCHEMA, labels))

    training = threading.Thread(target=submit, daemon=True)
    training.start()
    deadline = time.monotonic() + HANG_GUARD_S
    while training.is_alive() and time.monotonic() < deadline:  # the API answers meanwhile
        assert httpx.get(f"{api.url}/healthz", timeout=5).status_code == 200
        time.sleep(0.05)
    assert "training" in outcome, "the training request never finished"
    assert_refused(outcome["training"], "invalid_label")
    assert "examples[3]" in outcome["training"].json()["detail"]
    assert "does not match" in outcome["training"].json()["detail"]


def test_a_catastrophic_pattern_in_extraction_finishes_with_the_violation(
        api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/extract", files={"file": ("doc.pdf", make_pdf(
            lines=["ACME SUPPLIES LTD", f"Reference: {EVIL}"]), "application/pdf")},
            data={"schema": json.dumps(PATTERN_SCHEMA), "allow_partial": "true",
                  "wait": str(HANG_GUARD_S)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == {"reference": EVIL}
    assert any("does not match" in error for error in body["validation_errors"])


class Listener:
    """A loopback HTTP server that serves a schema to anyone and records every path asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                listener.paths.append(self.path)
                body = b'{"type": "string"}'
                self.send_response(200)
                self.send_header("content-type", "application/schema+json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def listening() -> Iterator[Listener]:
    listener = Listener()
    thread = threading.Thread(target=listener.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        listener.server.shutdown()
        listener.server.server_close()


def reaching_out(url: str) -> list[dict[str, Any]]:
    """Schemas whose references point outside themselves, each in a different way."""
    def field(spec: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"reference": spec}}
    return [
        field({"$dynamicRef": f"{url}/dynamic.json"}),
        field({"$dynamicRef": "file:///etc/hostname"}),
        field({"$ref": f"{url}/plain.json"}),
        field({"$id": f"{url}/nested/", "$ref": "#/$defs/x", "$defs": {"x": {"type": "string"}}}),
        {**field({"$ref": "#/$defs/x"}), "$defs": {"x": {"$recursiveRef": f"{url}/recursive.json"}}},
    ]


def test_reference_keywords_never_fetch_anything(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    document = make_pdf(lines=["ACME SUPPLIES LTD", "Reference: ABC-1"])  # a value to validate
    with listening() as listener, api.client(tenant.api_key) as client:
        responses = []
        for schema in reaching_out(listener.url):
            responses.append(client.post("/v1/extract", files={"file": ("doc.pdf", document)},
                                         data={"schema": json.dumps(schema)}))
            responses.append(client.post("/v1/training-jobs", **training_form(
                schema, [{"reference": "ABC-1"}] * 4)))
        assert listener.paths == []
    for response in responses:
        assert_refused(response, "invalid_schema")


def fan_out(levels: int = 12, width: int = 10) -> dict[str, Any]:
    """4 KB that expands to width**levels nodes once its `$ref`s are inlined."""
    defs: dict[str, Any] = {"level0": {"type": "string"}}
    for level in range(1, levels + 1):
        defs[f"level{level}"] = {"type": "object", "properties": {
            f"p{i}": {"$ref": f"#/$defs/level{level - 1}"} for i in range(width)}}
    return {"type": "object", "$defs": defs, "properties": {"x": {"$ref": f"#/$defs/level{levels}"}}}


def wide(count: int = 10_000) -> dict[str, Any]:
    return {"type": "object", "properties": {f"f{i}": {"type": "string"} for i in range(count)}}


@pytest.mark.parametrize("schema", [fan_out(), wide()], ids=["fan_out", "wide"])
def test_schemas_that_explode_are_schema_too_large_on_every_route(
        api: ApiServer, schema: dict[str, Any]) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        file_uri = uploaded(client)
        assert_refused(extract(client, schema), "schema_too_large")
        assert_refused(client.post("/v1/canonical", json={
            "operation": "inference.extract", "file_uri": file_uri, "schema": schema}),
            "schema_too_large")
        assert_refused(client.post("/v1/batches", json={
            "operation": "inference.extract", "defaults": {"schema": schema},
            "items": [{"file_uri": file_uri}]}), "schema_too_large")
        assert_refused(client.post("/v1/training-jobs", json={
            "schema": schema, "examples": [{"file_uri": file_uri, "expected": {"x": "a"}}] * 4}),
            "schema_too_large")


def nested(depth: int, leaf: Any = "string") -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def test_schemas_and_metadata_nested_thousands_deep_are_400(api: ApiServer) -> None:
    tenant = make_tenant()
    deep_text = '{"a":' * 3000 + "1" + "}" * 3000
    with api.client(tenant.api_key) as client:
        file_uri = uploaded(client)
        assert_refused(extract(client, deep_text), "invalid_schema")
        assert_refused(extract(client, {"invoice": "string"}, metadata=deep_text))
        canonical = {"operation": "inference.extract", "file_uri": file_uri,
                     "schema": {"invoice": "string"}}
        for body in ({**canonical, "schema": nested(500)}, {**canonical, "schema": deep_text},
                     {**canonical, "metadata": nested(40, leaf=1)}):
            assert_refused(client.post("/v1/canonical", json=body))
        for field in ("schema", "metadata"):  # as JSON objects in the body itself
            text = json.dumps({k: v for k, v in canonical.items() if k != field})
            text = text[:-1] + f', "{field}": {deep_text}}}'
            assert_refused(client.post("/v1/canonical", content=text,
                                       headers={"content-type": "application/json"}))
        assert_refused(client.post("/v1/training-jobs", **training_form(
            nested(500), [{"a": "x"}] * 4)), "invalid_schema")
        examples = json.dumps([{"file_uri": file_uri, "expected": {"a": "x"}}] * 4)
        assert_refused(client.post("/v1/training-jobs", headers={"content-type": "application/json"},
                                   content=f'{{"examples": {examples}, "schema": {deep_text}}}'))


LOOPS = [
    {"$defs": {"a": {"$ref": "#/$defs/a"}}, "type": "object",
     "properties": {"x": {"$ref": "#/$defs/a"}}},
    {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]},
               "b": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}},
     "type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}},
]


@pytest.mark.parametrize("schema", LOOPS, ids=["self", "through_applicators"])
def test_a_ref_loop_is_400_never_a_server_error(
        api: ApiServer, worker: Process, schema: dict[str, Any]) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        assert_refused(extract(client, schema), "invalid_schema")
        assert_refused(client.post("/v1/training-jobs", **training_form(
            schema, [{"x": "a"}] * 4)), "invalid_schema")


def test_recursive_schemas_and_plain_patterns_still_extract(api: ApiServer, worker: Process) -> None:
    schema = {"type": "object", "$id": "https://example.com/invoice.schema.json",
              "$defs": {"part": {"type": "object", "properties": {
                  "name": {"type": "string"}, "parts": {"type": "array",
                                                        "items": {"$ref": "#/$defs/part"}}}}},
              "properties": {"invoice_number": {"type": "string", "pattern": "^INV-[0-9-]+$"},
                             "assembly": {"$ref": "#/$defs/part"}}}
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = extract(client, schema)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["invoice_number"] == "INV-2024-001"
    assert response.json()["validation_errors"] is None
