"""The commands that run Quarry's processes; used by `make up`, compose and the tests."""

from __future__ import annotations

import sys
from pathlib import Path


def api_command(port: int, *, host: str = "127.0.0.1", workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "api.main:app", "--host", host, "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--timeout-graceful-shutdown", "20"]


def worker_command(*, concurrency: int = 2, queues: str = "interactive,ocr,webhooks,bulk,training",
                   hostname: str = "worker@%h") -> list[str]:
    return [sys.executable, "-m", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "-Q", queues,
            "--hostname", hostname, "--without-gossip", "--without-mingle"]


def beat_command(schedule_file: Path) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "worker.celery_app", "beat",
            "--loglevel", "INFO", "--schedule", str(schedule_file)]
