"""Chaos with real processes: Redis and Postgres restart under load, a full disk.

Each ends with every job finished exactly once, credits charged exactly once, and
the API answering 503 (not hanging) while a dependency is down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shared.batches.models import BatchItem
from shared.billing.models import LedgerEntry
from shared.db.session import transaction
from shared.jobs.models import Job
from stack.embedded import EmbeddedValkey
from stack.servers import Backends
from tests.factories import make_long_pdf, make_pdf, make_tenant
from tests.stack import ApiServer, Process, start_api, start_beat, start_worker

JOBS = 30


class ChaosStack:
    def __init__(self, env: dict[str, str], api: ApiServer, valkey: EmbeddedValkey,
                 processes: list[Process]) -> None:
        self.env, self.api, self.valkey, self.processes = env, api, valkey, processes


@pytest.fixture
def chaos(base_env: dict[str, str], work_dir: Path, log_dir: Path) -> Iterator[ChaosStack]:
    valkey = EmbeddedValkey(work_dir / f"valkey-chaos-{time.monotonic_ns()}", persist=False)
    env = {**base_env, "QUARRY_REDIS_URL": valkey.start(), "QUARRY_SWEEPER_INTERVAL_S": "1",
           "QUARRY_SWEEPER_STALE_QUEUED_S": "4", "QUARRY_JOB_HARD_TIME_LIMIT_S": "40",
           "QUARRY_RATE_HEAVY_BURST": "100", "QUARRY_WEBHOOK_TIMEOUT_S": "1",
           "QUARRY_JOB_SOFT_TIME_LIMIT_S": "30"}
    api = start_api(env, log_dir)
    processes = [start_worker(env, log_dir, concurrency=2), start_beat(env, log_dir)]
    yield ChaosStack(env, api, valkey, processes)
    for process in processes:
        process.stop(signal.SIGKILL)
    api.process.stop()
    valkey.stop()


def submit_batch(stack: ChaosStack, key: str) -> list[str]:
    """A batch of JOBS 40-page documents uploaded by presign; returns its job ids."""
    pdf = make_long_pdf(pages=40)
    with stack.api.client(key) as client:
        uris = []
        for index in range(JOBS):
            target = client.post("/v1/uploads/presign", json={"file_name": f"r{index}.pdf"}).json()
            assert httpx.put(target["upload_url"], content=pdf).status_code == 200
            uris.append(target["file_uri"])
        response = client.post("/v1/batches", json={
            "operation": "inference.to_markdown", "items": [{"file_uri": uri} for uri in uris]})
    assert response.status_code == 202, response.text
    with transaction() as session:
        return list(session.scalars(select(BatchItem.job_id)
                                    .where(BatchItem.batch_id == response.json()["batch_id"])))


def wait_all_finished(job_ids: list[str], timeout: float = 150) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with transaction() as session:
            statuses = Counter(session.scalars(select(Job.status).where(Job.id.in_(job_ids))))
        if statuses["succeeded"] == len(job_ids):
            return statuses
        time.sleep(0.5)
    raise AssertionError(f"jobs did not all finish: {statuses}")


def assert_charged_once(tenant_id: str, job_ids: list[str], credits_start: int) -> None:
    with transaction() as session:
        kinds = Counter(session.scalars(select(LedgerEntry.kind)
                                        .where(LedgerEntry.job_id.in_(job_ids))))
        ledger_sum = session.scalar(select(func.sum(LedgerEntry.amount))
                                    .where(LedgerEntry.tenant_id == tenant_id))
        charged = -int(session.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.job_id.in_(job_ids), LedgerEntry.kind == "charge")) or 0)
    # Batch items are held at one page each; the worker raises each hold to the real page
    # count before converting (one more hold entry per job). Released and charged once.
    assert kinds == {"hold": 2 * JOBS, "release": JOBS, "charge": JOBS}
    assert charged == JOBS * 40 * 2
    assert ledger_sum == credits_start - charged


def test_redis_restart_during_a_batch(chaos: ChaosStack) -> None:
    tenant = make_tenant(credits=100_000)
    job_ids = submit_batch(chaos, tenant.api_key)
    chaos.valkey.stop()
    with chaos.api.client(tenant.api_key) as client:
        started = time.monotonic()
        down = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())})
        assert down.status_code == 503 and time.monotonic() - started < 15
    time.sleep(2)
    chaos.valkey.start()  # same port; everything Redis held (queued messages) is gone
    wait_all_finished(job_ids)
    assert_charged_once(tenant.tenant_id, job_ids, 100_000)


def test_postgres_restart_during_a_batch(chaos: ChaosStack, backends: Backends) -> None:
    if backends.postgres is None:
        pytest.skip("Postgres restarts need the embedded server (DATABASE_URL is configured)")
    server = backends.postgres.server
    tenant = make_tenant(credits=100_000)
    job_ids = submit_batch(chaos, tenant.api_key)
    postmaster = server.get_pid()
    os.kill(postmaster, signal.SIGINT)
    _wait_gone(postmaster)
    with chaos.api.client(tenant.api_key) as client:
        started = time.monotonic()
        down = client.get("/v1/me")
        assert down.status_code == 503 and time.monotonic() - started < 15
    time.sleep(2)
    server.ensure_postgres_running()
    wait_all_finished(job_ids)
    assert_charged_once(tenant.tenant_id, job_ids, 100_000)


def _wait_gone(pid: int) -> None:
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    raise AssertionError("postgres did not stop")


@pytest.fixture
def tiny_disk(work_dir: Path) -> Iterator[Path]:
    mount_point = work_dir / f"tiny-disk-{time.monotonic_ns()}"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_local_storage_disk_is_503_and_loses_nothing(
    base_env: dict[str, str], log_dir: Path, tiny_disk: Path
) -> None:
    api = start_api({**base_env, "QUARRY_STORAGE_DIR": str(tiny_disk)}, log_dir)
    tenant = make_tenant(credits=100_000)
    try:
        with api.client(tenant.api_key) as client:
            small = client.post("/v1/uploads/presign", json={"file_name": "small.pdf"}).json()
            small_pdf = make_pdf()
            assert httpx.put(small["upload_url"], content=small_pdf).status_code == 200
            big = make_long_pdf(pages=160)
            assert len(big) > 1024 * 1024
            full = client.post("/v1/to-markdown", files={"file": ("big.pdf", big)},
                               data={"wait": "0"})
            assert full.status_code == 503, full.text
            assert full.headers["retry-after"] == "1"
            assert client.get("/v1/jobs").json()["data"] == []
            assert client.get("/v1/me").json()["credits_balance"] == 100_000
    finally:
        api.process.stop()
    stored = list(tiny_disk.rglob("small.pdf"))
    assert len(stored) == 1 and stored[0].read_bytes() == small_pdf
    assert not [p for p in tiny_disk.rglob(".part-*")]


def test_hanging_webhook_receiver_delays_no_job_and_loses_no_event(chaos: ChaosStack) -> None:
    from tests.receivers import webhook_receiver

    tenant = make_tenant(credits=10_000)
    with webhook_receiver(hangs=[5.0, 5.0, 5.0]) as receiver, \
            chaos.api.client(tenant.api_key) as client:
        started = time.monotonic()
        jobs = [client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())},
                            data={"webhook_url": receiver.url, "wait": "30"}) for _ in range(3)]
        assert all(job.status_code == 200 for job in jobs), [job.text for job in jobs]
        assert time.monotonic() - started < 15  # the stalled receiver held up no job
        received = receiver.wait_for(3, timeout=60)  # the stalled attempts are not answered
        deliveries = [client.get(f"/v1/jobs/{job.json()['job_id']}/deliveries").json()
                      ["data"][0] for job in jobs]
    assert len({r.headers["webhook-id"] for r in received}) == 3
    assert all(d["status"] == "succeeded" for d in deliveries)
    first_attempts = [d["attempt_log"][0] for d in deliveries]
    assert sum(a["error"] == "Timed out." for a in first_attempts) >= 2
