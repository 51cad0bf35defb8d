"""The request edge under attack: bodies refused before they are read, every field bounded,
a clean 500 that keeps the connection, no SQL parameters in the log, no placeholder secrets."""

from __future__ import annotations

import json
import os
import select
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import text

from shared.db.session import transaction
from shared.settings import Settings
from stack.up import local_secret
from tests.factories import make_tenant
from tests.stack import ApiServer

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    bytes_sent: int

    def json(self) -> Any:
        return json.loads(self.body)


def _chunked_body(total: int, first: bytes = b"", chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """`first`, then filler up to `total` bytes, one chunk at a time (never all in memory)."""
    yield first
    sent = len(first)
    filler = b"x" * chunk_size
    while sent < total:
        piece = filler[: min(chunk_size, total - sent)]
        sent += len(piece)
        yield piece


def send_chunked(api: ApiServer, path: str, headers: dict[str, str],
                 body: Iterator[bytes]) -> RawResponse:
    """POST a chunked body as a client that reads the answer as soon as one comes: stop
    sending then, and report how many body bytes had been pulled from the generator."""
    address = urlsplit(api.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=60)
    head = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}", "Transfer-Encoding: chunked"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    pending, sent, received, finished = b"", 0, b"", False
    try:
        while b"\r\n\r\n" not in received:
            readable, writable, _ = select.select([sock], [] if finished else [sock], [], 60)
            if not readable and not writable:
                raise TimeoutError("no answer from the API")
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
                continue
            if not pending:
                piece = next(body, None)
                if piece is None:
                    pending, finished = b"0\r\n\r\n", True
                else:
                    sent += len(piece)
                    pending = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            try:
                pending = pending[sock.send(pending):]
            except (BrokenPipeError, ConnectionResetError):
                finished = True
        return _read_response(sock, received, sent)
    finally:
        sock.close()


def _read_response(sock: socket.socket, received: bytes, sent: int) -> RawResponse:
    head, _, rest = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            break
        rest += data
    return RawResponse(int(lines[0].split()[1]), headers, rest[:length], sent)


def _multipart_start(boundary: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()


def _rss(api: ApiServer) -> int:
    return int(psutil.Process(api.process.popen.pid).memory_info().rss)


# Item 5: bodies are refused before they are read, by the bytes actually received.

def test_chunked_json_without_a_key_is_refused_before_the_body_is_read(api: ApiServer) -> None:
    before = _rss(api)
    total = 300 * MIB
    answer = send_chunked(api, "/v1/canonical", {"Content-Type": "application/json"},
                          _chunked_body(total, first=b'{"file_uri": "'))
    assert answer.status == 401 and answer.json()["code"] == "unauthorized"
    assert answer.bytes_sent < total // 10
    assert _rss(api) - before < 100 * MIB


def test_chunked_multipart_without_a_key_is_refused_before_it_is_spooled(api: ApiServer) -> None:
    boundary = uuid.uuid4().hex
    total = 100 * MIB
    answer = send_chunked(api, "/v1/extract",
                          {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                          _chunked_body(total, first=_multipart_start(boundary)))
    assert answer.status == 401
    assert answer.bytes_sent < total // 10


def test_authenticated_chunked_upload_over_the_limit_is_413_without_reading_the_rest(
    api: ApiServer,
) -> None:
    tenant = make_tenant()
    boundary = uuid.uuid4().hex
    before = _rss(api)
    total = 200 * MIB
    answer = send_chunked(api, "/v1/extract",
                          {"X-API-KEY": tenant.api_key,
                           "Content-Type": f"multipart/form-data; boundary={boundary}"},
                          _chunked_body(total, first=_multipart_start(boundary)))
    assert answer.status == 413
    assert answer.json() == {"detail": "File exceeds the upload size limit of 50 MiB.",
                             "code": "payload_too_large"}
    assert answer.bytes_sent < total // 2
    assert _rss(api) - before < 100 * MIB


def test_json_routes_take_a_much_smaller_body(api: ApiServer) -> None:
    tenant = make_tenant()
    total = 20 * MIB
    answer = send_chunked(api, "/v1/uploads/presign",
                          {"X-API-KEY": tenant.api_key, "Content-Type": "application/json"},
                          _chunked_body(total, first=b'{"file_name": "'))
    assert answer.status == 413 and answer.json()["code"] == "payload_too_large"
    assert "2 MiB" in answer.json()["detail"]
    assert answer.bytes_sent < total // 2
    with api.client(tenant.api_key) as client:  # a declared length is refused up front too
        declared = client.post("/v1/canonical", content=b" " * (3 * MIB),
                               headers={"Content-Type": "application/json"})
    assert declared.status_code == 413


# Item 9: every field is bounded at the edge; a bad value is a 400, never a 500.

TEXT = b"Invoice Number: INV-1"
TEXT_FILE = ("a.txt", TEXT, "text/plain")
BAD_MULTIPART: list[tuple[str, dict[str, str], tuple[str, bytes, str]]] = [
    ("nul in file name", {}, ("a\x00b.txt", TEXT, "text/plain")),
    ("long file name", {}, ("a" * 501 + ".txt", TEXT, "text/plain")),
    ("dot-dot file name", {}, ("..", TEXT, "text/plain")),
    ("long content type", {}, ("a.txt", TEXT, "text/" + "x" * 200)),
    ("long webhook url", {"webhook_url": "https://example.com/" + "a" * 2000}, TEXT_FILE),
    ("huge max tokens", {"llm_max_tokens": "99999999999999999999"}, TEXT_FILE),
    ("nan temperature", {"llm_temperature": "nan"}, TEXT_FILE),
    ("infinite temperature", {"ocr_temperature": "inf"}, TEXT_FILE),
    ("nan wait", {"wait": "nan"}, TEXT_FILE),
]


def _multipart(fields: dict[str, str], file: tuple[str, bytes, str]) -> tuple[bytes, str]:
    """A form written byte for byte (clients escape control characters in file names)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    name, data, content_type = file
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{name}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                 + data + f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(("case", "form", "file"), BAD_MULTIPART, ids=[c[0] for c in BAD_MULTIPART])
def test_bad_multipart_fields_are_400(api: ApiServer, case: str, form: dict[str, str],
                                      file: tuple[str, bytes, str]) -> None:
    tenant = make_tenant()
    fields = {"schema": '{"invoice": "string"}', "wait": "0", **form}
    body, content_type = _multipart(fields, file)
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/extract", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, (case, response.text)
    assert set(response.json()) >= {"detail", "code"}


BAD_JSON: list[tuple[str, str, dict[str, Any]]] = [
    ("presign nul name", "/v1/uploads/presign", {"file_name": "a\x00b.pdf"}),
    ("presign dot-dot", "/v1/uploads/presign", {"file_name": ".."}),
    ("presign long type", "/v1/uploads/presign",
     {"file_name": "a.pdf", "content_type": "application/" + "x" * 200}),
    ("canonical long webhook", "/v1/canonical",
     {"operation": "inference.to_markdown", "file_uri": "quarry://uploads/upl_x",
      "webhook_url": "https://example.com/" + "a" * 2000}),
    ("canonical nan wait", "/v1/canonical",
     {"operation": "inference.to_markdown", "file_uri": "quarry://uploads/upl_x", "wait": "NaN"}),
    ("canonical huge tokens", "/v1/canonical",
     {"operation": "inference.to_markdown", "file_uri": "quarry://uploads/upl_x",
      "ocr": {"max_tokens": 99999999999999999999}}),
    ("api key nul name", "/v1/api-keys", {"name": "a\x00b"}),
]


@pytest.mark.parametrize(("case", "path", "body"), BAD_JSON, ids=[c[0] for c in BAD_JSON])
def test_bad_json_fields_are_400(api: ApiServer, case: str, path: str, body: dict[str, Any]) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post(path, json=body)
    assert response.status_code == 400, (case, response.text)
    assert set(response.json()) >= {"detail", "code"}


def test_nan_wait_in_raw_json_and_bad_ids_are_400(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        nan = client.post("/v1/canonical", content=b'{"operation": "inference.to_markdown", '
                          b'"file_uri": "quarry://uploads/upl_x", "wait": NaN}',
                          headers={"Content-Type": "application/json"})
        bad_id = client.get("/v1/jobs/job_%00x")
    assert nan.status_code == 400 and bad_id.status_code == 400


def test_admin_top_up_beyond_the_integer_range_is_400(api: ApiServer) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant()
    with api.client(admin.api_key) as client:
        response = client.post(f"/v1/admin/tenants/{tenant.tenant_id}/credits",
                               json={"amount": 2**40, "reason": "overflow"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


# A 500 is a complete answer: the keep-alive connection carries the next request.

def _raw_get(sock: socket.socket, host: str, path: str, key: str) -> RawResponse:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-API-KEY: {key}\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the API closed the connection")
        received += data
    return _read_response(sock, received, 0)


def test_an_unhandled_error_answers_500_and_keeps_the_connection(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        queued = client.post("/v1/to-markdown", data={"wait": "0"},
                             files={"file": ("a.txt", b"hello", "text/plain")}).json()
    with transaction() as session:  # a row no code expects: a result that is not an object
        session.execute(text("UPDATE jobs SET status = 'succeeded', result = '[1]'::jsonb "
                             "WHERE id = :id"), {"id": queued["job_id"]})
    address = urlsplit(api.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        broken = _raw_get(sock, address.netloc, f"/v1/jobs/{queued['job_id']}", tenant.api_key)
        after = _raw_get(sock, address.netloc, "/v1/me", tenant.api_key)
    assert broken.status == 500
    assert broken.json() == {"detail": "Internal server error.", "code": "internal_error"}
    assert after.status == 200 and after.json()["tenant_id"] == tenant.tenant_id


# Item 14: a database error is logged without the values bound to the statement.

def test_database_errors_are_logged_without_parameters(api: ApiServer) -> None:
    tenant = make_tenant()
    marker = f"marker{uuid.uuid4().hex}"
    constraint = f"refuse_{marker}"
    with transaction() as session:
        session.execute(text(f"ALTER TABLE api_keys ADD CONSTRAINT {constraint} "
                             f"CHECK (name <> '{marker}') NOT VALID"))
    try:
        with api.client(tenant.api_key) as client:
            response = client.post("/v1/api-keys", json={"name": marker})
    finally:
        with transaction() as session:
            session.execute(text(f"ALTER TABLE api_keys DROP CONSTRAINT {constraint}"))
    assert response.status_code == 500
    log = api.process.log()
    assert "INSERT INTO api_keys" in log  # the error was logged, with its statement
    assert marker not in log.replace(constraint, "")


# Item 12: no default or placeholder secret signs anything.

@pytest.mark.parametrize("secret", ["replace-me", "changeme", "secret", "dev-secret-change-me",
                                    "test-secret", "x" * 40, "short-but-random-Zq81"])
def test_production_refuses_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="QUARRY_SECRET_KEY"):
        Settings(environment="production", secret_key=secret, _env_file=None)  # type: ignore[call-arg]


def test_production_accepts_a_random_secret_and_nothing_shipped_carries_one() -> None:
    Settings(environment="production", secret_key=os.urandom(32).hex(), _env_file=None)  # type: ignore[call-arg]
    # The Helm chart creates no Secret (it names an existing one) and sets no secret value;
    # compose refuses to start without QUARRY_SECRET_KEY in the environment.
    chart = ROOT / "infra/helm/quarry"
    assert not any("kind: Secret" in path.read_text() for path in chart.rglob("*.yaml"))
    assert "QUARRY_SECRET_KEY" not in yaml.safe_load((chart / "values.yaml").read_text())["config"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["x-quarry-env"]["QUARRY_SECRET_KEY"].startswith("${QUARRY_SECRET_KEY:?")


def test_make_up_makes_its_own_secret_once_and_keeps_it(tmp_path: Path) -> None:
    first = local_secret(tmp_path / "data")
    assert len(first) >= 32 and first != Settings(_env_file=None).secret_key  # type: ignore[call-arg]
    assert local_secret(tmp_path / "data") == first
    assert local_secret(tmp_path / "other") != first
    assert (tmp_path / "data" / "secret-key").stat().st_mode & 0o077 == 0
