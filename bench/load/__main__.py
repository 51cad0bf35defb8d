"""Load test with locust against a local stack, bounded in users and time.

Two runs: heavy traffic (POST /v1/extract) and general traffic (GET /v1/jobs), each
from one tenant at the default rate limits, so the limiter's 429s show up as such.

    .venv/bin/python -m bench.load [--seconds 15] [--users 20]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

from bench.harness import bench_stack
from tests.factories import INVOICE_LINES, make_pdf

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def run_locust(url: str, env: dict[str, str], users: int, seconds: int, out: Path) -> list[dict[str, str]]:
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
               "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(out),
               "--only-summary", "--stop-timeout", "5"]
    subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    with open(f"{out}_stats.csv") as handle:
        return [row for row in csv.DictReader(handle) if row["Name"] != "Aggregated"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    with bench_stack(worker_concurrency=2) as stack:
        pdf_path = stack.work / "inv.pdf"
        pdf_path.write_bytes(make_pdf(lines=INVOICE_LINES))
        print(f"load test — locust, {args.users} users for {args.seconds} s per run, "
              f"one tenant at default limits (heavy 5/s burst 20, general 50/s burst 200)")
        print(f"{'route':<28} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'failures':>9}")
        for scenario, weights in (("heavy", ("1", "0")), ("general", ("0", "1"))):
            env = {**os.environ, "QUARRY_LOAD_PDF": str(pdf_path),
                   "QUARRY_LOAD_KEY": stack.make_tenant(), "QUARRY_LOAD_HEAVY": weights[0],
                   "QUARRY_LOAD_GENERAL": weights[1]}
            for row in run_locust(stack.api.url, env, args.users, args.seconds,
                                  stack.work / scenario):
                print(f"{row['Name']:<28} {row['Request Count']:>9} "
                      f"{float(row['Requests/s']):>7.1f} {row['50%']:>7} {row['99%']:>7} "
                      f"{row['Failure Count']:>9}")


if __name__ == "__main__":
    main()
