"""How the CLI shows things: JSON for scripts (`--json`), readable text for people."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from quarry_client.config import resolve_connection
from quarry_client.models import ApiObject
from quarry_client.retry import RetryPolicy
from quarry_client.sync_client import Quarry

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


@dataclass
class CliState:
    """Global options, shared by every command through `ctx.obj`."""

    api_key: str | None = None
    url: str | None = None
    config: Path | None = None
    json: bool = False

    def client(self, *, timeout: float = 60.0, retry: RetryPolicy | None = None) -> Quarry:
        connection = resolve_connection(self.api_key, self.url, self.config)
        return Quarry(connection.api_key, connection.url, timeout=timeout, retry=retry)


def state(ctx: typer.Context, as_json: bool = False) -> CliState:
    current = ctx.find_root().obj
    if not isinstance(current, CliState):
        current = CliState()
    if as_json:
        current.json = True
    return current


def plain(value: Any) -> Any:
    """JSON-ready form of a result (typed objects give their full response)."""
    if isinstance(value, ApiObject):
        return value.raw
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def emit(cli: CliState, value: Any, *, title: str | None = None) -> None:
    """Print a result: JSON with `--json`, else a key/value table."""
    data = plain(value)
    if cli.json or not isinstance(data, dict):
        stdout.print_json(json.dumps(data, default=str))
        return
    table = Table(title=title, show_header=False, box=None)
    for key, item in data.items():
        shown = item if isinstance(item, str) else json.dumps(item, default=str)
        table.add_row(Text(str(key), style="bold"), Text(shown))
    stdout.print(table)


def emit_rows(cli: CliState, rows: list[dict[str, Any]], columns: list[str], *, title: str) -> None:
    if cli.json:
        stdout.print_json(json.dumps(rows, default=str))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    stdout.print(table)


class RateColumn(ProgressColumn):
    """Files per second, averaged by rich over the recent window."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} files/s" if speed else "- files/s", style="cyan")


def batch_progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TaskProgressColumn(), RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), TextColumn("{task.fields[failed]} failed"),
        console=stderr, disable=not enabled, refresh_per_second=4,
    )
