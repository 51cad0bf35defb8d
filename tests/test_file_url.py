"""`file_url` instead of an upload: the worker fetches the file through the outbound guard,
stops at the upload size limit while streaming, and checks the bytes like an upload's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process, redis_database, start_api, start_worker

CHUNK = b"%PDF-" + b"x" * (1024 * 1024 - 5)


class FileServer(BaseHTTPRequestHandler):
    """Serves a PDF, garbage, an endless body, a lying length and redirects."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?")[0] == "/doc.pdf":  # a query (a token) changes nothing
            self._send(200, make_pdf(lines=["Fetched by the worker", "Total: $42.00"]))
        elif self.path == "/garbage.pdf":
            self._send(200, b"this is not a document at all" * 10)
        elif self.path == "/missing.pdf":
            self._send(404, b"no")
        elif self.path == "/moved.pdf":
            self._redirect("/doc.pdf")
        elif self.path == "/moved-inside.pdf":
            self._redirect("http://169.254.169.254/latest/meta-data")
        elif self.path == "/endless.pdf":
            self.send_response(200)
            self.end_headers()
            try:
                while True:  # no length, no end: the worker must stop at its limit
                    self.wfile.write(CHUNK)
            except OSError:
                return
        elif self.path == "/declared-huge.pdf":
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024**3))
            self.end_headers()

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        if location.startswith("/"):
            location = f"http://127.0.0.1:{self.server.server_address[1]}{location}"
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FileServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run(client: httpx.Client, url: str, **extra: Any) -> httpx.Response:
    return client.post("/v1/canonical", json={"operation": "inference.to_markdown",
                                              "file_url": url, **extra})


def test_a_file_url_is_fetched_and_converted(api: ApiServer, worker: Process, files: str) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        direct = run(client, f"{files}/doc.pdf")
        redirected = run(client, f"{files}/moved.pdf")
    for response in (direct, redirected):
        assert response.status_code == 200, response.text
        assert "Fetched by the worker" in response.json()["markdown"]
        assert response.json()["cost"]["pages"] == 1
    assert direct.json()["file_name"] == "doc.pdf"


def test_file_url_refusals_are_documented_4xx(api: ApiServer, worker: Process, files: str) -> None:
    tenant = make_tenant(credits=1000)
    expected = {
        "/garbage.pdf": (400, {"invalid_file", "unsupported_file_type"}),
        "/missing.pdf": (400, {"file_url_failed"}),
        "/moved-inside.pdf": (400, {"unsafe_url"}),
        "/endless.pdf": (413, {"payload_too_large"}),
        "/declared-huge.pdf": (413, {"payload_too_large"}),
    }
    with api.client(tenant.api_key) as client:
        for path, (status, codes) in expected.items():
            response = run(client, files + path)
            assert response.status_code == status, (path, response.text)
            assert response.json()["code"] in codes, (path, response.json())
            job = client.get(f"/v1/jobs/{response.json()['job_id']}").json()
            assert job["status"] == "failed" and job["cost"]["credits_used"] == 0
        balance = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
    assert balance["credits_balance"] == 1000


def test_unsafe_or_doubled_sources_are_refused_up_front(api: ApiServer, files: str) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        inside = run(client, "http://169.254.169.254/latest/meta-data")
        both = run(client, f"{files}/doc.pdf", file_uri="quarry://uploads/upl_x")
        scheme = run(client, "file:///etc/passwd")
    assert inside.status_code == 400 and inside.json()["code"] == "unsafe_url", inside.text
    assert both.status_code == 400, both.text
    assert scheme.status_code == 400, scheme.text


def test_credentials_in_a_file_url_never_reach_the_worker_log(
    api: ApiServer, worker: Process, files: str
) -> None:
    tenant = make_tenant(credits=100)
    secret_url = files.replace("http://", "http://reader:pw-Zq81xK@") + "/doc.pdf?token=tk-Q7w2v"
    with api.client(tenant.api_key) as client:
        response = run(client, secret_url)
    assert response.status_code == 200, response.text
    log = worker.log()
    assert "succeeded in" in log  # the worker logs at INFO, where httpx logs each request
    assert "pw-Zq81xK" not in log and "tk-Q7w2v" not in log


# A worker of its own with small limits: one fetch per tenant at once, a 1 KiB/s floor
# after 1 s, a 20 s deadline; a trickling source sends a byte every 0.2 s.
PER_TENANT = 1
DEADLINE_S = 20
TRICKLE_GAP_S = 0.2


class Trickler(BaseHTTPRequestHandler):
    """Promises a PDF, then sends it a byte at a time; notes when each fetch began."""

    starts: list[float] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/doc.pdf":
            body = make_pdf(lines=["Another tenant's file"])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        Trickler.starts.append(time.monotonic())
        try:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(int(2 * DEADLINE_S / TRICKLE_GAP_S)):
                self.wfile.write(b"%")
                self.wfile.flush()
                time.sleep(TRICKLE_GAP_S)
        except OSError:
            pass  # the worker gave up on us: what the test wants

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def trickler() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def capped(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API and a two-slot worker (own queue) with small file_url limits."""
    env = {**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 11),
           "QUARRY_FILE_URL_MAX_PER_TENANT": str(PER_TENANT),
           "QUARRY_FILE_URL_MIN_BYTES_PER_S": "1024",
           "QUARRY_FILE_URL_RATE_GRACE_S": "1",
           "QUARRY_FILE_URL_STALL_S": "3",
           "QUARRY_FILE_URL_TIMEOUT_S": str(DEADLINE_S),
           "QUARRY_FILE_URL_WAIT_S": "0.5"}
    server = start_api(env, log_dir)
    worker = start_worker(env, log_dir, concurrency=2, name="file-url-worker")
    yield server
    worker.stop()
    server.process.stop()


def test_a_trickling_file_url_fails_fast(capped: ApiServer, trickler: str) -> None:
    tenant = make_tenant(credits=100)
    started = time.monotonic()
    with capped.client(tenant.api_key) as client:
        response = run(client, f"{trickler}/slow.pdf")
        job = client.get(f"/v1/jobs/{response.json()['job_id']}").json()
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "file_url_failed"
    assert "too slowly" in response.json()["detail"]
    # Failed on the rate floor, well before the deadline the old code waited out.
    assert time.monotonic() - started < DEADLINE_S / 2
    assert job["status"] == "failed" and job["cost"]["credits_used"] == 0


def test_one_tenants_trickling_fetches_leave_the_workers_to_others(
    capped: ApiServer, trickler: str
) -> None:
    hog, other = make_tenant(credits=100), make_tenant(credits=100)
    Trickler.starts.clear()
    with capped.client(hog.api_key) as client:
        queued = [run(client, f"{trickler}/slow-{n}.pdf", wait=0) for n in range(6)]
    assert all(response.status_code == 202 for response in queued), queued[0].text
    time.sleep(0.5)  # the hog's jobs reach the worker first
    started = time.monotonic()
    with capped.client(other.api_key) as client:
        response = run(client, f"{trickler}/doc.pdf")
    waited = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert "Another tenant's file" in response.json()["markdown"]
    # Both worker slots stuck on the hog's fetches would hold this job past the deadline.
    assert waited < DEADLINE_S / 2, waited
    with capped.client(hog.api_key) as client:
        jobs = [_finished(client, response.json()["job_id"]) for response in queued]
    assert [job["error"]["code"] for job in jobs] == ["file_url_failed"] * len(queued)
    assert all(job["cost"]["credits_used"] == 0 for job in jobs)
    # One fetch at a time (the cap): each began after the one before had run into the rate
    # floor (past its 1 s grace); two worker slots without the cap start two at once.
    starts = sorted(Trickler.starts)
    assert len(starts) == len(queued)
    assert min(later - earlier for earlier, later in pairwise(starts)) > 0.8, starts


def _finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    for _ in range(240):
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("failed", "succeeded", "canceled"):
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still {job['status']}")
