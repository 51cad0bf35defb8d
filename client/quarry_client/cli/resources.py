"""`quarry jobs|batches|artifacts|training|webhooks|uploads …`: one subcommand per API resource.

Each group lists when called bare (`quarry jobs --status failed`) and has get/cancel/…
subcommands; lists follow the server's cursors, so `--limit` is the only bound.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from quarry_client.cli.output import batch_progress, emit, emit_rows, state, stderr, wait_with_progress
from quarry_client.cli.params import (
    ExtractModeOpt,
    JobStatus,
    JsonFlag,
    ProgressOpt,
    SchemaOpt,
    TimeoutOpt,
    enum_value,
    read_schema,
)
from quarry_client.files import derived_idempotency_key, load_file
from quarry_client.flow import PollSchedule

LimitOpt = Annotated[int, typer.Option(min=1, help="Show at most N.")]
JOB_COLUMNS = ["job_id", "operation", "status", "file_name", "created_at"]

# -- jobs ----------------------------------------------------------------------------------

jobs_app = typer.Typer(help="Jobs: list (bare), get, wait, cancel, deliveries.",
                       invoke_without_command=True)


@jobs_app.callback()
def jobs_list(ctx: typer.Context, status: Annotated[JobStatus | None, typer.Option()] = None,
              limit: LimitOpt = 20, as_json: JsonFlag = False) -> None:
    """Recent jobs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        rows = [job.raw for job in itertools.islice(
            quarry.iter_jobs(status=enum_value(status), page_size=min(limit, 200)), limit)]
    emit_rows(cli, rows, JOB_COLUMNS, title="jobs")


@jobs_app.command("get")
def job_get(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """One job, with its result when finished."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.get_job(job_id))


@jobs_app.command("wait")
def job_wait(ctx: typer.Context, job_id: str, timeout: TimeoutOpt = None, progress: ProgressOpt = True,
             as_json: JsonFlag = False) -> None:
    """Wait for a job to finish (with progress), then show it."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        job = wait_with_progress(quarry, quarry.get_job(job_id), timeout=timeout, enabled=progress,
                                 label=job_id)
    emit(cli, job)


@jobs_app.command("cancel")
def job_cancel(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """Cancel a queued or running job (pages already done are charged)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.cancel_job(job_id))


@jobs_app.command("deliveries")
def job_deliveries(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """The job's webhook deliveries and their attempts."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        rows = [d.raw for d in quarry.list_deliveries(job_id)]
    emit_rows(cli, rows, ["delivery_id", "event", "status", "attempts", "last_status_code"],
              title="deliveries")


# -- batches -------------------------------------------------------------------------------

batches_app = typer.Typer(help="Server batches: list (bare), get, wait, results, cancel.",
                          invoke_without_command=True)
BATCH_COLUMNS = ["batch_id", "operation", "status", "total", "finished", "created_at"]


@batches_app.callback()
def batches_list(ctx: typer.Context, limit: LimitOpt = 20, as_json: JsonFlag = False) -> None:
    """Recent batches, newest first, with their counts."""
    if ctx.invoked_subcommand is not None:
        return
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        rows = [b.raw for b in itertools.islice(quarry.iter_batches(page_size=min(limit, 200)), limit)]
    emit_rows(cli, rows, BATCH_COLUMNS, title="batches")


@batches_app.command("get")
def batch_get(ctx: typer.Context, batch_id: str, as_json: JsonFlag = False) -> None:
    """A batch's counts per status, progress and ETA."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.get_batch(batch_id))


@batches_app.command("wait")
def batch_wait(ctx: typer.Context, batch_id: str, progress: ProgressOpt = True,
               as_json: JsonFlag = False) -> None:
    """Wait until every item has finished, with a progress bar."""
    import time

    cli = state(ctx, as_json)
    schedule = PollSchedule(interval=0.5, maximum=5.0)
    with cli.client() as quarry, batch_progress(progress) as bar:
        batch = quarry.get_batch(batch_id)
        task = bar.add_task(batch_id, total=batch.total, failed=0, detail="")
        while batch.completed_at is None and batch.finished < batch.total:
            time.sleep(schedule.next())
            batch = quarry.get_batch(batch_id)
            bar.update(task, completed=batch.finished, failed=batch.counts.get("failed", 0),
                       detail=f"{batch.counts.get('running', 0)} running")
        bar.update(task, completed=batch.finished)
    emit(cli, batch)


@batches_app.command("results")
def batch_results(ctx: typer.Context, batch_id: str,
                  out: Annotated[Path | None, typer.Option("--out", "-o", help="JSON Lines file.")] = None,
                  ) -> None:
    """The finished items as JSON Lines (stdout or --out), streamed as they are read."""
    cli = state(ctx)
    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        with cli.client() as quarry:
            for job in quarry.batch_results(batch_id):
                handle.write(json.dumps(job.raw, ensure_ascii=False) + "\n")
    finally:
        if out:
            handle.close()


@batches_app.command("cancel")
def batch_cancel(ctx: typer.Context, batch_id: str, as_json: JsonFlag = False) -> None:
    """Cancel every item not yet finished (their credit holds go back)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.cancel_batch(batch_id))


# -- artifacts and training ----------------------------------------------------------------

artifacts_app = typer.Typer(help="Trained pipelines: list (bare), get, retire.",
                            invoke_without_command=True)


@artifacts_app.callback()
def artifacts_list(ctx: typer.Context, include_retired: Annotated[bool, typer.Option(
        "--include-retired")] = False, as_json: JsonFlag = False) -> None:
    """The tenant's artifacts."""
    if ctx.invoked_subcommand is not None:
        return
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        rows = [a.raw for a in quarry.list_artifacts(include_retired=include_retired or None)]
    emit_rows(cli, rows, ["artifact_id", "name", "version", "status", "mode", "accuracy"],
              title="artifacts")


@artifacts_app.command("get")
def artifact_get(ctx: typer.Context, artifact_id: str, as_json: JsonFlag = False) -> None:
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.get_artifact(artifact_id))


@artifacts_app.command("retire")
def artifact_retire(ctx: typer.Context, artifact_id: str, as_json: JsonFlag = False) -> None:
    """Retire an artifact (it stays readable; extraction with it answers 404)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.delete_artifact(artifact_id))


training_app = typer.Typer(help="Training jobs: start, get, wait.", no_args_is_help=True)


@training_app.command("start")
def training_start(ctx: typer.Context, directory: Path,
                   labels: Annotated[Path, typer.Option(help='{"file.pdf": {expected values}, …}')],
                   schema: SchemaOpt = None, name: Annotated[str | None, typer.Option()] = None,
                   mode: ExtractModeOpt = None,
                   wait: Annotated[bool, typer.Option("--wait/--no-wait")] = True,
                   progress: ProgressOpt = True, as_json: JsonFlag = False) -> None:
    """Train a pipeline on labelled examples; prints the training job (and its artifact)."""
    cli = state(ctx, as_json)
    expected = json.loads(labels.read_text(encoding="utf-8"))
    parsed = read_schema(schema)
    if parsed is None:
        raise typer.BadParameter("--schema is required", param_hint="--schema")
    with cli.client() as quarry:
        examples = []
        for rel_path, values in sorted(expected.items()):
            uploaded = quarry.upload(load_file(directory / rel_path))
            examples.append({"file_uri": uploaded.file_uri, "expected": values})
        key = derived_idempotency_key("quarry-train", sorted(expected.items()), parsed, name,
                                      enum_value(mode), [example["file_uri"] for example in examples])
        training = quarry.create_training_job(parsed, examples, name=name, mode=enum_value(mode),
                                              idempotency_key=key)
        if wait:
            training = _wait_training(quarry, training.training_job_id, progress)
    emit(cli, training)


@training_app.command("get")
def training_get(ctx: typer.Context, training_job_id: str, as_json: JsonFlag = False) -> None:
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.get_training_job(training_job_id))


@training_app.command("wait")
def training_wait(ctx: typer.Context, training_job_id: str, progress: ProgressOpt = True,
                  as_json: JsonFlag = False) -> None:
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, _wait_training(quarry, training_job_id, progress))


def _wait_training(quarry: Any, training_job_id: str, progress: bool) -> Any:
    with stderr.status(f"training {training_job_id}", spinner="dots") if progress else _nothing():
        return quarry.wait_training_job(training_job_id)


class _nothing:  # noqa: N801 - a stand-in context manager
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


# -- webhooks and uploads ------------------------------------------------------------------

webhooks_app = typer.Typer(help="Webhook signing secret and deliveries.", no_args_is_help=True)


@webhooks_app.command("secret")
def webhook_secret(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The current signing secret (and the previous one during a rotation)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.get_webhook_secret())


@webhooks_app.command("rotate")
def webhook_rotate(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Rotate the signing secret (the old one keeps signing for a grace period)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.rotate_webhook_secret())


@webhooks_app.command("deliveries")
def webhook_deliveries(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """A job's webhook deliveries."""
    job_deliveries(ctx, job_id, as_json)


@webhooks_app.command("redeliver")
def webhook_redeliver(ctx: typer.Context, job_id: str, delivery_id: str, as_json: JsonFlag = False) -> None:
    """Send a delivery again."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.redeliver(job_id, delivery_id))


def upload(ctx: typer.Context, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
           as_json: JsonFlag = False) -> None:
    """Upload a file (presign + PUT); prints its `file_uri` for batches, training or canonical jobs."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        uploaded = quarry.upload(file)
    if cli.json:
        emit(cli, uploaded)
    else:
        sys.stdout.write(uploaded.file_uri + "\n")
