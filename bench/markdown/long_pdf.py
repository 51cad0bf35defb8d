"""A long PDF to markdown, whole versus in page-range parts, through a real stack.

One worker with 2 processes; the same PDF is submitted one job at a time and timed
from submission to the finished job (polled every 20 ms), unsplit
(`QUARRY_SPLIT_PAGES_THRESHOLD=0`) and split (threshold 200, 50 pages a part).

    .venv/bin/python -m bench.markdown.long_pdf [--pages 600] [--runs 3] [--source FILE.pdf]

`--source` repeats that PDF's pages instead of `make_long_pdf`'s one text page
(e.g. `bench/markdown/data/tables.pdf`: ruled tables, ~0.15 s a page).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pymupdf

from bench.harness import bench_stack
from tests.factories import make_long_pdf

SETUPS = {"unsplit": {"QUARRY_SPLIT_PAGES_THRESHOLD": "0"},
          "split": {"QUARRY_SPLIT_PAGES_THRESHOLD": "200", "QUARRY_SPLIT_PAGES_PER_PART": "50"}}


def time_jobs(env: dict[str, str], pdf: bytes, runs: int) -> list[float]:
    with bench_stack(worker_concurrency=2, extra_env=env) as stack:
        key = stack.make_tenant()
        with stack.api.client(key) as client:
            _one(client, make_long_pdf(pages=250))  # warm-up: both processes, split or not
            return [_one(client, pdf) for _ in range(runs)]


def _one(client: httpx.Client, pdf: bytes) -> float:
    started = time.perf_counter()
    response = client.post("/v1/to-markdown", files={"file": ("long.pdf", pdf)},
                           data={"wait": "0"})
    response.raise_for_status()
    job_id = response.json()["job_id"]
    while True:
        body = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in ("succeeded", "failed"):
            assert body["status"] == "succeeded", body
            return time.perf_counter() - started
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source", type=Path, help="a PDF whose pages are repeated")
    parser.add_argument("--setup", choices=sorted(SETUPS), help="run one setup (internal)")
    args = parser.parse_args()
    if args.setup:
        times = time_jobs(SETUPS[args.setup], _pdf(args.pages, args.source), args.runs)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {args.setup} | {statistics.median(times):.2f} | {runs} |", flush=True)
        return
    kind = args.source.name if args.source else "text"
    print(f"{args.pages}-page PDF ({kind}), 1 worker × 2 processes, {args.runs} runs after a warm-up")
    print("| setup | median (s) | runs (s) |\n|---|---|---|", flush=True)
    for name in SETUPS:  # each in a fresh process: a stack's engine and settings are cached
        source = ["--source", str(args.source)] if args.source else []
        subprocess.run([sys.executable, "-m", "bench.markdown.long_pdf", "--setup", name,
                        "--pages", str(args.pages), "--runs", str(args.runs), *source], check=True)


def _pdf(pages: int, source: Path | None) -> bytes:
    if source is None:
        return make_long_pdf(pages=pages)
    original = pymupdf.open(source)
    document = pymupdf.open()
    while document.page_count < pages:
        document.insert_pdf(original, to_page=pages - document.page_count - 1)
    data: bytes = document.tobytes()
    return data


if __name__ == "__main__":
    main()
