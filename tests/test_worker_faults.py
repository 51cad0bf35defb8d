"""A worker that is missing, killed, or loses its message: every job still finishes once.

These tests own their queue (a separate Redis database) so the session worker
cannot pick their jobs up, and start and kill their own worker processes.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from sqlalchemy import func, select

from shared.billing.models import LedgerEntry
from shared.db.session import transaction
from tests.factories import make_long_pdf, make_pdf, make_tenant
from tests.stack import ApiServer, Process, redis_database, start_api, start_beat, start_worker, wait_for

LONG_PAGES = 800


@pytest.fixture(scope="module")
def isolated_env(base_env: dict[str, str]) -> dict[str, str]:
    redis_url = redis_database(base_env, 3)
    return {
        **base_env,
        "QUARRY_REDIS_URL": redis_url,
        "QUARRY_BROKER_VISIBILITY_TIMEOUT_S": "10",
        "QUARRY_SWEEPER_INTERVAL_S": "1",
        "QUARRY_SWEEPER_STALE_QUEUED_S": "2",
        # Whole-job redelivery: the long PDFs here stay one job (parts: test_page_parts.py).
        "QUARRY_SPLIT_PAGES_THRESHOLD": "0",
    }


@pytest.fixture(scope="module")
def isolated_api(isolated_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    server = start_api(isolated_env, log_dir)
    yield server
    server.process.stop()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop(signal.SIGKILL)


def submit(api: ApiServer, key: str, pdf: bytes) -> str:
    with api.client(key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("doc.pdf", pdf)},
                               data={"wait": "0"})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def wait_status(api: ApiServer, key: str, job_id: str, wanted: set[str],
                timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with api.client(key) as client:
        while time.monotonic() < deadline:
            body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
            if body["status"] in wanted:
                return body
            time.sleep(0.1)
    raise AssertionError(f"{job_id} never reached {wanted}; last: {body['status']}")


def charges_for(job_id: str) -> int:
    with transaction() as session:
        query = select(func.count()).where(LedgerEntry.job_id == job_id,
                                           LedgerEntry.kind == "charge")
        return int(session.scalar(query) or 0)


def test_job_submitted_with_no_worker_runs_when_one_starts(
    isolated_api: ApiServer, isolated_env: dict[str, str], log_dir: Path,
    processes: list[Process],
) -> None:
    tenant = make_tenant()
    job_id = submit(isolated_api, tenant.api_key, make_pdf())
    time.sleep(1)
    assert wait_status(isolated_api, tenant.api_key, job_id, {"queued"})["attempts"] == 0
    processes.append(start_worker(isolated_env, log_dir))
    done = wait_status(isolated_api, tenant.api_key, job_id, {"succeeded"})
    assert done["attempts"] == 1 and done["markdown"]
    assert charges_for(job_id) == 1


def _busy_children(worker: Process) -> list[psutil.Process]:
    return psutil.Process(worker.popen.pid).children(recursive=True)


def test_worker_child_killed_mid_job_is_redelivered_and_finishes_once(
    isolated_api: ApiServer, isolated_env: dict[str, str], log_dir: Path,
    processes: list[Process],
) -> None:
    tenant = make_tenant(credits=100_000)
    worker = start_worker(isolated_env, log_dir, concurrency=1)
    processes.append(worker)
    job_id = submit(isolated_api, tenant.api_key, make_long_pdf(pages=LONG_PAGES))
    wait_status(isolated_api, tenant.api_key, job_id, {"running"})
    for child in _busy_children(worker):
        child.send_signal(signal.SIGKILL)
    done = wait_status(isolated_api, tenant.api_key, job_id, {"succeeded"})
    assert done["attempts"] == 2
    assert done["meta"]["pages"] == LONG_PAGES
    assert charges_for(job_id) == 1


def test_whole_worker_killed_mid_job_finishes_on_a_new_worker(
    isolated_api: ApiServer, isolated_env: dict[str, str], log_dir: Path,
    processes: list[Process],
) -> None:
    tenant = make_tenant(credits=100_000)
    first = start_worker(isolated_env, log_dir, concurrency=1)
    processes.append(first)
    job_id = submit(isolated_api, tenant.api_key, make_long_pdf(pages=LONG_PAGES))
    wait_status(isolated_api, tenant.api_key, job_id, {"running"})
    first.kill()
    processes.append(start_worker(isolated_env, log_dir, concurrency=1))
    done = wait_status(isolated_api, tenant.api_key, job_id, {"succeeded"}, timeout=240)
    assert done["attempts"] == 2
    assert charges_for(job_id) == 1


def test_lost_message_is_reenqueued_by_the_sweeper(
    isolated_api: ApiServer, isolated_env: dict[str, str], log_dir: Path,
    processes: list[Process],
) -> None:
    tenant = make_tenant()
    job_id = submit(isolated_api, tenant.api_key, make_pdf())
    broker = redis.Redis.from_url(isolated_env["QUARRY_REDIS_URL"])
    assert broker.delete("interactive") == 1
    processes.append(start_worker(isolated_env, log_dir))
    time.sleep(2)
    assert wait_status(isolated_api, tenant.api_key, job_id, {"queued"})["attempts"] == 0
    processes.append(start_beat(isolated_env, log_dir))
    done = wait_status(isolated_api, tenant.api_key, job_id, {"succeeded"})
    assert done["attempts"] == 1


def test_sigterm_lets_the_worker_finish_its_job_and_the_api_drain(
    isolated_env: dict[str, str], log_dir: Path, processes: list[Process],
) -> None:
    """Graceful shutdown: a worker finishes the job in hand; the API answers the request
    it is holding before it exits."""
    api = start_api(isolated_env, log_dir)
    tenant = make_tenant(credits=100_000)
    worker = start_worker(isolated_env, log_dir, concurrency=1)
    processes.append(worker)
    job_id = submit(api, tenant.api_key, make_long_pdf(pages=LONG_PAGES))
    wait_status(api, tenant.api_key, job_id, {"running"})
    os.kill(worker.popen.pid, signal.SIGTERM)  # as an orchestrator does: the main process only
    done = wait_status(api, tenant.api_key, job_id, {"succeeded"})
    assert done["attempts"] == 1
    worker.popen.wait(timeout=30)

    processes.append(start_worker(isolated_env, log_dir, concurrency=1))
    with concurrent.futures.ThreadPoolExecutor(1) as pool, api.client(tenant.api_key) as client:
        waiting = pool.submit(client.post, "/v1/to-markdown",
                              files={"file": ("d.pdf", make_long_pdf(pages=LONG_PAGES))})
        wait_for(lambda: _running_jobs(api, tenant.api_key) == 1, api.process)
        os.kill(api.process.popen.pid, signal.SIGTERM)
        response = waiting.result(timeout=60)
    assert response.status_code == 200 and response.json()["meta"]["pages"] == LONG_PAGES
    api.process.popen.wait(timeout=30)


def _running_jobs(api: ApiServer, key: str) -> int:
    with api.client(key) as client:
        return len(client.get("/v1/jobs", params={"status": "running"}).json()["data"])
