"""Real processes for the tests: API (uvicorn), Celery worker, beat, moto's S3 server."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from stack.embedded import free_port
from stack.processes import api_command, beat_command, worker_command


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_file: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


_SPAWNED: list[Process] = []


@atexit.register
def _stop_leftovers() -> None:
    """A failed fixture or an interrupted run must not leave servers behind."""
    for process in _SPAWNED:
        if process.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)


def spawn(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Process:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{name}-{time.monotonic_ns()}.log"
    handle = log_file.open("wb")
    popen = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=Path(__file__).resolve().parents[1])
    process = Process(name=name, popen=popen, log_file=log_file)
    _SPAWNED.append(process)
    return process


@dataclass
class ApiServer:
    process: Process
    url: str

    def client(self, key: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"X-API-KEY": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]


def start_api(env: dict[str, str], log_dir: Path) -> ApiServer:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**env, "QUARRY_PUBLIC_BASE_URL": url}
    process = spawn("api", api_command(port), env, log_dir)
    wait_for(lambda: httpx.get(f"{url}/healthz", timeout=1).status_code == 200, process)
    return ApiServer(process=process, url=url)


def start_worker(env: dict[str, str], log_dir: Path, *, concurrency: int = 2,
                 name: str = "worker") -> Process:
    hostname = f"{name}-{time.monotonic_ns()}@%h"
    process = spawn(name, worker_command(concurrency=concurrency, hostname=hostname), env, log_dir)
    wait_for(lambda: "ready." in process.log(), process, timeout=60)
    return process


def start_beat(env: dict[str, str], log_dir: Path) -> Process:
    schedule = log_dir / f"beat-{time.monotonic_ns()}"
    return spawn("beat", beat_command(schedule), env, log_dir)


@dataclass
class MotoServer:
    process: Process
    url: str


def start_moto(log_dir: Path) -> MotoServer:
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = spawn("moto", command, dict(os.environ), log_dir)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(url, timeout=1).status_code < 500, process)
    return MotoServer(process=process, url=url)


def wait_for(check: object, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log()[-3000:]}")
        try:
            if check():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{process.name} not ready in {timeout}s:\n{process.log()[-3000:]}")


def redis_database(env: dict[str, str], number: int) -> str:
    """The run's Redis URL on database `number`: queues there are invisible to the session
    worker, so a test can own its jobs, workers and broker state."""
    return env["QUARRY_REDIS_URL"].rsplit("/", 1)[0] + f"/{number}"
