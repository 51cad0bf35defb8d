"""A 10,000-item batch of 1-page documents: accept time, completion throughput, streaming
memory, and another tenant's sync latency while the batch runs.

    .venv/bin/python -m bench.batches [--items 10000]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import httpx

from bench.harness import bench_stack, rss_mib
from tests.factories import INVOICE_LINES, make_pdf

DISTINCT_FILES = 100


def upload_files(client: httpx.Client, count: int) -> list[str]:
    uris = []
    for index in range(count):
        lines = [*INVOICE_LINES, f"Reference: DOC-{index:05d}"]
        target = client.post("/v1/uploads/presign", json={"file_name": f"d{index}.pdf"}).json()
        httpx.put(target["upload_url"], content=make_pdf(lines=lines)).raise_for_status()
        uris.append(target["file_uri"])
    return uris


def sample_rss(pid: int, stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        samples.append(rss_mib(pid))
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    limits = {"QUARRY_RATE_GENERAL_PER_S": "100000", "QUARRY_RATE_GENERAL_BURST": "100000"}
    with bench_stack(worker_concurrency=2, extra_env=limits) as stack:
        bulk_key, other_key = stack.make_tenant(), stack.make_tenant()
        with httpx.Client(base_url=stack.api.url, headers={"X-API-KEY": bulk_key},
                          timeout=300) as client:
            uris = upload_files(client, DISTINCT_FILES)
            items = [{"file_uri": uris[i % len(uris)], "metadata": {"n": i}}
                     for i in range(args.items)]
            body = {"operation": "inference.extract",
                    "defaults": {"schema": {"invoice_number": "string", "total": "number"},
                                 "mode": "fast"},
                    "items": items}
            started = time.perf_counter()
            accepted = client.post("/v1/batches", json=body)
            accept_s = time.perf_counter() - started
            accepted.raise_for_status()
            batch_id = accepted.json()["batch_id"]
            sync_latencies = []
            with httpx.Client(base_url=stack.api.url, headers={"X-API-KEY": other_key},
                              timeout=120) as other:
                while True:
                    state = client.get(f"/v1/batches/{batch_id}").json()
                    if state.get("status") in ("completed", "canceled") or \
                            state.get("finished", 0) >= args.items:
                        break
                    if len(sync_latencies) < 10:
                        t0 = time.perf_counter()
                        other.post("/v1/extract", files={"file": ("x.pdf", make_pdf())},
                                   data={"schema": '{"total": "number"}', "mode": "fast"})
                        sync_latencies.append((time.perf_counter() - t0) * 1000)
                    time.sleep(1)
            complete_s = time.perf_counter() - started
            api_pid = stack.api.process.popen.pid
            before = rss_mib(api_pid)
            samples: list[float] = []
            stop = threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(api_pid, stop, samples))
            sampler.start()
            lines = 0
            with client.stream("GET", f"/v1/batches/{batch_id}/results") as response:
                for line in response.iter_lines():
                    lines += bool(line.strip())
            stop.set()
            sampler.join()
    print(f"batch benchmark — {args.items} items of 1-page PDFs, 1 API, 1 worker (concurrency 2)")
    print(f"  accepted in            {accept_s:.2f} s   (target <= 5 s)")
    print(f"  completed in           {complete_s:.1f} s   ({args.items / complete_s:.1f} jobs/s)")
    print(f"  results streamed       {lines} lines")
    print(f"  API RSS while streaming {before:.0f} MiB before, peak {max(samples):.0f} MiB")
    if sync_latencies:
        print(f"  other tenant's sync extract during the batch: p50 "
              f"{statistics.median(sync_latencies):.0f} ms, max {max(sync_latencies):.0f} ms "
              f"({len(sync_latencies)} calls)")


if __name__ == "__main__":
    main()
