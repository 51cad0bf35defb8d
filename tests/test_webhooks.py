"""Signed webhooks to a real receiver on loopback; the SSRF guard refuses hostile URLs."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.factories import make_pdf, make_tenant
from tests.receivers import Received, webhook_receiver
from tests.stack import ApiServer, Process, start_api


def submit(api: ApiServer, key: str, webhook_url: str, **data: str) -> str:
    with api.client(key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("doc.pdf", make_pdf())},
                               data={"wait": "0", "webhook_url": webhook_url, **data})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def secret_of(api: ApiServer, key: str) -> dict[str, Any]:
    with api.client(key) as client:
        body: dict[str, Any] = client.get("/v1/webhooks/secret").json()
    return body


def verify(secret: str, request: Received) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def deliveries(api: ApiServer, key: str, job_id: str, *, settled: bool = True,
               timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    with api.client(key) as client:
        while True:
            found: list[dict[str, Any]] = client.get(f"/v1/jobs/{job_id}/deliveries").json()[
                "data"]
            if not settled or (found and all(d["status"] != "pending" for d in found)):
                return found
            assert time.monotonic() < deadline, found
            time.sleep(0.1)


def test_job_event_is_signed_with_the_tenant_secret(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    secret = secret_of(api, tenant.api_key)["secret"]
    assert secret.startswith("whsec_")
    with webhook_receiver() as receiver:
        job_id = submit(api, tenant.api_key, receiver.url, metadata='{"ref": "r-1"}')
        (request,) = receiver.wait_for(1)
    payload = verify(secret, request)
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["job_id"] == job_id
    assert payload["data"]["metadata"] == {"ref": "r-1"}
    assert "markdown" in payload["data"]
    assert request.headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(request.body.replace(b"r-1", b"r-2"), request.headers)


def test_receiver_failing_twice_gets_the_event_on_the_third_attempt(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant()
    secret = secret_of(api, tenant.api_key)["secret"]
    with webhook_receiver(statuses=[500, 503]) as receiver:
        job_id = submit(api, tenant.api_key, receiver.url)
        requests = receiver.wait_for(3)
        (delivery,) = deliveries(api, tenant.api_key, job_id)
    assert len({request.headers["webhook-id"] for request in requests}) == 1
    assert [verify(secret, request)["type"] for request in requests] == ["job.succeeded"] * 3
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
    assert delivery["webhook_id"] == requests[0].headers["webhook-id"]
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 503, 200]


def test_redelivery_sends_the_same_event_again(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with webhook_receiver() as receiver:
        job_id = submit(api, tenant.api_key, receiver.url)
        receiver.wait_for(1)
        (delivery,) = deliveries(api, tenant.api_key, job_id)
        with api.client(tenant.api_key) as client:
            response = client.post(
                f"/v1/jobs/{job_id}/deliveries/{delivery['delivery_id']}/redeliver")
            assert response.status_code == 202, response.text
            other = make_tenant()
            foreign = client.post(
                f"/v1/jobs/{job_id}/deliveries/{delivery['delivery_id']}/redeliver",
                headers={"X-API-KEY": other.api_key})
            assert foreign.status_code == 404
        first, second = receiver.wait_for(2)
        (after,) = deliveries(api, tenant.api_key, job_id)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["webhook_id"]
    assert json.loads(first.body)["data"] == json.loads(second.body)["data"]
    assert after["attempts"] == 2 and after["status"] == "succeeded"


def test_during_rotation_both_secrets_sign(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    old = secret_of(api, tenant.api_key)["secret"]
    with api.client(tenant.api_key) as client:
        rotated = client.post("/v1/webhooks/secret/rotate").json()
    assert rotated["secret"] != old and rotated["previous_secret"] == old
    assert rotated["previous_valid_until"]
    with webhook_receiver() as receiver:
        submit(api, tenant.api_key, receiver.url)
        (request,) = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, request)["type"] == verify(rotated["secret"], request)["type"]


def test_failed_job_sends_job_failed(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with webhook_receiver() as receiver, api.client(tenant.api_key) as client:
        response = client.post(
            "/v1/extract", files={"file": ("doc.pdf", make_pdf())},
            data={"wait": "0", "webhook_url": receiver.url, "schema": '{"a": "string"}',
                  "llm_provider_model": "nonsense-model", "llm_api_key": "sk-test"})
        assert response.status_code == 202, response.text
        (request,) = receiver.wait_for(1)
    assert json.loads(request.body)["type"] == "job.failed"


HOSTILE = ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook",
           "http://[fd00:ec2::254]/", "http://192.168.1.10:8080/", "http://0.0.0.0/",
           "http://[::ffff:10.0.0.1]/", "ftp://example.com/hook", "http://2130706433x/"]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_webhook_urls_are_refused(api: ApiServer, url: str) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("doc.pdf", make_pdf())},
                               data={"wait": "0", "webhook_url": url})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsafe_url"


def test_hostile_model_api_base_is_refused(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post(
            "/v1/extract", files={"file": ("doc.pdf", make_pdf())},
            data={"schema": '{"a": "string"}', "llm_provider_model": "openai/gpt-4o-mini",
                  "llm_api_key": "sk-test", "llm_api_base": "http://169.254.169.254/v1"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsafe_url"


@pytest.fixture(scope="module")
def strict_api(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API with no allow-list: loopback receivers are refused too."""
    server = start_api({**base_env, "QUARRY_OUTBOUND_ALLOWED_NETWORKS": ""}, log_dir)
    yield server
    server.process.stop()


def test_loopback_host_name_is_refused_without_the_allow_list(strict_api: ApiServer) -> None:
    tenant = make_tenant()
    with webhook_receiver() as receiver:
        local = receiver.url.replace("127.0.0.1", "localhost")
        with strict_api.client(tenant.api_key) as client:
            for url in (local, receiver.url):
                response = client.post("/v1/to-markdown", files={"file": ("d.pdf", make_pdf())},
                                       data={"wait": "0", "webhook_url": url})
                assert response.status_code == 400, response.text
        assert receiver.requests == []


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Answers for made-up names; and a connect spy that refuses anything but loopback."""
    answers: dict[str, str] = {}
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return real_getaddrinfo(answers[host], port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        assert str(address[0]).startswith("127."), f"tried to connect to {address}"
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return answers


def test_connect_goes_to_the_vetted_address_with_the_original_host(
    base_env: dict[str, str], fake_dns: dict[str, str]
) -> None:
    from shared.net.outbound import post_pinned

    fake_dns["hooks.example"] = "127.0.0.1"
    with webhook_receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "hooks.example")
        response = post_pinned(url, content=b"{}", headers={}, timeout_s=5)
        (request,) = receiver.wait_for(1)
    assert response.status_code == 200
    assert request.headers["Host"] == url.split("/")[2]


def test_a_name_that_rebinds_to_a_private_address_is_not_contacted(
    base_env: dict[str, str], fake_dns: dict[str, str]
) -> None:
    from shared.net.outbound import post_pinned
    from shared.net.ssrf import UnsafeUrl

    fake_dns["rebind.example"] = "10.0.0.1"
    with pytest.raises(UnsafeUrl):
        post_pinned("http://rebind.example/hook", content=b"{}", headers={}, timeout_s=1)
    fake_dns["rebind.example"] = "169.254.169.254"
    with pytest.raises(UnsafeUrl):
        post_pinned("http://rebind.example/hook", content=b"{}", headers={}, timeout_s=1)


def test_link_local_needs_an_explicit_network(
    base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipaddress

    from shared.net.ssrf import address_allowed
    from shared.settings import get_settings

    metadata = ipaddress.ip_address("169.254.169.254")
    try:
        for networks, allowed in (("0.0.0.0/0", False), ("169.254.0.0/16", True),
                                  ("169.254.169.254/32", True)):
            monkeypatch.setenv("QUARRY_OUTBOUND_ALLOWED_NETWORKS", networks)
            get_settings.cache_clear()
            assert address_allowed(metadata) is allowed, networks
        monkeypatch.setenv("QUARRY_OUTBOUND_ALLOWED_HOSTS", "metadata.internal")
        monkeypatch.setenv("QUARRY_OUTBOUND_ALLOWED_NETWORKS", "")
        get_settings.cache_clear()
        assert not address_allowed(metadata, "metadata.internal")
        assert address_allowed(ipaddress.ip_address("10.1.2.3"), "metadata.internal")
        assert not address_allowed(ipaddress.ip_address("10.1.2.3"), "other.internal")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
