"""Migrations: from an empty database and from the previous head to the models' schema."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

PREVIOUS_HEAD = "0008"

ALEMBIC = """
import sys
from alembic import command
from shared.db.migrate import alembic_config
getattr(command, sys.argv[1])(alembic_config(), sys.argv[2])
"""

DRIFT = """
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from shared.db.models import Base
from shared.db.session import get_engine
with get_engine().connect() as connection:
    print(repr(compare_metadata(MigrationContext.configure(connection), Base.metadata)))
"""


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def empty_database(base_env: dict[str, str]) -> Iterator[str]:
    """A new, empty database on the run's server; its SQLAlchemy URL."""
    url = base_env["QUARRY_DATABASE_URL"]
    name = f"quarry_migrate_{secrets.token_hex(4)}"
    server = urlunsplit(urlsplit(_psycopg_url(url))._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(database_url: str, script: str, *args: str) -> str:
    """Run `script` in a fresh interpreter against `database_url` (settings are per process)."""
    env = {**os.environ, "QUARRY_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_an_empty_database_upgrades_to_exactly_the_models(empty_database: str) -> None:
    _run(empty_database, ALEMBIC, "upgrade", "heads")
    assert _run(empty_database, DRIFT).strip() == "[]"


def test_the_previous_head_upgrades_with_its_rows_and_back(empty_database: str) -> None:
    _run(empty_database, ALEMBIC, "upgrade", PREVIOUS_HEAD)
    with psycopg.connect(_psycopg_url(empty_database), autocommit=True) as conn:
        _seed_previous_head(conn)
    _run(empty_database, ALEMBIC, "upgrade", "heads")
    with psycopg.connect(_psycopg_url(empty_database)) as conn:
        queues = dict(conn.execute("SELECT id, queue FROM jobs").fetchall())
    # Batch items always ran on bulk; a single job's kind is not kept, so it stays interactive.
    assert queues == {"job_single": "interactive", "job_batch": "bulk"}
    assert _run(empty_database, DRIFT).strip() == "[]"
    _run(empty_database, ALEMBIC, "downgrade", PREVIOUS_HEAD)
    _run(empty_database, ALEMBIC, "upgrade", "heads")


def _seed_previous_head(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """One tenant, upload, single job, and a batch with one job, as 0008 stored them."""
    rows = [
        ("tenants", {"id": "ten_1"}),
        ("uploads", {"id": "upl_1", "tenant_id": "ten_1"}),
        ("jobs", {"id": "job_single", "tenant_id": "ten_1", "upload_id": "upl_1",
                  "operation": "inference.to_markdown", "status": "queued"}),
        ("jobs", {"id": "job_batch", "tenant_id": "ten_1", "upload_id": "upl_1",
                  "operation": "inference.extract", "status": "queued"}),
        ("batches", {"id": "bat_1", "tenant_id": "ten_1"}),
        ("batch_items", {"job_id": "job_batch", "batch_id": "bat_1", "tenant_id": "ten_1"}),
    ]
    for table, given in rows:
        values = {**_required_values(conn, table), **given}
        columns = ", ".join(values)
        marks = ", ".join(["%s"] * len(values))
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 - names are ours
                     list(values.values()))


def _required_values(conn: psycopg.Connection[tuple[object, ...]], table: str) -> dict[str, object]:
    """A plain value for every NOT NULL column without a default, by its type."""
    columns = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL", [table]).fetchall()
    plain = {"integer": 0, "bigint": 0, "boolean": False, "json": "{}", "jsonb": "{}",
             "timestamp without time zone": "2026-01-01", "timestamp with time zone": "2026-01-01"}
    return {name: plain.get(kind, "x") for name, kind in columns}
