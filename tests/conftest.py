"""Session-wide real servers: PostgreSQL, Redis, the API and a Celery worker.

Configured servers (`DATABASE_URL`, `REDIS_URL`) are used when set — each run in a
fresh database — otherwise embedded ones are started in a temporary directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from stack.servers import Backends, configured, start_backends
from tests.stack import ApiServer, Process, start_api, start_worker

# Model servers and webhook receivers in the tests listen on loopback.
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"


def _fresh_database(server_url: str) -> str:
    name = f"quarry_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session", autouse=True)
def loopback_is_allowed() -> None:
    """Model calls made in the test process go through the outbound guard too."""
    from shared.settings import get_settings

    os.environ.setdefault("QUARRY_OUTBOUND_ALLOWED_NETWORKS", LOOPBACK_NETWORKS)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="quarry-test-"))
    yield path
    if not os.environ.get("QUARRY_TEST_KEEP_LOGS"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def backends(work_dir: Path) -> Iterator[Backends]:
    started = start_backends(work_dir, database="quarry_test", persist=False)
    if configured("DATABASE_URL"):
        started.database_url = _fresh_database(started.database_url)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def base_env(backends: Backends, work_dir: Path) -> dict[str, str]:
    """The environment every Quarry process of this run shares."""
    env = {
        **os.environ,
        "QUARRY_ENVIRONMENT": "test",
        "QUARRY_DATABASE_URL": backends.database_url,
        "QUARRY_REDIS_URL": backends.redis_url,
        "QUARRY_DATA_DIR": str(work_dir / "data"),
        "QUARRY_SECRET_KEY": "test-secret",
        "QUARRY_SWEEPER_STALE_QUEUED_S": "3",
        "QUARRY_WORKER_METRICS_PORT": "0",
        "QUARRY_JOB_RETRY_BACKOFF_S": "1",
        # Tenants without a plan keep the flat QUARRY_RATE_* / upload / free-page settings,
        # which tests tune per stack; tests/test_plans.py puts tenants on named plans.
        "QUARRY_DEFAULT_PLAN": "standard",
        # Webhook receivers in the tests listen on loopback; retries come fast.
        "QUARRY_OUTBOUND_ALLOWED_NETWORKS": LOOPBACK_NETWORKS,
        "QUARRY_WEBHOOK_RETRY_SCHEDULE_S": "0.5,0.5,0.5",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    os.environ.update(env)
    from shared.db.migrate import upgrade_database
    from shared.db.session import reset_engine
    from shared.settings import get_settings

    get_settings.cache_clear()
    reset_engine()
    upgrade_database()
    return env


@pytest.fixture(scope="session")
def log_dir(work_dir: Path) -> Path:
    return work_dir / "logs"


@pytest.fixture(scope="session")
def api(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    server = start_api(base_env, log_dir)
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def worker(base_env: dict[str, str], log_dir: Path) -> Iterator[Process]:
    process = start_worker(base_env, log_dir)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless system Chromium for the console's browser tests (tests/console_browser.py)."""
    from tests.console_browser import chromium_path

    executable = chromium_path()
    if executable is None:
        pytest.skip("No Chromium binary found (install the `chromium` package; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()
