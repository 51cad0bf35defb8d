"""Denial of service through slowness: stalled uploads, long sync waits, providers and webhook
receivers that trickle their answers. One tenant must not take the API's places from the
others, and no outbound call may outlast its deadline, however slowly the bytes come."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, redis_database, start_api, start_worker

PER_TENANT = 2
BODY_TIMEOUT_S = 3
LLM_TIMEOUT_S = 3
WEBHOOK_TIMEOUT_S = 2
RETRIES = 3  # the test environment's webhook schedule: 0.5,0.5,0.5
SCHEMA = json.dumps({"type": "object", "properties": {"total": {"type": "string"}}})


@pytest.fixture(scope="module")
def guarded(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API and a worker of their own (own queue) with small caps and deadlines."""
    env = {**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 12),
           "QUARRY_MAX_INFLIGHT_HEAVY": str(2 * PER_TENANT),
           "QUARRY_MAX_INFLIGHT_HEAVY_PER_TENANT": str(PER_TENANT),
           "QUARRY_MAX_WAITING_PER_TENANT": "1",
           "QUARRY_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
           "QUARRY_LLM_TIMEOUT_S": str(LLM_TIMEOUT_S),
           "QUARRY_WEBHOOK_TIMEOUT_S": str(WEBHOOK_TIMEOUT_S)}
    server = start_api(env, log_dir)
    worker = start_worker(env, log_dir, name="dos-worker")
    yield server
    worker.stop()
    server.process.stop()


@dataclass
class Trickler:
    """Answers every POST with 200 and a long Content-Length, then sends a byte every half
    second for a minute: each read is quick, the whole answer never comes."""

    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def trickler() -> Iterator[Trickler]:
    with trickling_server() as server:
        yield server


@contextmanager
def trickling_server() -> Iterator[Trickler]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(120):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass  # the caller gave up

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Trickler(url=f"http://127.0.0.1:{server.server_address[1]}", requests=seen)
    finally:
        server.shutdown()
        server.server_close()


def stalled_upload(api: ApiServer, key: str) -> socket.socket:
    """A multipart extract that announces 1 MB, sends a few bytes and then nothing."""
    parts = urlsplit(api.url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    sock.sendall(f"POST /v1/extract HTTP/1.1\r\nHost: x\r\nX-API-KEY: {key}\r\n"
                 "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n"
                 "\r\n--b\r\n".encode())
    return sock


def response_of(sock: socket.socket, timeout: float = 30) -> tuple[int, dict[str, Any]]:
    """The status and JSON body the server answered on `sock`, read until it closes."""
    sock.settimeout(timeout)
    data = b""
    with sock:
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def answered(socks: list[socket.socket], count: int, timeout: float = 30) -> list[socket.socket]:
    """The first `count` of `socks` to get an answer (the rest are still waiting)."""
    ready: list[socket.socket] = []
    deadline = time.monotonic() + timeout
    while len(ready) < count:
        assert time.monotonic() < deadline, f"{len(ready)} of {count} answered"
        readable, _, _ = select.select([s for s in socks if s not in ready], [], [], 0.5)
        ready.extend(readable)
    return ready


def extract(api: ApiServer, key: str, **data: str) -> httpx.Response:
    with api.client(key) as client:
        return client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                           data={"schema": SCHEMA, **data})


def byok(trickler: Trickler) -> dict[str, str]:
    return {"llm_provider_model": "openai/gpt-4o-mini", "llm_api_key": "sk-test-0123456789",
            "llm_api_base": f"{trickler.url}/v1", "llm_num_retries": "0"}


def finished_job(api: ApiServer, key: str, job_id: str, timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with api.client(key) as client:
        while True:
            job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
            if job["status"] not in ("queued", "running"):
                return job
            assert time.monotonic() < deadline, job
            time.sleep(0.2)


def test_stalled_uploads_take_only_their_tenants_places_and_end_in_408(guarded: ApiServer) -> None:
    attacker, other = make_tenant(credits=0), make_tenant()
    stalled = [stalled_upload(guarded, attacker.api_key) for _ in range(2 * PER_TENANT)]
    refused = answered(stalled, PER_TENANT)  # past the tenant's share: refused at once

    response = extract(guarded, other.api_key)  # the server has room for another tenant

    assert response.status_code == 200, response.text
    assert [response_of(sock)[0] for sock in refused] == [429] * PER_TENANT
    late = [response_of(sock) for sock in stalled if sock not in refused]
    assert late == [(408, {"detail": "The request body was not received in time.",
                           "code": "request_timeout"})] * PER_TENANT


def test_a_waiting_sync_call_holds_no_place_and_waits_past_the_tenants_share_answer_202(
    guarded: ApiServer, trickler: Trickler,
) -> None:
    tenant = make_tenant()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(extract, guarded, tenant.api_key, wait="60", **byok(trickler))
        with guarded.client(tenant.api_key) as client:
            while not client.get("/v1/jobs").json()["data"]:
                time.sleep(0.05)
        time.sleep(0.5)  # the first call now waits for its job, which runs to the LLM deadline
        more = [pool.submit(extract, guarded, tenant.api_key, wait="60", **byok(trickler))
                for _ in range(PER_TENANT)]
        answers = [future.result() for future in [first, *more]]

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202] * PER_TENANT + [502], [answer.text for answer in answers]
    assert answers[0].json()["code"] == "llm_timeout"
    for answer in answers[1:]:
        assert finished_job(guarded, tenant.api_key, answer.json()["job_id"])["status"] == "failed"


def test_a_provider_that_trickles_its_answer_fails_the_job_at_the_llm_deadline(
    guarded: ApiServer, trickler: Trickler,
) -> None:
    tenant = make_tenant()
    response = extract(guarded, tenant.api_key, wait="0", **byok(trickler))
    assert response.status_code == 202, response.text

    job = finished_job(guarded, tenant.api_key, response.json()["job_id"])

    assert job["status"] == "failed"
    assert job["error"]["code"] == "llm_timeout"


def test_a_receiver_that_trickles_its_answer_times_out_each_attempt_and_is_retried(
    guarded: ApiServer, trickler: Trickler,
) -> None:
    tenant = make_tenant()
    with guarded.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                               data={"wait": "0", "webhook_url": f"{trickler.url}/hook"})
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 60
        while True:
            deliveries = client.get(f"/v1/jobs/{job_id}/deliveries").json()["data"]
            if deliveries and deliveries[0]["status"] != "pending":
                break
            assert time.monotonic() < deadline, deliveries
            time.sleep(0.2)

    (delivery,) = deliveries
    assert delivery["status"] == "failed" and delivery["attempts"] == RETRIES + 1
    assert [attempt["error"] for attempt in delivery["attempt_log"]] == ["Timed out."] * 4
    # Each attempt ended at its deadline (10x is only a guard against hanging).
    assert all(attempt["duration_ms"] < 10_000 * WEBHOOK_TIMEOUT_S
               for attempt in delivery["attempt_log"])
    assert trickler.requests.count("/hook") == RETRIES + 1
