"""Prometheus metrics, defined once, recorded by the API and by the workers.

Worker pool processes write to a shared multiprocess directory that the worker's
main process serves; the API serves its own registry plus live gauges read from
Postgres (open jobs by state, undispatched batch items) and Redis (queue depth, age of
the oldest message). Every API replica reports the same gauges, so dashboards and
autoscalers aggregate them with `max`, never `sum`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("quarry_http_requests_total", "HTTP requests", ["method", "route", "status"])
REQUEST_SECONDS = Histogram("quarry_http_request_duration_seconds", "HTTP request latency",
                            ["method", "route"],
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
JOB_SECONDS = Histogram("quarry_job_duration_seconds", "Job processing time",
                        ["operation", "mode", "status"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
JOBS_FINISHED = Counter("quarry_jobs_finished_total", "Jobs finished", ["operation", "status"])
PAGES = Counter("quarry_pages_processed_total", "Pages processed", ["operation", "mode"])
OCR_SECONDS = Counter("quarry_ocr_seconds_total", "Time spent in OCR", ["engine"])
LLM_CALLS = Counter("quarry_llm_calls_total", "LLM calls", ["provider", "outcome"])
LLM_TOKENS = Counter("quarry_llm_tokens_total", "LLM tokens", ["provider", "kind"])
CREDITS_CHARGED = Counter("quarry_credits_charged_total", "Credits charged", ["operation", "mode"])
WEBHOOK_DELIVERIES = Counter("quarry_webhook_deliveries_total", "Webhook delivery attempts",
                             ["outcome"])


def observe_job(operation: str, mode: str, status: str, seconds: float, pages: int,
                credits: int) -> None:
    JOB_SECONDS.labels(operation, mode, status).observe(seconds)
    JOBS_FINISHED.labels(operation, status).inc()
    if pages:
        PAGES.labels(operation, mode).inc(pages)
    if credits:
        CREDITS_CHARGED.labels(operation, mode).inc(credits)


class BacklogCollector(Collector):
    """Live gauges read at scrape time: jobs by state, queue depth, oldest message age."""

    def __init__(self, queues: tuple[str, ...]) -> None:
        self.queues = queues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from _jobs_by_state()
        yield from _queue_backlog(self.queues)


# Database gauges are read at most this often per process, however many scrapers ask.
DB_GAUGE_TTL_S = 15.0


@dataclass(frozen=True)
class DatabaseGauges:
    open_jobs: list[tuple[str, int]]
    undispatched_batch_items: int


_cache_lock = threading.Lock()
_cached: tuple[float, DatabaseGauges] | None = None


def _database_gauges() -> DatabaseGauges | None:
    """Open jobs by state and undispatched batch items, cached for `DB_GAUGE_TTL_S`.

    Both queries touch only open rows through partial/leading indexes (`ix_jobs_status_enqueued`,
    `ix_batches_open`), so their cost follows the backlog, not the history of every job.
    """
    global _cached
    with _cache_lock:
        now = time.monotonic()
        if _cached is not None and now - _cached[0] < DB_GAUGE_TTL_S:
            return _cached[1]
        try:
            gauges = _read_database_gauges()
        except Exception:  # a scrape must not fail because the database is down
            return None
        _cached = (now, gauges)
        return gauges


def _read_database_gauges() -> DatabaseGauges:
    from sqlalchemy import func, select

    from shared.batches.models import Batch
    from shared.db.session import transaction
    from shared.jobs.models import Job
    from shared.jobs.states import JobStatus

    open_states = [JobStatus.QUEUED.value, JobStatus.RUNNING.value]
    with transaction() as session:
        counted = dict(session.execute(
            select(Job.status, func.count()).where(Job.status.in_(open_states))
            .group_by(Job.status)).tuples().all())
        undispatched = session.execute(
            select(func.coalesce(func.sum(Batch.total - Batch.dispatched), 0))
            .where(Batch.completed_at.is_(None), Batch.canceled_at.is_(None))).scalar_one()
    return DatabaseGauges(open_jobs=[(state, int(counted.get(state, 0))) for state in open_states],
                          undispatched_batch_items=int(undispatched))


def _jobs_by_state() -> Iterator[GaugeMetricFamily]:
    jobs = GaugeMetricFamily("quarry_jobs_open", "Jobs not yet finished, by state",
                             labels=["status"])
    batch = GaugeMetricFamily("quarry_batch_items_undispatched",
                              "Batch items not yet sent to the bulk queue (the bulk backlog)")
    gauges = _database_gauges()
    if gauges is not None:
        for status, count in gauges.open_jobs:
            jobs.add_metric([status], count)
        batch.add_metric([], gauges.undispatched_batch_items)
    yield jobs
    yield batch


def _queue_backlog(queues: tuple[str, ...]) -> Iterator[GaugeMetricFamily]:
    from shared.redis_client import get_redis

    depth = GaugeMetricFamily("quarry_queue_depth", "Messages waiting", labels=["queue"])
    age = GaugeMetricFamily("quarry_queue_oldest_age_seconds", "Age of the oldest waiting message",
                            labels=["queue"])
    client = get_redis()
    for queue in queues:
        try:
            depth.add_metric([queue], client.llen(queue))
            age.add_metric([queue], _oldest_age(client.lindex(queue, -1)))
        except Exception:  # Redis down: report nothing rather than fail the scrape
            continue
    yield depth
    yield age


def _oldest_age(raw: Any) -> float:
    """Kombu pushes on the left, so the right end is the oldest; its headers carry `sent_at`."""
    if not raw:
        return 0.0
    try:
        sent = json.loads(raw).get("headers", {}).get("sent_at")
    except (ValueError, AttributeError):
        return 0.0
    return max(0.0, time.time() - float(sent)) if sent else 0.0
