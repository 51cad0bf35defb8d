"""With Postgres or Redis unreachable the API answers 503 with Retry-After, quickly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.embedded import free_port
from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, start_api


@pytest.fixture(scope="module")
def api_without_postgres(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/quarry"
    server = start_api({**base_env, "QUARRY_DATABASE_URL": dead}, log_dir)
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def api_without_redis(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    server = start_api({**base_env, "QUARRY_REDIS_URL": dead}, log_dir)
    yield server
    server.process.stop()


def test_postgres_down_gives_503_not_a_hang(api_without_postgres: ApiServer) -> None:
    with api_without_postgres.client("qk_anything") as client:
        started = time.monotonic()
        response = client.get("/v1/me")
        assert time.monotonic() - started < 10
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == "service_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"


def test_redis_down_gives_503_not_a_hang(api_without_redis: ApiServer) -> None:
    tenant = make_tenant()
    with api_without_redis.client(tenant.api_key) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"] != "ok"
        started = time.monotonic()
        response = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                               data={"wait": "0"})
        assert time.monotonic() - started < 15
        # Rate limits live in Redis: without them the API refuses rather than guesses.
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert client.get("/v1/me").status_code == 503
