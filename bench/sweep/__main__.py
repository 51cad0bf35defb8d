"""`python -m bench.sweep PATH…`: convert every file under the paths as a to-markdown job.

Each file goes through the API's check and the worker's pipeline (`bench.sweep.convert`)
in one of a few processes with a job's limits (`QUARRY_JOB_SOFT_TIME_LIMIT_S`, `…_HARD_…`,
`QUARRY_JOB_MAX_MEMORY_MB`, `QUARRY_WORKER_MAX_MEMORY_PER_CHILD_KB`, or the flags below).
Prints counts by outcome, the crashes, the slowest files and the peak memory; exits 1
when a file crashed (a 5xx), timed out or killed its process.
With no PATH, the committed regression files and benchmark documents are swept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from bench.sweep.convert import CONVERTED, CRASH, DIED, HARD_TIMEOUT, SOFT_TIMEOUT, Outcome
from bench.sweep.pool import Limits, sweep
from shared.settings import get_settings

DEFAULT_PATHS = ["tests/fixtures/documents/wild", "bench/markdown/data"]
FAILURES = (CRASH, SOFT_TIMEOUT, HARD_TIMEOUT, DIED)


def main() -> None:
    args = _arguments()
    files = _files(args.paths or DEFAULT_PATHS)
    settings = get_settings()
    limits = Limits(soft_s=args.soft_limit or settings.job_soft_time_limit_s,
                    hard_s=args.hard_limit or settings.job_hard_time_limit_s,
                    memory_mb=args.memory_mb if args.memory_mb is not None else settings.job_max_memory_mb,
                    recycle_rss_mb=settings.worker_max_memory_per_child_kb / 1024)
    print(f"{len(files)} files, {args.processes} processes, soft/hard limit "
          f"{limits.soft_s:g}/{limits.hard_s:g} s, memory cap {limits.memory_mb} MiB", flush=True)
    started = time.perf_counter()
    outcomes = []
    log = Path(args.log).open("w") if args.log else None
    for outcome in sweep(files, limits, args.processes):
        outcomes.append(outcome)
        if log:
            log.write(json.dumps(outcome.__dict__) + "\n")
            log.flush()
        if outcome.label.startswith(FAILURES):
            print(f"  {outcome.label}: {outcome.path} {outcome.error}", flush=True)
        if len(outcomes) % 100 == 0:
            print(f"  … {len(outcomes)}/{len(files)} in {time.perf_counter() - started:.0f} s",
                  flush=True)
    _report(outcomes, time.perf_counter() - started, args.slowest)
    if any(outcome.label.startswith(FAILURES) for outcome in outcomes):
        sys.exit(1)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="files or folders (searched recursively)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--soft-limit", type=float, help="seconds per file (default: the job's)")
    parser.add_argument("--hard-limit", type=float, help="seconds before the process is killed")
    parser.add_argument("--memory-mb", type=int, help="memory cap per process (0: none)")
    parser.add_argument("--slowest", type=int, default=10, help="how many slowest files to list")
    parser.add_argument("--log", help="write one JSON line per file here")
    return parser.parse_args()


def _files(paths: list[str]) -> list[str]:
    found: list[str] = []
    for path in map(Path, paths):
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [str(file) for file in candidates if file.is_file() and file.name != "SOURCES.md"]
    return found


def _report(outcomes: list[Outcome], seconds: float, slowest: int) -> None:
    counts = Counter(outcome.label for outcome in outcomes)
    print(f"\n{len(outcomes)} files in {seconds:.0f} s\n\n| outcome | files |\n|---|---|")
    for label in [CONVERTED, *sorted(set(counts) - {CONVERTED})]:
        print(f"| {label} | {counts.get(label, 0)} |")
    for label in FAILURES:
        if not any(other.startswith(label) for other in counts):
            print(f"| {label} | 0 |")
    partial = [outcome for outcome in outcomes if outcome.warnings]
    print(f"\nConverted with parts left out (a warning in meta): {len(partial)} files, "
          f"{sum(outcome.warnings for outcome in partial)} parts")
    print(f"\nSlowest {slowest}:\n| seconds | peak MiB | pages | outcome | file |\n|---|---|---|---|---|")
    for outcome in sorted(outcomes, key=lambda o: -o.seconds)[:slowest]:
        print(f"| {outcome.seconds:.1f} | {outcome.peak_rss_mb:.0f} | {outcome.pages} | "
              f"{outcome.label[:40]} | {outcome.path} |")
    peaks = sorted(outcome.peak_rss_mb for outcome in outcomes if outcome.peak_rss_mb)
    if peaks:
        top = max(outcomes, key=lambda o: o.peak_rss_mb)
        print(f"\nPeak resident memory per file: median {peaks[len(peaks) // 2]:.0f} MiB, "
              f"max {top.peak_rss_mb:.0f} MiB ({top.path})")


if __name__ == "__main__":
    main()
