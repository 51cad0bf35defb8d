"""`quarry`: the command line for Quarry. Key and URL: flags, env vars, or the config file."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from quarry_client.async_client import AsyncQuarry
from quarry_client.cli.admin import admin_app
from quarry_client.cli.batch import BatchConfig, BatchRunner, BatchSummary, discover
from quarry_client.cli.output import CliState, batch_progress, emit, emit_rows, state, stderr, stdout
from quarry_client.cli.results_file import ResultsFile
from quarry_client.config import resolve_connection
from quarry_client.errors import QuarryError
from quarry_client.files import derived_idempotency_key, load_file
from quarry_client.options import EXTRACT, TO_MARKDOWN, JobOptions
from quarry_client.retry import RetryPolicy

app = typer.Typer(help="Quarry: documents in, schema-valid JSON and markdown out.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(admin_app, name="admin")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
SchemaOpt = Annotated[str | None, typer.Option("--schema", help="JSON Schema or shorthand map: "
                                                                "a file path or inline JSON.")]
ModeOpt = Annotated[str | None, typer.Option(help="extract: fast|standard|robust; markdown: default|fast")]


@app.callback()
def global_options(
    ctx: typer.Context,
    api_key: Annotated[str | None, typer.Option("--api-key", help="Default: $QUARRY_API_KEY.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Default: $QUARRY_URL.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Default: $QUARRY_CONFIG or "
                                                "~/.config/quarry/config.toml.")] = None,
    as_json: JsonFlag = False,
) -> None:
    ctx.obj = CliState(api_key=api_key, url=url, config=config, json=as_json)


def read_schema(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
    schema = json.loads(text)
    if not isinstance(schema, dict):
        raise typer.BadParameter("the schema must be a JSON object")
    return schema


@app.command()
def me(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Who this key is: tenant, key id, admin flag, balance."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.me())


@app.command()
def extract(ctx: typer.Context, file: Path, schema: SchemaOpt = None, mode: ModeOpt = None,
            artifact_id: Annotated[str | None, typer.Option()] = None,
            allow_partial: Annotated[bool, typer.Option("--allow-partial")] = False,
            timeout: Annotated[float | None, typer.Option(help="give up after N seconds")] = None,
            as_json: JsonFlag = False) -> None:
    """Extract JSON from FILE (prints the result; --json prints the whole response)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        result = quarry.extract(file, read_schema(schema), mode=mode, artifact_id=artifact_id,
                                allow_partial=allow_partial, timeout=timeout)
    if cli.json:
        emit(cli, result)
    else:
        stdout.print_json(json.dumps(result.result))


@app.command()
def markdown(ctx: typer.Context, file: Path, mode: ModeOpt = None,
             out: Annotated[Path | None, typer.Option(help="write the markdown here")] = None,
             timeout: Annotated[float | None, typer.Option()] = None, as_json: JsonFlag = False) -> None:
    """Convert FILE to markdown (printed, or written to --out)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        result = quarry.to_markdown(file, conversion_mode=mode, timeout=timeout)
    if out is not None:
        out.write_text(result.markdown, encoding="utf-8")
    if cli.json:
        emit(cli, result)
    elif out is None:
        sys.stdout.write(result.markdown + ("" if result.markdown.endswith("\n") else "\n"))


@app.command()
def batch(
    ctx: typer.Context, directory: Path,
    out: Annotated[Path, typer.Option(help="JSON Lines output; re-running resumes it")] = Path(
        "results.jsonl"),
    schema: SchemaOpt = None, mode: ModeOpt = None,
    artifact_id: Annotated[str | None, typer.Option()] = None,
    glob: Annotated[str, typer.Option("--glob", help="file name pattern")] = "*",
    recursive: Annotated[bool, typer.Option("--recursive/--no-recursive")] = True,
    concurrency: Annotated[int, typer.Option(min=1, max=256)] = 8,
    wait: Annotated[float, typer.Option(help="seconds the server holds each call")] = 30,
    retry_failed: Annotated[bool, typer.Option("--retry-failed")] = False,
    max_retries: Annotated[int, typer.Option(help="per call, on 429/503/network errors")] = 50,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Process every file under DIRECTORY: extract with --schema/--artifact-id, else markdown."""
    cli = state(ctx, as_json)
    parsed = read_schema(schema)
    operation = EXTRACT if parsed is not None or artifact_id else TO_MARKDOWN
    options = JobOptions(operation, schema=parsed, artifact_id=artifact_id, mode=mode)
    config = BatchConfig(root=directory, out=out, options=options, pattern=glob, recursive=recursive,
                         concurrency=concurrency, wait=wait, retry_failed=retry_failed)
    retry = RetryPolicy(max_retries=max_retries, backoff_max=30)
    results = ResultsFile(out)
    summary = BatchSummary()
    try:
        summary = asyncio.run(_run_batch(cli, config, results, retry, progress, summary))
    except KeyboardInterrupt:
        stderr.print(f"interrupted: {summary.processed} file(s) written to {out}; "
                     "run the same command again to resume")
        raise typer.Exit(130) from None
    finally:
        results.close()
    _report(cli, summary, out)


async def _run_batch(cli: CliState, config: BatchConfig, results: ResultsFile, retry: RetryPolicy,
                     show_progress: bool, summary: BatchSummary) -> BatchSummary:
    connection = resolve_connection(cli.api_key, cli.url, cli.config)
    limits = max(20, config.concurrency * 2)
    async with AsyncQuarry(connection.api_key, connection.url, retry=retry,
                           max_connections=limits) as client:
        runner = BatchRunner(client, config, results)
        runner.summary = summary  # the caller keeps counting through an interrupt
        todo = runner.pending(discover(config))
        with batch_progress(show_progress) as bar:
            task = bar.add_task("batch", total=len(todo), failed=0)

            def advance(_: str, ok: bool) -> None:
                bar.update(task, advance=1, failed=summary.failed)

            return await runner.run(todo, advance)


def _report(cli: CliState, summary: BatchSummary, out: Path) -> None:
    body = {"total": summary.total, "skipped": summary.skipped, "succeeded": summary.succeeded,
            "failed": summary.failed, "out": str(out)}
    if summary.stopped_by is not None:
        error = summary.stopped_by
        body["stopped"] = {"status_code": error.status_code, "code": error.code, "detail": error.detail}
    if cli.json:
        stdout.print_json(json.dumps(body))
    else:
        stderr.print(f"{summary.succeeded} succeeded, {summary.failed} failed, "
                     f"{summary.skipped} already done, of {summary.total} -> {out}")
    if summary.stopped_by is not None:
        stderr.print(f"stopped: {summary.stopped_by}")
        raise typer.Exit(1)


@app.command()
def jobs(ctx: typer.Context, status: Annotated[str | None, typer.Option()] = None,
         limit: Annotated[int, typer.Option(min=1, max=200)] = 20, as_json: JsonFlag = False) -> None:
    """Recent jobs, newest first."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        page = quarry.list_jobs(status=status, limit=limit)
    rows = [job.raw for job in page.jobs]
    emit_rows(cli, rows, ["job_id", "operation", "status", "file_name", "created_at"], title="jobs")


@app.command()
def job(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """One job, with its result when finished."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.get_job(job_id))


@app.command()
def cancel(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """Cancel a queued or running job."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.cancel_job(job_id))


@app.command()
def balance(ctx: typer.Context, tenant: Annotated[str | None, typer.Option()] = None,
            as_json: JsonFlag = False) -> None:
    """Credits balance (this key's tenant, or --tenant with an admin key)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.balance(tenant))


@app.command()
def usage(ctx: typer.Context, tenant: Annotated[str | None, typer.Option()] = None,
          start: Annotated[str | None, typer.Option("--from")] = None,
          end: Annotated[str | None, typer.Option("--to")] = None,
          group_by: Annotated[str, typer.Option(help="day|operation|mode")] = "day",
          as_json: JsonFlag = False) -> None:
    """Credits used, grouped by day, operation or mode."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        report = quarry.usage(tenant, start=start, end=end, group_by=group_by)
    if cli.json:
        emit(cli, report)
        return
    emit_rows(cli, [*report.rows, {group_by: "total", **report.totals}],
              [group_by, "jobs", "pages", "credits"], title="usage")


@app.command()
def train(ctx: typer.Context, directory: Path,
          labels: Annotated[Path, typer.Option(help='{"file.pdf": {expected values}, …}')],
          schema: SchemaOpt = None, name: Annotated[str | None, typer.Option()] = None,
          mode: ModeOpt = None, wait: Annotated[bool, typer.Option("--wait/--no-wait")] = True,
          as_json: JsonFlag = False) -> None:
    """Train a pipeline on labelled examples; prints the training job (and its artifact)."""
    cli = state(ctx, as_json)
    expected = json.loads(labels.read_text(encoding="utf-8"))
    parsed = read_schema(schema)
    if parsed is None:
        raise typer.BadParameter("--schema is required")
    with cli.client() as quarry:
        examples = []
        for rel_path, values in sorted(expected.items()):
            uploaded = quarry.upload(load_file(directory / rel_path))
            examples.append({"file_uri": uploaded.file_uri, "expected": values})
        key = derived_idempotency_key("quarry-train", sorted(expected.items()), parsed, name, mode,
                                      [example["file_uri"] for example in examples])
        training = quarry.create_training_job(parsed, examples, name=name, mode=mode,
                                              idempotency_key=key)
        if wait:
            training = quarry.wait_training_job(training.training_job_id)
    emit(cli, training)


def main() -> None:
    """Console entry point: typed API errors become one line on stderr and exit status 1."""
    try:
        app()
    except QuarryError as error:
        stderr.print(f"[red]error:[/red] {error}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
