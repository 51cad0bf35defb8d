"""`make up`: everything on one machine, data kept under one directory, Ctrl-C stops it all."""

from __future__ import annotations

import argparse
import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import httpx

from stack.processes import api_command, beat_command, worker_command
from stack.servers import start_backends


def main() -> None:
    options = _parse_args()
    data_dir = Path(options.data_dir).resolve()
    port = options.port
    data_dir.mkdir(parents=True, exist_ok=True)
    # Held until this process exits: a second `make up` on the same directory would fight over
    # the embedded database; on the same port it would answer readiness with the first stack.
    data_lock = _lock_data_dir(data_dir)
    _check_port_free(port)
    backends = start_backends(data_dir)
    env = {
        **os.environ,
        "QUARRY_DATABASE_URL": backends.database_url,
        "QUARRY_REDIS_URL": backends.redis_url,
        "QUARRY_DATA_DIR": str(data_dir),
        "QUARRY_SECRET_KEY": _secret_key(data_dir),
        "QUARRY_PUBLIC_BASE_URL": os.environ.get("QUARRY_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        # Local webhook receivers and model servers: loopback only, never link-local.
        "QUARRY_OUTBOUND_ALLOWED_NETWORKS": os.environ.get("QUARRY_OUTBOUND_ALLOWED_NETWORKS",
                                                           "127.0.0.0/8,::1/128"),
    }
    os.environ.update(env)
    from shared.db.migrate import upgrade_database
    from shared.settings import get_settings
    from shared.tenants.bootstrap import ensure_dev_keys

    upgrade_database()
    settings = get_settings()
    keys = ensure_dev_keys(data_dir / "dev-keys.json", tenant_name=settings.dev_tenant_name,
                           credits=settings.dev_tenant_credits)
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = [
        _spawn(api_command(port), env, logs / "api.log"),
        _spawn(worker_command(), env, logs / "worker.log"),
        _spawn(beat_command(data_dir / "celerybeat-schedule"), env, logs / "beat.log"),
    ]
    _wait_until_ready(f"http://127.0.0.1:{port}/readyz", children)
    print(f"Quarry is running at http://127.0.0.1:{port}  (docs: /docs, logs: {logs})")
    print(f"API key: {keys.api_key}")
    print(f"Admin key: {keys.admin_key}")
    print("Press Ctrl-C to stop.", flush=True)
    crashed = _supervise(children)
    backends.stop()
    data_lock.close()
    if crashed:
        sys.exit(f"A Quarry process stopped unexpectedly; see {logs}.")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make up", description="Run Quarry on this machine: API, worker, beat, database, Redis.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("QUARRY_PORT", "8000")),
                        help="API port (env QUARRY_PORT, default 8000)")
    parser.add_argument("--data-dir", default=os.environ.get("QUARRY_DATA_DIR", "data"),
                        help="where the database, files, logs and dev keys live "
                             "(env QUARRY_DATA_DIR, default ./data)")
    return parser.parse_args()


def _lock_data_dir(data_dir: Path) -> TextIO:
    handle = (data_dir / ".up.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(f"Another Quarry is already running on {data_dir}; stop it or choose another "
                 "QUARRY_DATA_DIR.")
    return handle


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(f"Port {port} is already in use; set QUARRY_PORT (or --port) to a free one.")


def _secret_key(data_dir: Path) -> str:
    """The configured secret (environment or `.env`), else this data directory's own."""
    from shared.settings import DEV_SECRET, Settings

    configured = Settings().secret_key
    return configured if configured != DEV_SECRET else local_secret(data_dir)


def local_secret(data_dir: Path) -> str:
    """This data directory's own signing secret: made at random on first start, then reused,
    so upload URLs and sealed keys never rest on a default anyone can read in the source."""
    path = data_dir / "secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _spawn(command: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    handle = log_file.open("ab")
    return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_until_ready(url: str, children: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            _stop(children)
            sys.exit("A Quarry process exited during startup; see the logs directory.")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    _stop(children)
    sys.exit("Quarry did not become ready within 60 s; see the logs directory.")


def _supervise(children: list[subprocess.Popen[bytes]]) -> bool:
    """Run until Ctrl-C or SIGTERM; True when a child died on its own instead."""
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    print("Stopping Quarry…", flush=True)
    _stop(children)
    return not stopping


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    main()
