"""`file_url` instead of an upload: the worker fetches the file through the outbound guard,
stops at the upload size limit while streaming, and checks the bytes like an upload's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process

CHUNK = b"%PDF-" + b"x" * (1024 * 1024 - 5)


class FileServer(BaseHTTPRequestHandler):
    """Serves a PDF, garbage, an endless body, a lying length and redirects."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/doc.pdf":
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
