"""`quarry`: the command line for Quarry. Key and URL: flags, env vars, or the config file."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID

from quarry_client import __version__
from quarry_client.async_client import AsyncQuarry
from quarry_client.cli import resources
from quarry_client.cli.admin import admin_app
from quarry_client.cli.batch import BatchConfig, BatchRunner, BatchSummary, discover
from quarry_client.cli.bulk import BulkEvents, BulkRunner
from quarry_client.cli.documents import extract, markdown
from quarry_client.cli.output import CliState, batch_progress, emit, emit_rows, state, stderr, stdout
from quarry_client.cli.params import JsonFlag, SchemaOpt, UsageGroup, read_json_object, read_schema
from quarry_client.cli.results_file import ResultsFile
from quarry_client.config import resolve_connection
from quarry_client.errors import QuarryError
from quarry_client.options import EXTRACT, TO_MARKDOWN, JobOptions
from quarry_client.retry import RetryPolicy

app = typer.Typer(help="Quarry: documents in, schema-valid JSON and markdown out.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(admin_app, name="admin")
app.add_typer(resources.jobs_app, name="jobs")
app.add_typer(resources.batches_app, name="batches")
app.add_typer(resources.artifacts_app, name="artifacts")
app.add_typer(resources.training_app, name="training")
app.add_typer(resources.webhooks_app, name="webhooks")
app.command()(extract)
app.command()(markdown)
app.command()(resources.upload)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"quarry-client {__version__}\n")
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    api_key: Annotated[str | None, typer.Option("--api-key", help="Default: $QUARRY_API_KEY.")] = None,
    url: Annotated[str | None, typer.Option("--base-url", "--url",
                                            help="Default: $QUARRY_BASE_URL (or $QUARRY_URL).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Default: $QUARRY_CONFIG or "
                                                "~/.config/quarry/config.toml.")] = None,
    as_json: JsonFlag = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = CliState(api_key=api_key, url=url, config=config, json=as_json)


@app.command()
def me(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Who this key is: tenant, key id, admin flag, balance."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.me())


class BatchMode(StrEnum):
    fast = "fast"
    standard = "standard"
    robust = "robust"
    default = "default"


@app.command()
def batch(
    ctx: typer.Context, directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    out: Annotated[Path, typer.Option(help="JSON Lines output; re-running resumes it")] = Path(
        "results.jsonl"),
    schema: SchemaOpt = None,
    mode: Annotated[BatchMode | None, typer.Option(
        help="extract: fast|standard|robust; markdown: default|fast")] = None,
    artifact_id: Annotated[str | None, typer.Option()] = None,
    allow_partial: Annotated[bool, typer.Option("--allow-partial")] = False,
    webhook_url: Annotated[str | None, typer.Option(help="Per-item job events go here.")] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object added to every job.")] = None,
    glob: Annotated[str, typer.Option("--glob", help="file name pattern")] = "*",
    recursive: Annotated[bool, typer.Option("--recursive/--no-recursive")] = True,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="parallel uploads (or calls "
                                                                  "with --interactive)")] = 8,
    interactive: Annotated[bool, typer.Option(
        "--interactive", help="One interactive job per file instead of a server batch "
                              "(lower latency, no bulk scheduling).")] = False,
    wait: Annotated[float, typer.Option(help="--interactive: seconds the server holds each call")] = 30,
    retry_failed: Annotated[bool, typer.Option("--retry-failed")] = False,
    max_retries: Annotated[int, typer.Option(help="per call, on 408/409/429/5xx/network errors")] = 50,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Process every file under DIRECTORY: extract with --schema/--artifact-id, else markdown.

    Files are uploaded in parallel and submitted as server batches (`/v1/batches`, the bulk
    queue); each item's line is written to --out as soon as its job finishes. Re-running the
    same command resumes: nothing is uploaded, processed or charged twice.
    """
    cli = state(ctx, as_json)
    parsed = read_schema(schema)
    operation = EXTRACT if parsed is not None or artifact_id else TO_MARKDOWN
    chosen = mode.value if mode else None
    allowed = ("fast", "standard", "robust") if operation == EXTRACT else ("default", "fast")
    if chosen is not None and chosen not in allowed:
        raise typer.BadParameter(f"{chosen!r} is not a mode for this operation: {', '.join(allowed)}",
                                 param_hint="--mode")
    options = JobOptions(operation, schema=parsed, artifact_id=artifact_id,
                         mode=chosen if operation == EXTRACT else None,
                         conversion_mode=chosen if operation == TO_MARKDOWN else None,
                         allow_partial=allow_partial, webhook_url=webhook_url,
                         metadata=read_json_object(metadata, "--metadata"))
    config = BatchConfig(root=directory, out=out, options=options, pattern=glob, recursive=recursive,
                         concurrency=concurrency, wait=wait, retry_failed=retry_failed)
    retry = RetryPolicy(max_retries=max_retries, backoff_max=30)
    results = ResultsFile(out)
    summary = BatchSummary()
    try:
        summary = asyncio.run(_run_batch(cli, config, results, retry, progress, summary, interactive))
    except KeyboardInterrupt:
        stderr.print(f"interrupted: {summary.processed} file(s) written to {out}; "
                     "run the same command again to resume")
        raise typer.Exit(130) from None
    finally:
        results.close()
    _report(cli, summary, out)


async def _run_batch(cli: CliState, config: BatchConfig, results: ResultsFile, retry: RetryPolicy,
                     show_progress: bool, summary: BatchSummary, interactive: bool) -> BatchSummary:
    connection = resolve_connection(cli.api_key, cli.url, cli.config)
    limits = max(20, config.concurrency * 2)
    async with AsyncQuarry(connection.api_key, connection.url, retry=retry,
                           max_connections=limits) as client:
        with batch_progress(show_progress) as bar:
            if interactive:
                runner = BatchRunner(client, config, results)
                runner.summary = summary  # the caller keeps counting through an interrupt
                todo = runner.pending(discover(config))
                task = bar.add_task("batch", total=len(todo), failed=0, detail="")
                return await runner.run(
                    todo, lambda _, ok: bar.update(task, advance=1, failed=summary.failed))
            bulk = BulkRunner(client, config, results, _bulk_events(bar, summary))
            bulk.summary = summary
            return await bulk.run(bulk.pending(discover(config)))


def _bulk_events(bar: Progress, summary: BatchSummary) -> BulkEvents:
    """Two bars: uploads, then items as their results are written (with the server's counts)."""
    tasks: dict[str, TaskID] = {}

    def uploading(total: int) -> None:
        tasks["upload"] = bar.add_task("upload", total=total, failed=0, detail="")

    def following(total: int) -> None:
        tasks["items"] = bar.add_task("items", total=total, failed=0, detail="")

    def counts(by_status: dict[str, int]) -> None:
        if "items" in tasks:
            bar.update(tasks["items"], detail=f"{by_status.get('queued', 0)} queued, "
                                              f"{by_status.get('running', 0)} running")

    return BulkEvents(
        uploading=uploading, uploaded=lambda: bar.update(tasks["upload"], advance=1),
        following=following, counts=counts,
        written=lambda _, ok: bar.update(tasks["items"], advance=1, failed=summary.failed))


def _report(cli: CliState, summary: BatchSummary, out: Path) -> None:
    body: dict[str, object] = {"total": summary.total, "skipped": summary.skipped,
                               "succeeded": summary.succeeded, "failed": summary.failed, "out": str(out)}
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


@app.command(hidden=True)
def job(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """One job (same as `quarry jobs get`)."""
    resources.job_get(ctx, job_id, as_json)


@app.command(hidden=True)
def cancel(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """Cancel a job (same as `quarry jobs cancel`)."""
    resources.job_cancel(ctx, job_id, as_json)


app.command("train", help="Train a pipeline (same as `quarry training start`).")(
    resources.training_start)


@app.command()
def balance(ctx: typer.Context, tenant: Annotated[str | None, typer.Option()] = None,
            as_json: JsonFlag = False) -> None:
    """Credits balance (this key's tenant, or --tenant with an admin key)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.balance(tenant))


@app.command()
def usage(ctx: typer.Context, tenant: Annotated[str | None, typer.Option()] = None,
          start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
          end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
          group_by: Annotated[UsageGroup, typer.Option()] = UsageGroup.day,
          as_json: JsonFlag = False) -> None:
    """Credits used, grouped by day, operation or mode."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        report = quarry.usage(tenant, start=start, end=end, group_by=group_by.value)
    if cli.json:
        emit(cli, report)
        return
    emit_rows(cli, [*report.rows, {group_by.value: "total", **report.totals}],
              [group_by.value, "jobs", "pages", "credits"], title="usage")


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


@app.command()
def mcp(
    ctx: typer.Context,
    transport: Annotated[Transport, typer.Option(help="stdio (for a local agent) or streamable "
                                                      "HTTP")] = Transport.stdio,
    host: Annotated[str, typer.Option(help="http: address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: port", min=1, max=65535)] = 8765,
    path: Annotated[str, typer.Option(help="http: endpoint path")] = "/mcp",
    allow_dir: Annotated[list[Path] | None, typer.Option(
        "--allow-dir", metavar="DIR",
        help="Directory whose files the file_path argument may name (repeatable). Over http none "
             "by default: clients send file_base64. Over stdio any path the user can read, "
             "unless given.")] = None,
    max_file_bytes: Annotated[int, typer.Option(
        help="Largest document a tool call may send or name", min=1)] = 50 * 1024 * 1024,
) -> None:
    """Run an MCP server exposing extract, to-markdown, job status and usage as tools.

    Configured like the CLI (--api-key/--base-url, QUARRY_API_KEY/QUARRY_BASE_URL, config file);
    needs the `mcp` extra: pip install "quarry-client[mcp]".
    """
    try:
        from quarry_client.mcp_documents import DocumentPolicy, base64_length
        from quarry_client.mcp_server import build_server
    except ImportError as error:
        stderr.print(f"[red]error:[/red] quarry mcp needs the 'mcp' extra: "
                     f"pip install \"quarry-client[mcp]\" ({error})", highlight=False)
        raise typer.Exit(1) from None
    cli = state(ctx)
    connection = resolve_connection(cli.api_key, cli.url, cli.config)
    # Over HTTP anyone who reaches the port calls the tools: no local file is readable
    # unless the operator named its directory.
    if allow_dir is None and transport == Transport.stdio:
        documents = DocumentPolicy(max_bytes=max_file_bytes)
    else:
        try:
            documents = DocumentPolicy.confined_to(allow_dir or [], max_file_bytes)
        except OSError as error:
            stderr.print(f"[red]error:[/red] --allow-dir: {error}", highlight=False)
            raise typer.Exit(2) from None
    server = build_server(connection.api_key, connection.url, documents)
    if transport == Transport.stdio:
        server.run("stdio")
    else:
        # Room for the largest document as base64 plus the call's other arguments.
        body_limit = base64_length(max_file_bytes) + 1024 * 1024
        server.run("streamable-http", host=host, port=port, streamable_http_path=path,
                   max_request_body_size=body_limit)


def main() -> None:
    """Console entry point: typed API errors become one line on stderr and exit status 1."""
    try:
        app()
    except QuarryError as error:
        stderr.print(f"[red]error:[/red] {error}", highlight=False)
        if error.status_code == 401 and error.server:
            # The usual cause is a key meant for another server: say which one answered.
            stderr.print(f"(server {error.server}; set QUARRY_BASE_URL / --base-url and "
                         "QUARRY_API_KEY / --api-key)", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
