"""Long PDFs are converted in page-range parts by several worker processes and joined.

These tests own their queue (a separate Redis database), an API and a two-process
worker whose split threshold is 100 pages, 50 pages a part.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pymupdf
import pytest
from sqlalchemy import func, select

from shared.billing.models import LedgerEntry
from shared.db.session import transaction
from shared.jobs.models import Job
from shared.jobs.options import ExtractOptions, MarkdownOptions
from shared.jobs.parts import JobPart
from shared.storage.factory import get_storage
from tests.factories import INVOICE_LINES, make_long_pdf, make_tenant
from tests.stack import ApiServer, Process, redis_database, start_api, start_worker
from worker.pipeline.run import JobInput, run_pipeline

INVOICE_SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"},
                                                  "total": {"type": "number"}}}


@pytest.fixture(scope="module")
def parts_env(base_env: dict[str, str]) -> dict[str, str]:
    return {
        **base_env,
        "QUARRY_REDIS_URL": redis_database(base_env, 10),
        "QUARRY_SPLIT_PAGES_THRESHOLD": "100",
        "QUARRY_SPLIT_PAGES_PER_PART": "50",
    }


@pytest.fixture(scope="module")
def parts_api(parts_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    server = start_api(parts_env, log_dir)
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def parts_worker(parts_env: dict[str, str], log_dir: Path) -> Iterator[Process]:
    process = start_worker(parts_env, log_dir, concurrency=2, name="parts-worker")
    yield process
    process.stop(signal.SIGKILL)


def make_sectioned_pdf(*, pages: int) -> bytes:
    """Body text, a running footer, and headings whose sizes differ from part to part:
    their levels come out right only if the whole document is classified at once."""
    document = pymupdf.open()
    for index in range(pages):
        page = document.new_page()
        if index % 40 == 0:
            size = 22 if index < pages // 2 else 16
            page.insert_text((72, 90), f"Section {index // 40 + 1}", fontsize=size)
        for row in range(25):
            page.insert_text((72, 130 + row * 20), f"Line {row} of page {index + 1} in the report",
                             fontsize=11)
        page.insert_text((72, page.rect.height - 30), f"Page {index + 1} of {pages}", fontsize=9)
    data: bytes = document.tobytes()
    document.close()
    return data


def submit(api: ApiServer, key: str, path: str, pdf: bytes, **form: str) -> str:
    with api.client(key) as client:
        response = client.post(path, files={"file": ("long.pdf", pdf)}, data={"wait": "0", **form})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def wait_done(api: ApiServer, key: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with api.client(key) as client:
        while time.monotonic() < deadline:
            body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
            if body["status"] in ("succeeded", "partial", "failed", "canceled"):
                return body
            time.sleep(0.1)
    raise AssertionError(f"{job_id} did not finish; last: {body['status']}")


def parts_of(job_id: str) -> list[JobPart]:
    with transaction() as session:
        query = select(JobPart).where(JobPart.job_id == job_id).order_by(JobPart.attempt,
                                                                         JobPart.start)
        return list(session.scalars(query))


def charges_for(job_id: str) -> int:
    with transaction() as session:
        query = select(func.count()).where(LedgerEntry.job_id == job_id,
                                           LedgerEntry.kind == "charge")
        return int(session.scalar(query) or 0)


def test_long_pdf_is_converted_in_parts_by_several_processes_as_if_whole(
    parts_api: ApiServer, parts_worker: Process,
) -> None:
    tenant = make_tenant(credits=100_000)
    pdf = make_sectioned_pdf(pages=400)
    job_id = submit(parts_api, tenant.api_key, "/v1/to-markdown", pdf)
    done = wait_done(parts_api, tenant.api_key, job_id)

    assert done["status"] == "succeeded", done
    assert done["meta"]["pages"] == 400
    whole = run_pipeline(JobInput(options=MarkdownOptions(), data=pdf,
                                  file_name="long.pdf", content_type=None)).payload
    assert done["markdown"] == whole["markdown"]
    assert done["plain_text"] == whole["plain_text"]
    assert "# Section 1" in done["markdown"] and "## Section 10" in done["markdown"]
    assert "Page 7 of 400" not in done["markdown"]  # the running footer, over all 400 pages

    parts = parts_of(job_id)
    assert [(part.start, part.stop) for part in parts] == [(s, s + 50) for s in range(0, 400, 50)]
    assert {part.status for part in parts} == {"done"}
    assert len({part.converted_by for part in parts}) >= 2
    assert all(get_storage().size(part.storage_key) is None for part in parts)  # cleaned up
    assert charges_for(job_id) == 1
    assert done["cost"] == {"credits_used": 800, "pages": 400}
    with transaction() as session:
        job = session.get_one(Job, job_id)
        assert (job.pages_done, job.pages_total, job.attempts) == (400, 400, 1)


def test_long_invoice_extracts_in_parts(parts_api: ApiServer, parts_worker: Process) -> None:
    tenant = make_tenant(credits=100_000)
    invoice = pymupdf.open()
    first = invoice.new_page()
    for row, text in enumerate(INVOICE_LINES):
        first.insert_text((72, 72 + row * 20), text, fontsize=11)
    invoice.insert_pdf(pymupdf.open(stream=make_long_pdf(pages=150), filetype="pdf"))
    pdf = invoice.tobytes()
    job_id = submit(parts_api, tenant.api_key, "/v1/extract", pdf,
                    schema=json.dumps(INVOICE_SCHEMA))
    done = wait_done(parts_api, tenant.api_key, job_id)

    assert done["status"] == "succeeded", done
    whole = run_pipeline(JobInput(options=ExtractOptions(schema=INVOICE_SCHEMA), data=pdf,
                                  file_name="long.pdf", content_type=None)).payload
    assert done["result"] == whole["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert len(parts_of(job_id)) == 4  # 151 pages
    assert charges_for(job_id) == 1


def test_short_pdf_is_not_split(parts_api: ApiServer, parts_worker: Process) -> None:
    tenant = make_tenant(credits=100_000)
    job_id = submit(parts_api, tenant.api_key, "/v1/to-markdown", make_long_pdf(pages=100))
    assert wait_done(parts_api, tenant.api_key, job_id)["meta"]["pages"] == 100
    assert parts_of(job_id) == []


def test_part_worker_killed_mid_part_still_finishes_once(
    parts_api: ApiServer, parts_worker: Process,
) -> None:
    tenant = make_tenant(credits=100_000)
    job_id = submit(parts_api, tenant.api_key, "/v1/to-markdown", make_long_pdf(pages=1500))
    deadline = time.monotonic() + 30
    while not any(part.status == "done" for part in parts_of(job_id)):
        assert time.monotonic() < deadline, "no part finished"
        time.sleep(0.05)
    assert any(part.status == "pending" for part in parts_of(job_id))
    children = psutil.Process(parts_worker.popen.pid).children(recursive=True)
    children[0].send_signal(signal.SIGKILL)

    done = wait_done(parts_api, tenant.api_key, job_id, timeout=90)
    assert done["status"] == "succeeded", done
    assert done["meta"]["pages"] == 1500
    assert charges_for(job_id) == 1
    assert "WorkerLostError" in parts_worker.log() or "signal 9" in parts_worker.log()
