"""Worker metrics: pool processes write to a shared directory; the main process serves it.

`prepare_metrics_dir()` must run before anything imports prometheus_client, because the
client picks its multiprocess storage at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from shared.settings import get_settings

log = logging.getLogger(__name__)
ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir() -> None:
    if os.environ.get(ENV):
        return
    directory = Path(get_settings().data_dir).resolve() / "metrics" / f"worker-{os.getpid()}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(directory)


def serve_metrics() -> None:
    """Serve every pool process's metrics on `worker_metrics_port` (0 turns it off)."""
    port = get_settings().worker_metrics_port
    if not port:
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    try:
        start_http_server(port, registry=registry)
    except OSError as exc:
        log.warning("worker metrics port %s unavailable: %s", port, exc)


def forget_process(pid: int) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
