"""How the CLI shows things: JSON for scripts (`--json`), readable text for people."""

from __future__ import annotations

import json
import time
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
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from quarry_client.config import resolve_connection
from quarry_client.errors import QuarryTimeout
from quarry_client.flow import PollSchedule
from quarry_client.models import ApiObject, Job
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
        # Ids are copied into the next command: fold them onto a second line, never cut them.
        is_id = column == "id" or column.endswith("_id")
        table.add_column(column, no_wrap=not is_id, overflow="fold" if is_id else "ellipsis")
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    stdout.print(table)


class RateColumn(ProgressColumn):
    """Files per second, averaged by rich over the recent window."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} files/s" if speed else "- files/s", style="cyan")


def batch_progress(enabled: bool) -> Progress:
    """Per-task bars: done/total, %, files/s, elapsed, ETA, failures and (bulk) server counts."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TaskProgressColumn(), RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), TextColumn("{task.fields[failed]} failed"),
        TextColumn("{task.fields[detail]}", style="dim"),
        console=stderr, disable=not enabled, refresh_per_second=4,
    )


def wait_with_progress(quarry: Quarry, job: Job, *, timeout: float | None, enabled: bool,
                       label: str) -> Job:
    """Poll a job to its end with a spinner on stderr (status, pages done); Ctrl-C leaves the
    job running and says how to find it."""
    if job.done:
        return job
    schedule, deadline = PollSchedule(), None if timeout is None else time.monotonic() + timeout
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TextColumn("{task.fields[state]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=stderr, disable=not enabled, transient=True) as bar:
        task = bar.add_task(label, state=job.status)
        try:
            while not job.done:
                if deadline is not None and time.monotonic() >= deadline:
                    raise QuarryTimeout(f"job {job.job_id} still {job.status} after {timeout:g}s",
                                        body={"job_id": job.job_id})
                time.sleep(schedule.next())
                job = quarry.get_job(job.job_id)
                bar.update(task, state=_job_state(job))
        except KeyboardInterrupt:
            stderr.print(f"stopped waiting; the job goes on: quarry jobs get {job.job_id}")
            raise typer.Exit(130) from None
    return job


def _job_state(job: Job) -> str:
    pages = job.progress or {}
    if pages.get("pages_total"):
        return f"{job.status} · page {pages.get('pages_done', 0)}/{pages['pages_total']}"
    return job.status
