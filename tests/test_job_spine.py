"""The typed job spine: options stored typed with the job's queue, the sweeper sending a
recovered job back to that queue, and outcomes that follow without hidden imports."""

from __future__ import annotations

import ast
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from PIL import Image

from shared.db.session import transaction
from shared.jobs.models import Job
from shared.jobs.options import MarkdownOptions, load_options
from shared.settings import get_settings
from tests.factories import make_tenant
from tests.stack import ApiServer, redis_database, start_api

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def isolated_url(base_env: dict[str, str]) -> str:
    return redis_database(base_env, 2)


@pytest.fixture(scope="module")
def isolated_api(base_env: dict[str, str], isolated_url: str, log_dir: Path) -> Iterator[ApiServer]:
    """No worker consumes this API's queues: its jobs stay queued for the sweeper."""
    server = start_api({**base_env, "QUARRY_REDIS_URL": isolated_url}, log_dir)
    yield server
    server.process.stop()


def png() -> bytes:
    image = Image.new("RGB", (200, 80), "white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def queued_job_ids(broker: redis.Redis, queue: str) -> list[str]:
    messages = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
    return [message["headers"]["argsrepr"].strip("[]'()\",") for message in messages]


def test_a_recovered_ocr_job_goes_back_to_the_ocr_queue(
    isolated_api: ApiServer, isolated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant()
    with isolated_api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("scan.png", png())},
                               data={"wait": "0"})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    broker = redis.Redis.from_url(isolated_url)
    assert job_id in queued_job_ids(broker, "ocr")
    broker.delete("ocr", "interactive")  # the message is lost

    with transaction() as session:
        job = session.get_one(Job, job_id)
        assert job.queue == "ocr"
        assert load_options(job.operation, job.options) == MarkdownOptions()

    from shared.queue import get_celery
    from worker.tasks import sweep_stale_jobs

    monkeypatch.setenv("QUARRY_REDIS_URL", isolated_url)
    get_settings.cache_clear()
    get_celery.cache_clear()
    try:
        time.sleep(get_settings().sweeper_stale_queued_s + 0.5)
        assert sweep_stale_jobs() >= 1
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_celery.cache_clear()
    assert job_id in queued_job_ids(broker, "ocr")
    assert job_id not in queued_job_ids(broker, "interactive")


def test_job_outcomes_and_batches_import_nothing_inside_functions() -> None:
    """What follows a job's outcome is called by name: no import hidden in a function body
    to get around an import cycle."""
    lazy = []
    for folder in ("shared/jobs", "shared/batches", "shared/billing", "worker/parts"):
        for path in sorted((ROOT / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lazy += [f"{path.relative_to(ROOT)}:{inner.lineno}" for inner in ast.walk(node)
                             if isinstance(inner, ast.Import | ast.ImportFrom)]
    assert lazy == []
