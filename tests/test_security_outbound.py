"""Outbound URLs (issue 12, items 3 and 13): every hop is vetted, odd host forms are refused,
provider bodies are not echoed, and a delivery that cannot be attempted ends `failed`."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from shared.db.session import transaction
from shared.webhooks.models import WebhookDelivery
from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.fixtures.documents import make
from tests.llm_server import ScriptedLLM, answer, failure, running_llm
from tests.stack import ApiServer, Process

TARGET_BODY = b'{"error": {"message": "TARGET-ONLY-BODY internal service data"}}'
METADATA = "169.254.169.254"


@dataclass
class Server:
    """A loopback HTTP server that records each request's path and answers via `reply`."""

    reply: Callable[[str], tuple[int, dict[str, str], bytes]]
    hits: list[str] = field(default_factory=list)
    port: int = 0


@contextmanager
def serving(server: Server, host: str = "127.0.0.1") -> Iterator[Server]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so that clients pool their connections

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length") or 0))
            server.hits.append(self.path)
            status, headers, body = server.reply(self.path)
            self.send_response(status)
            for name, value in {**headers, "content-length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    class Listener(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    httpd = Listener((host, 0), Handler)
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def redirect_to_refused_target() -> Iterator[tuple[Server, Server]]:
    """A redirector on loopback (allowed) answering 307 to a listener reached via 0.0.0.0
    (never allowed); the listener answers with a body only it knows."""
    target = Server(lambda path: (400, {"content-type": "application/json"}, TARGET_BODY))
    with serving(target, "0.0.0.0") as target:
        redirector = Server(lambda path: (
            307, {"location": f"http://0.0.0.0:{target.port}{path}"}, b""))
        with serving(redirector) as redirector:
            yield redirector, target


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with running_llm() as server:
        yield server


# --- the guard, as plain functions ---------------------------------------------------------

def _with_networks(monkeypatch: pytest.MonkeyPatch, networks: str) -> None:
    from shared.settings import get_settings

    monkeypatch.setenv("QUARRY_OUTBOUND_ALLOWED_NETWORKS", networks)
    get_settings.cache_clear()


@pytest.fixture
def settings_reset(base_env: dict[str, str]) -> Iterator[None]:
    from shared.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


EMBEDDED_METADATA = [
    "2002:a9fe:a9fe::",                       # 6to4
    "2001:0:808:808::5601:5601",              # Teredo (client address is stored inverted)
    "64:ff9b::a9fe:a9fe",                     # NAT64, well-known prefix
    "64:ff9b:1:a9fe:a9:fe00::",               # NAT64, local-use /48 layout
    "::ffff:169.254.169.254",                 # IPv4-mapped
]


@pytest.mark.parametrize("address", EMBEDDED_METADATA)
def test_ipv6_wrapping_the_metadata_address_is_refused_even_under_a_broad_allow(
        settings_reset: None, monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    from shared.net.ssrf import address_allowed

    for networks in ("127.0.0.0/8,::1/128", "::/0,0.0.0.0/0"):
        _with_networks(monkeypatch, networks)
        assert not address_allowed(ipaddress.ip_address(address)), (address, networks)


def test_ipv6_wrapping_a_public_address_passes(settings_reset: None) -> None:
    from shared.net.ssrf import address_allowed

    assert address_allowed(ipaddress.ip_address("2002:808:808::"))  # 6to4 of 8.8.8.8
    assert not address_allowed(ipaddress.ip_address("2002:a00:1::"))  # 6to4 of 10.0.0.1


def test_bracketed_ipv6_loopback_passes_when_its_network_is_allowed(
        settings_reset: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.net.ssrf import UnsafeUrl, vet_url

    assert str(vet_url("http://[::1]:8080/hook").address) == "::1"
    _with_networks(monkeypatch, "127.0.0.0/8")
    with pytest.raises(UnsafeUrl):
        vet_url("http://[::1]:8080/hook")


@pytest.mark.parametrize("host", ["192.0.0.8", "192.0.0.100", "[fec0::1]"])
def test_ranges_older_pythons_call_global_are_refused(settings_reset: None, host: str) -> None:
    """IANA's 192.0.0.0/24 and deprecated site-local fec0::/10 are not reachable from outside;
    Python 3.11's `is_global` says they are (found by the attack pass)."""
    from shared.net.ssrf import UnsafeUrl, vet_url

    with pytest.raises(UnsafeUrl):
        vet_url(f"http://{host}/file.pdf")


NON_CANONICAL_HOSTS = ["0177.0.0.1", "0x7f.1", "0x7f000001", "2130706433", "127.1",
                       "127.0.0.1.", "%31%32%37.0.0.1"]


@pytest.mark.parametrize("host", NON_CANONICAL_HOSTS)
def test_hosts_that_resolvers_read_as_odd_ipv4_forms_are_refused(
        settings_reset: None, host: str) -> None:
    from shared.net.ssrf import UnsafeUrl, vet_url

    with pytest.raises(UnsafeUrl):
        vet_url(f"http://{host}/hook", field="webhook_url")


def test_the_operators_model_endpoint_is_trusted_and_a_tenants_same_url_is_not(
        settings_reset: None, monkeypatch: pytest.MonkeyPatch, llm: ScriptedLLM) -> None:
    """The server's own model may live on a private network; a BYOK call to the same address
    is refused."""
    from shared.errors import BadRequest
    from worker.pipeline.llm import complete_text, server_default_model

    monkeypatch.setenv("QUARRY_LLM_DEFAULT_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("QUARRY_LLM_DEFAULT_API_BASE", llm.url)
    monkeypatch.setenv("QUARRY_LLM_DEFAULT_API_KEY", "sk-operator-key-0000")
    _with_networks(monkeypatch, "")
    default = server_default_model()
    assert default is not None
    operator = dataclasses.replace(default, num_retries=0)
    llm.script(answer("hello"))
    assert complete_text(operator, [{"role": "user", "content": "hi"}]) == "hello"
    tenant = dataclasses.replace(operator, byok=True, num_retries=0)
    with pytest.raises(BadRequest) as refused:
        complete_text(tenant, [{"role": "user", "content": "hi"}])
    assert refused.value.to_body()["code"] == "unsafe_url"
    assert len(llm.requests) == 1


def test_a_pooled_connection_to_a_trusted_host_is_not_reused_untrusted(
        settings_reset: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.net.outbound import outbound_client, trusting_host_of
    from shared.net.ssrf import UnsafeUrl

    _with_networks(monkeypatch, "")
    with serving(Server(lambda path: (200, {}, b"ok"))) as server, outbound_client() as client:
        url = f"http://127.0.0.1:{server.port}/model"
        with trusting_host_of(url):
            assert client.post(url, content=b"{}").status_code == 200
        with pytest.raises(UnsafeUrl):
            client.post(url, content=b"{}")
    assert server.hits == ["/model"]


# --- through the API and the worker --------------------------------------------------------

def submit_webhook(client: httpx.Client, url: str) -> httpx.Response:
    return client.post("/v1/to-markdown", files={"file": ("doc.pdf", make_pdf())},
                       data={"wait": "0", "webhook_url": url})


def deliveries(client: httpx.Client, job_id: str, *, settled: bool = True,
               timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found: list[dict[str, Any]] = client.get(f"/v1/jobs/{job_id}/deliveries").json()[
            "data"]
        attempted = found and all(d["attempt_log"] for d in found)
        if attempted and (not settled or all(d["status"] != "pending" for d in found)):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


@pytest.mark.parametrize("host", [*NON_CANONICAL_HOSTS[:4], "[2002:a9fe:a9fe::]",
                                  "[64:ff9b::a9fe:a9fe]", "[::ffff:169.254.169.254]"])
def test_odd_and_wrapped_hosts_are_refused_at_submission(api: ApiServer, host: str) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = submit_webhook(client, f"http://{host}/hook")
        model = client.post("/v1/extract", files={"file": ("d.pdf", make_pdf())}, data={
            "schema": '{"a": "string"}', "llm_provider_model": "openai/gpt-4o-mini",
            "llm_api_key": "sk-test", "llm_api_base": f"http://{host}/v1"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsafe_url"
    assert model.status_code == 400 and model.json()["code"] == "unsafe_url", model.text


def test_webhook_to_bracketed_ipv6_loopback_is_delivered(api: ApiServer, worker: Process) -> None:
    receiver = Server(lambda path: (200, {}, b"ok"))
    tenant = make_tenant()
    with serving(receiver, "::1"), api.client(tenant.api_key) as client:
        response = submit_webhook(client, f"http://[::1]:{receiver.port}/hook")
        assert response.status_code == 202, response.text
        (delivery,) = deliveries(client, response.json()["job_id"])
    assert delivery["status"] == "succeeded" and receiver.hits == ["/hook"]


def test_delivery_that_cannot_be_attempted_ends_failed(api: ApiServer, worker: Process) -> None:
    """A URL stored before the guard tightened (no client can parse it) fails, with a reason."""
    receiver = Server(lambda path: (200, {}, b"ok"))
    tenant = make_tenant()
    with serving(receiver), api.client(tenant.api_key) as client:
        job_id = submit_webhook(client, f"http://127.0.0.1:{receiver.port}/hook").json()["job_id"]
        (delivery,) = deliveries(client, job_id)
        with transaction() as session:
            session.execute(update(WebhookDelivery)
                            .where(WebhookDelivery.id == delivery["delivery_id"])
                            .values(url="http://0177.0.0.1/hook"))
        again = client.post(f"/v1/jobs/{job_id}/deliveries/{delivery['delivery_id']}/redeliver")
        assert again.status_code == 202, again.text
        deadline = time.monotonic() + 30
        while (after := deliveries(client, job_id)[0])["attempts"] < 2:
            assert time.monotonic() < deadline, after
            time.sleep(0.1)
    assert after["status"] == "failed" and after["attempts"] == 2, after
    assert after["attempt_log"][-1]["error"] and "webhook_url" in after["attempt_log"][-1]["error"]
    assert receiver.hits == ["/hook"]


def test_webhook_receiver_redirecting_to_a_refused_address_is_not_followed(
        api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with redirect_to_refused_target() as (redirector, target), \
            api.client(tenant.api_key) as client:
        response = submit_webhook(client, f"http://127.0.0.1:{redirector.port}/hook")
        assert response.status_code == 202, response.text
        (delivery,) = deliveries(client, response.json()["job_id"], settled=False)
    assert delivery["attempt_log"][0]["status_code"] == 307
    assert redirector.hits and target.hits == []
    assert "TARGET-ONLY-BODY" not in str(delivery)


def extract_with_model(client: httpx.Client, api_base: str) -> httpx.Response:
    return client.post("/v1/extract", files={"file": ("i.pdf", make_pdf(lines=INVOICE_LINES))},
                       data={"schema": '{"invoice_number": "string"}',
                             "llm_provider_model": "openai/gpt-4o-mini",
                             "llm_api_key": "sk-test-key-0000", "llm_api_base": api_base,
                             "llm_num_retries": "0"})


def test_llm_provider_redirecting_to_a_refused_address_is_not_followed(
        api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with redirect_to_refused_target() as (redirector, target), \
            api.client(tenant.api_key) as client:
        response = extract_with_model(client, f"http://127.0.0.1:{redirector.port}/v1")
    assert redirector.hits == ["/v1/chat/completions"] and target.hits == []
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsafe_url"
    assert "TARGET-ONLY-BODY" not in response.text


def test_vision_ocr_provider_redirecting_to_a_refused_address_is_not_followed(
        api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    scan = make.image_bytes(make.rendered_text(["Scanned Invoice"]), "PNG")
    with redirect_to_refused_target() as (redirector, target), \
            api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("scan.png", scan)}, data={
            "ocr_provider_model": "openai/vision-test", "ocr_api_key": "sk-vision-test-key",
            "ocr_api_base": f"http://127.0.0.1:{redirector.port}/v1"})
    assert redirector.hits and target.hits == []
    assert response.status_code == 400, response.text
    assert "TARGET-ONLY-BODY" not in response.text


def test_provider_error_bodies_are_not_echoed(api: ApiServer, worker: Process,
                                              llm: ScriptedLLM) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        for status, code in ((500, "llm_provider_error"), (401, "llm_authentication_failed")):
            llm.script(failure(status, "PROVIDER-ONLY-WORDS about the upstream network"))
            response = extract_with_model(client, llm.url)
            assert response.status_code == 502, response.text
            body = response.json()
            assert body["code"] == code, body
            assert "PROVIDER-ONLY-WORDS" not in response.text and "upstream" not in response.text
            assert f"HTTP {status}" in body["detail"]
