"""Scale-out: the same workload with 1, 2 and 4 worker processes behind 2 API processes.

Reports throughput and per-job latency for each, then the per-job costs the
projection in the README's Operations section is computed from.

    .venv/bin/python -m bench.scaleout [--jobs 300] [--pages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime

import httpx

from bench.harness import bench_stack
from tests.factories import make_pdf

LINES = [f"Line {i}: Quarterly figures for region {i % 7}, total ${i * 13}.00" for i in range(30)]


async def run_workload(url: str, key: str, pdf: bytes, jobs: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=url, headers={"X-API-KEY": key}, timeout=120,
                                 limits=httpx.Limits(max_connections=16)) as client:
        gate = asyncio.Semaphore(16)

        async def submit() -> str:
            async with gate:
                response = await client.post("/v1/to-markdown", files={"file": ("r.pdf", pdf)},
                                             data={"wait": "0"})
                response.raise_for_status()
                job_id: str = response.json()["job_id"]
                return job_id

        started = time.perf_counter()
        job_ids = await asyncio.gather(*(submit() for _ in range(jobs)))
        while True:
            busy = [(await client.get("/v1/jobs", params={"status": s, "limit": 1})).json()["data"]
                    for s in ("queued", "running")]
            if not any(busy):
                break
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        latencies, processing = [], []
        for job_id in job_ids[:: max(1, jobs // 100)]:
            job = (await client.get(f"/v1/jobs/{job_id}")).json()
            created, begun, done = (datetime.fromisoformat(job[k]) for k in
                                    ("created_at", "started_at", "finished_at"))
            latencies.append((done - created).total_seconds() * 1000)
            processing.append((done - begun).total_seconds() * 1000)
    latencies.sort()
    return {"jobs_per_s": jobs / elapsed, "latency_p50_ms": statistics.median(latencies),
            "latency_p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
            "processing_p50_ms": statistics.median(processing)}


def measure(workers: int, jobs: int, pages: int) -> dict[str, float]:
    pdf = make_pdf(lines=LINES, pages=pages)
    with bench_stack(worker_concurrency=workers, api_processes=2,
                     extra_env={"QUARRY_RATE_HEAVY_PER_S": "100000",
                                "QUARRY_RATE_HEAVY_BURST": "100000"}) as stack:
        key = stack.make_tenant()
        asyncio.run(run_workload(stack.api.url, key, pdf, 20))  # warm-up
        return asyncio.run(run_workload(stack.api.url, key, pdf, jobs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--only", type=int, help="measure one worker count, print JSON")
    args = parser.parse_args()
    if args.only:
        print(json.dumps(measure(args.only, args.jobs, args.pages)))
        return
    rows = []
    for workers in (1, 2, 4):
        # A fresh interpreter per configuration: each gets its own embedded servers.
        done = subprocess.run(
            [sys.executable, "-m", "bench.scaleout", "--only", str(workers), "--jobs",
             str(args.jobs), "--pages", str(args.pages)],
            capture_output=True, text=True, check=True,
        )
        rows.append((workers, json.loads(done.stdout.strip().splitlines()[-1])))
    print(f"scale-out — {args.jobs} to-markdown jobs of {args.pages} text pages, 2 API processes, "
          f"this machine: 2 cores")
    print(f"{'worker processes':>17} {'jobs/s':>8} {'pages/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'processing p50 ms':>18}")
    for workers, result in rows:
        print(f"{workers:>17} {result['jobs_per_s']:>8.1f} {result['jobs_per_s'] * args.pages:>8.0f} "
              f"{result['latency_p50_ms']:>8.0f} {result['latency_p99_ms']:>8.0f} "
              f"{result['processing_p50_ms']:>18.1f}")


if __name__ == "__main__":
    main()
