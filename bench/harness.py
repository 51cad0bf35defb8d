"""A throwaway Quarry stack for benchmarks: embedded servers, API and worker processes."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from stack.servers import start_backends
from tests.stack import ApiServer, Process, spawn, start_api, start_worker, wait_for


@dataclass
class BenchStack:
    env: dict[str, str]
    api: ApiServer
    workers: list[Process]
    work: Path

    def make_tenant(self, credits: int = 10_000_000) -> str:
        from tests.factories import make_tenant

        return make_tenant(credits=credits).api_key


def rss_mib(pid: int) -> float:
    process = psutil.Process(pid)
    total = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(True))
    return total / (1024 * 1024)


@contextmanager
def bench_stack(*, worker_concurrency: int = 2, api_processes: int = 1,
                extra_env: dict[str, str] | None = None) -> Iterator[BenchStack]:
    work = Path(tempfile.mkdtemp(prefix="quarry-bench-"))
    backends = start_backends(work, database="bench", persist=False)
    env = {**os.environ, "QUARRY_DATABASE_URL": backends.database_url,
           "QUARRY_REDIS_URL": backends.redis_url, "QUARRY_DATA_DIR": str(work / "data"),
           "QUARRY_LOG_LEVEL": "WARNING", "QUARRY_WORKER_METRICS_PORT": "0",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(extra_env or {})}
    os.environ.update(env)
    from shared.db.migrate import upgrade_database
    from shared.db.session import reset_engine
    from shared.settings import get_settings

    get_settings.cache_clear()
    reset_engine()
    upgrade_database()
    api = _start_api(env, work / "logs", api_processes)
    workers = [start_worker(env, work / "logs", concurrency=worker_concurrency)]
    try:
        yield BenchStack(env=env, api=api, workers=workers, work=work)
    finally:
        for worker in workers:
            worker.stop()
        api.process.stop()
        backends.stop()
        shutil.rmtree(work, ignore_errors=True)


def _start_api(env: dict[str, str], log_dir: Path, processes: int) -> ApiServer:
    if processes == 1:
        return start_api(env, log_dir)
    import httpx

    from stack.embedded import free_port
    from stack.processes import api_command

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = spawn("api", api_command(port, workers=processes),
                    {**env, "QUARRY_PUBLIC_BASE_URL": url}, log_dir)
    wait_for(lambda: httpx.get(f"{url}/healthz", timeout=1).status_code == 200, process)
    return ApiServer(process=process, url=url)
