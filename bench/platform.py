"""Platform benchmark: 1-page text PDFs through the local extractor, one API, one worker.

Reports sync-extract latency (p50/p99), sustained jobs/s, where a job's time goes,
and API/worker resident memory after 100 and after N jobs (leak check).

    .venv/bin/python -m bench.platform [--jobs 5000] [--latency-requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import httpx

from bench.harness import bench_stack, rss_mib

SCHEMA = '{"invoice_number": "string", "total": "number"}'


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sync_latencies(url: str, key: str, pdf: bytes, count: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=url, headers={"X-API-KEY": key}, timeout=60) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = client.post("/v1/extract", files={"file": ("inv.pdf", pdf)},
                                   data={"schema": SCHEMA, "mode": "fast"})
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return latencies


async def sustained(url: str, key: str, pdf: bytes, jobs: int, concurrency: int = 16) -> float:
    """Submit `jobs` with wait=0, then wait for all to finish; return jobs/s."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-KEY": key}, timeout=60,
                                 limits=limits) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def submit() -> str:
            async with semaphore:
                response = await client.post("/v1/extract", files={"file": ("inv.pdf", pdf)},
                                             data={"schema": SCHEMA, "mode": "fast", "wait": "0"})
                assert response.status_code in (200, 202), response.text
                job_id: str = response.json()["job_id"]
                return job_id

        started = time.perf_counter()
        job_ids = await asyncio.gather(*(submit() for _ in range(jobs)))
        pending = set(job_ids)
        while pending:
            page = (await client.get("/v1/jobs", params={"status": "queued", "limit": 1})).json()
            running = (await client.get("/v1/jobs", params={"status": "running", "limit": 1})).json()
            if not page["data"] and not running["data"]:
                break
            await asyncio.sleep(0.2)
        return jobs / (time.perf_counter() - started)


def job_breakdown(url: str, key: str, sample: int = 200) -> dict[str, float]:
    with httpx.Client(base_url=url, headers={"X-API-KEY": key}, timeout=60) as client:
        jobs = client.get("/v1/jobs", params={"limit": sample}).json()["data"]
    from datetime import datetime

    def ms(a: str, b: str) -> float:
        return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() * 1000

    waits = [ms(j["created_at"], j["started_at"]) for j in jobs]
    runs = [ms(j["started_at"], j["finished_at"]) for j in jobs]
    return {"queue_wait_p50_ms": statistics.median(waits), "processing_p50_ms": statistics.median(runs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--latency-requests", type=int, default=200)
    args = parser.parse_args()
    # The benchmark measures the platform, not the per-tenant limiter: lift the limits.
    limits = {"QUARRY_RATE_HEAVY_PER_S": "100000", "QUARRY_RATE_HEAVY_BURST": "100000",
              "QUARRY_RATE_GENERAL_PER_S": "100000", "QUARRY_RATE_GENERAL_BURST": "100000"}
    from tests.factories import INVOICE_LINES, make_pdf

    pdf = make_pdf(lines=INVOICE_LINES)
    results: dict[str, Any] = {}
    with bench_stack(worker_concurrency=2, extra_env=limits) as stack:
        key, url = stack.make_tenant(), stack.api.url
        api_pid, worker_pid = stack.api.process.popen.pid, stack.workers[0].popen.pid
        sync_latencies(url, key, pdf, 20)  # warm-up
        latencies = sync_latencies(url, key, pdf, args.latency_requests)
        results["sync_p50_ms"] = statistics.median(latencies)
        results["sync_p99_ms"] = percentile(latencies, 0.99)
        results.update(job_breakdown(url, key))
        asyncio.run(sustained(url, key, pdf, 100))
        rss_100 = (rss_mib(api_pid), rss_mib(worker_pid))
        results["jobs_per_s"] = asyncio.run(sustained(url, key, pdf, args.jobs))
        rss_n = (rss_mib(api_pid), rss_mib(worker_pid))
    print(f"platform benchmark — {os.cpu_count()} cores, 1 API process, 1 worker (concurrency 2)")
    p50, p99 = results["sync_p50_ms"], results["sync_p99_ms"]
    print(f"  sync extract latency   p50 {p50:.1f} ms   p99 {p99:.1f} ms   (target p50 <= 150 ms)")
    print(f"  of which (p50)         queue wait {results['queue_wait_p50_ms']:.1f} ms, "
          f"processing {results['processing_p50_ms']:.1f} ms")
    print(f"  sustained throughput   {results['jobs_per_s']:.1f} jobs/s over {args.jobs} jobs"
          f"   (target >= 40 jobs/s)")
    rows = (("API", rss_100[0], rss_n[0]), ("worker", rss_100[1], rss_n[1]))
    for name, after_100, after_n in rows:
        growth = 100 * (after_n - after_100) / after_100
        print(f"  {name:<7} RSS           {after_100:.0f} MiB after 100 jobs, {after_n:.0f} MiB after "
              f"{args.jobs + 100} ({growth:+.1f} %, target < 10 %)")


if __name__ == "__main__":
    main()
