"""Queue routing: OCR-heavy single jobs do not sit in front of quick text jobs."""

from __future__ import annotations

from pathlib import Path

import redis

from shared.jobs.options import load_options
from tests.factories import make_pdf, make_tenant
from tests.stack import redis_database, start_api


def queue_for(operation: str, kind: str, options: dict[str, object]) -> str:
    return load_options(operation, options).queue_for(kind)


def test_queue_for_each_kind_of_job() -> None:
    assert queue_for("inference.extract", "pdf", {"mode": "standard"}) == "interactive"
    assert queue_for("inference.extract", "pdf", {"mode": "robust"}) == "ocr"
    assert queue_for("inference.extract", "png", {"mode": "fast"}) == "ocr"
    assert queue_for("inference.to_markdown", "jpeg", {"conversion_mode": "default"}) == "ocr"
    assert queue_for("inference.to_markdown", "jpeg", {"conversion_mode": "fast"}) == "interactive"


def test_submitted_jobs_land_on_their_queue(base_env: dict[str, str], log_dir: Path) -> None:
    url = redis_database(base_env, 8)
    api = start_api({**base_env, "QUARRY_REDIS_URL": url}, log_dir)
    tenant = make_tenant()
    try:
        with api.client(tenant.api_key) as client:
            for mode in ("fast", "robust"):
                response = client.post("/v1/extract", files={"file": ("a.pdf", make_pdf())},
                                       data={"schema": '{"total": "number"}', "mode": mode,
                                             "wait": "0"})
                assert response.status_code == 202
    finally:
        api.process.stop()
    broker = redis.Redis.from_url(url)
    assert (broker.llen("interactive"), broker.llen("ocr")) == (1, 1)
