"""Decide the database and Redis URLs: configured ones, else embedded servers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from stack.embedded import EmbeddedPostgres, EmbeddedValkey


@dataclass
class Backends:
    database_url: str
    redis_url: str
    valkey: EmbeddedValkey | None = field(default=None, repr=False)
    postgres: EmbeddedPostgres | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.valkey:
            self.valkey.stop()
        if self.postgres:
            self.postgres.stop()


def configured(name: str) -> str:
    return os.environ.get(f"QUARRY_{name}") or os.environ.get(name) or ""


def start_backends(data_dir: Path, *, database: str = "quarry", persist: bool = True) -> Backends:
    """Use `DATABASE_URL`/`REDIS_URL` when set; otherwise start embedded servers in `data_dir`."""
    postgres = valkey = None
    database_url = configured("DATABASE_URL")
    if not database_url:
        postgres = EmbeddedPostgres(data_dir / "postgres")
        postgres.start()
        database_url = postgres.database_url(database)
    redis_url = configured("REDIS_URL")
    if not redis_url:
        valkey = EmbeddedValkey(data_dir / "valkey", persist=persist)
        redis_url = valkey.start()
    return Backends(database_url=database_url, redis_url=redis_url, valkey=valkey,
                    postgres=postgres)
