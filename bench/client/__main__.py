"""Client benchmark: `quarry batch` throughput on a folder, and SDK overhead per call vs raw httpx.

Starts its own stack (embedded Postgres + Redis, one API, one worker), like bench.platform.

    .venv/bin/python -m bench.client [--files 500] [--calls 300] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from quarry_client import Quarry

from stack.servers import start_backends
from tests.stack import start_api, start_worker

SCHEMA = {"invoice_number": "string", "total": "number"}
NO_LIMITS = {"heavy": {"rate": 100_000, "burst": 100_000}, "general": {"rate": 100_000, "burst": 100_000}}


def make_folder(root: Path, count: int) -> Path:
    from tests.factories import make_pdf

    for index in range(count):
        folder = root / f"part-{index % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        pdf = make_pdf(lines=[f"Invoice Number: INV-{index:05d}", f"Total: ${index}.00"])
        (folder / f"invoice-{index:05d}.pdf").write_bytes(pdf)
    return root


def cli_batch(url: str, key: str, folder: Path, out: Path, concurrency: int, *extra: str) -> float:
    """Wall seconds for `quarry batch` (a fresh process, as a user runs it)."""
    schema = folder.parent / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    command = [sys.executable, "-m", "quarry_client.cli", "--api-key", key, "--url", url, "batch",
               str(folder), "--schema", str(schema), "--mode", "fast", "--out", str(out),
               "--concurrency", str(concurrency), "--no-progress", "--json", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == len(list(folder.rglob("*.pdf")))
    return elapsed


async def raw_batch(url: str, key: str, files: list[tuple[str, bytes]], concurrency: int) -> float:
    """The same folder with bare httpx (no retries, no resume): the floor the CLI is compared to."""
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in files:
        queue.put_nowait(item)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-KEY": key}, timeout=120) as client:
        async def worker() -> None:
            while not queue.empty():
                name, pdf = queue.get_nowait()
                data = {"schema": json.dumps(SCHEMA), "mode": "fast", "wait": "30",
                        "metadata": json.dumps({"path": name})}
                response = await client.post("/v1/extract", data=data, files={"file": (name, pdf)})
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def paired_ms(raw: Callable[[], object], sdk: Callable[[], object], count: int) -> tuple[float, float]:
    """Median ms per call for each, calls interleaved so both see the same server and machine load."""
    for _ in range(10):  # warm-up: connections, caches
        raw(), sdk()
    samples: dict[str, list[float]] = {"raw": [], "sdk": []}
    for _ in range(count):
        for name, call in (("raw", raw), ("sdk", sdk)):
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return statistics.median(samples["raw"]), statistics.median(samples["sdk"])


def overhead(url: str, key: str, calls: int) -> dict[str, float]:
    text = ("note.txt", b"# Hello\n\nA tiny document.\n", "text/plain")
    results: dict[str, float] = {}
    with httpx.Client(base_url=url, headers={"X-API-KEY": key}, timeout=60) as raw, \
            Quarry(key, url) as quarry:
        def raw_me() -> object:
            return raw.get("/v1/me").raise_for_status()

        def raw_markdown() -> object:
            return raw.post("/v1/to-markdown", files={"file": text}).raise_for_status()

        results["me_raw"], results["me_sdk"] = paired_ms(raw_me, quarry.me, calls)
        results["md_raw"], results["md_sdk"] = paired_ms(
            raw_markdown, lambda: quarry.to_markdown(text[:2]), calls // 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="quarry-bench-client-"))
    backends = start_backends(work, database="bench", persist=False)
    env = {**os.environ, "QUARRY_DATABASE_URL": backends.database_url,
           "QUARRY_REDIS_URL": backends.redis_url, "QUARRY_DATA_DIR": str(work / "data"),
           "QUARRY_LOG_LEVEL": "WARNING", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    os.environ.update(env)
    from shared.db.migrate import upgrade_database
    from tests.factories import make_tenant

    upgrade_database()
    admin, tenant, raw_tenant, one_by_one = (
        make_tenant(credits=10_000_000, is_admin=True), make_tenant(credits=10_000_000),
        make_tenant(credits=10_000_000), make_tenant(credits=10_000_000))
    api = start_api(env, work / "logs")
    worker = start_worker(env, work / "logs", concurrency=2)
    try:
        with Quarry(admin.api_key, api.url) as operator:
            for tenant_id in (admin.tenant_id, tenant.tenant_id, raw_tenant.tenant_id,
                              one_by_one.tenant_id):
                operator.admin_set_rate_limits(tenant_id, **NO_LIMITS)
        folder = make_folder(work / "docs", args.files)
        warm = [(path.name, path.read_bytes()) for path in sorted(folder.rglob("*.pdf"))[:50]]
        asyncio.run(raw_batch(api.url, admin.api_key, warm, args.concurrency))  # warm the server
        cli_s = cli_batch(api.url, tenant.api_key, folder, work / "results.jsonl", args.concurrency)
        files = [(path.name, path.read_bytes()) for path in sorted(folder.rglob("*.pdf"))]
        raw_s = asyncio.run(raw_batch(api.url, raw_tenant.api_key, files, args.concurrency))
        resume_s = cli_batch(api.url, tenant.api_key, folder, work / "results.jsonl", args.concurrency)
        interactive_s = cli_batch(api.url, one_by_one.api_key, folder, work / "interactive.jsonl",
                                  args.concurrency, "--interactive")
        calls = overhead(api.url, admin.api_key, args.calls)
    finally:
        worker.stop()
        api.process.stop()
        backends.stop()
        shutil.rmtree(work, ignore_errors=True)
    n = args.files
    print(f"client benchmark — {os.cpu_count()} cores, 1 API process, 1 worker (concurrency 2), "
          f"{n} one-page PDFs, fast extract, client concurrency {args.concurrency}")
    print(f"  quarry batch (CLI)     {n / cli_s:6.1f} files/s   ({cli_s:.1f} s, process start included; "
          "uploads + one /v1/batches batch on the bulk queue)")
    print(f"  quarry batch --interactive {n / interactive_s:6.1f} files/s   ({interactive_s:.1f} s, "
          "one /v1/extract call per file)")
    print(f"  raw httpx, same folder {n / raw_s:6.1f} files/s   ({raw_s:.1f} s)")
    print(f"  re-run, all done       {resume_s:.2f} s to skip {n} files (resume check)")
    for name, label in (("me", "GET /v1/me"), ("md", "to-markdown, tiny text")):
        raw_ms, sdk_ms = calls[f"{name}_raw"], calls[f"{name}_sdk"]
        print(f"  {label:<22} raw httpx {raw_ms:6.2f} ms   SDK {sdk_ms:6.2f} ms   "
              f"overhead {1000 * (sdk_ms - raw_ms):+6.0f} µs per call (median)")


if __name__ == "__main__":
    main()
