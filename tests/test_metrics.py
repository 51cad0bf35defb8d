"""Prometheus metrics on the API and on a worker, as an operator's scraper sees them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from stack.embedded import free_port
from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process, redis_database, start_worker, wait_for


def test_api_metrics_count_requests_by_route_and_jobs_by_state(api: ApiServer,
                                                               worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        job = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())}).json()
        client.get(f"/v1/jobs/{job['job_id']}")
        body = client.get("/metrics").text
    assert 'quarry_http_requests_total{method="GET",route="/v1/jobs/{job_id}",status="200"}' in body
    assert "quarry_http_request_duration_seconds_bucket{" in body
    # Only open jobs are counted (the query must not scan every job ever run).
    assert 'quarry_jobs_open{status="queued"}' in body and 'quarry_jobs_open{status="running"}' in body
    assert 'status="succeeded"' not in "".join(
        line for line in body.splitlines() if line.startswith("quarry_jobs_open"))
    assert "quarry_batch_items_undispatched " in body
    assert 'quarry_queue_depth{queue="interactive"}' in body
    assert "quarry_queue_oldest_age_seconds" in body


def _families(body: str) -> set[str]:
    """Every metric name a scraper of this output could query (families and their samples)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(body):
        names.add(family.name)
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
        names |= {sample.name for sample in family.samples}
        if family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    return names


def _dashboard_metric_names() -> dict[str, set[str]]:
    dashboard = json.loads((Path(__file__).resolve().parents[1]
                            / "infra/grafana/quarry-dashboard.json").read_text())
    return {panel["title"]: {name for target in panel["targets"]
                             for name in re.findall(r"quarry_[a-z_]+", target["expr"])}
            for panel in dashboard["panels"]}


def test_worker_serves_job_metrics(api: ApiServer, base_env: dict[str, str], log_dir: Path) -> None:
    port = free_port()
    isolated = {**base_env, "QUARRY_WORKER_METRICS_PORT": str(port),
                "QUARRY_REDIS_URL": redis_database(base_env, 6)}
    from tests.stack import start_api

    own_api = start_api(isolated, log_dir)
    worker = start_worker(isolated, log_dir, concurrency=1)
    try:
        tenant = make_tenant()
        with own_api.client(tenant.api_key) as client:
            done = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf(pages=3))})
            assert done.status_code == 200, done.text
        url = f"http://127.0.0.1:{port}/metrics"
        wait_for(lambda: "quarry_jobs_finished_total" in httpx.get(url, timeout=2).text, worker)
        body = httpx.get(url, timeout=2).text
        api_body = httpx.get(f"{own_api.url}/metrics", timeout=5).text
    finally:
        worker.stop()
        own_api.process.stop()
    finished = [line for line in body.splitlines()
                if line.startswith("quarry_jobs_finished_total{") and "succeeded" in line]
    assert finished and float(finished[0].split()[-1]) >= 1
    assert 'quarry_pages_processed_total{mode="default",operation="inference.to_markdown"} 3.0' in body

    # Every Grafana panel charts names that the API or the workers really export.
    exported = _families(body) | _families(api_body)
    for title, names in _dashboard_metric_names().items():
        assert names and names <= exported, f"panel {title!r}: {names - exported} not exported"
    # Worker-side histograms follow the unit-suffix convention.
    assert "quarry_job_duration_seconds_bucket" in _families(body)
