"""The console's training pages (see docs/console.md): the tenant's training jobs and
artifacts, a form that starts training from labelled examples (uploaded, or finished jobs
whose results are corrected), a training job's progress and report, and an artifact's report
with "Retire".

Starting training goes through the API's own steps (`api.routers.training`): the credit check
before the body is read, the same form parsing, the same `create_training_job` validation,
hold and queueing; the body is capped at the edge like `POST /v1/training-jobs`
(`api/middleware.py`). Reading and retiring artifacts call `api.routers.artifacts`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from api.console.render import ConsoleRoute, page, redirect
from api.console.routes import PAGE_SIZE, FormUserDep, SignedIn, SignedInDep, checked_form
from api.console.upload_guard import AdmittedDep
from api.deps import PageCursor, ResourceId, SessionDep
from api.routers import artifacts, jobs
from api.routers.training import (
    get_training_job,
    require_training_credits,
    start_training,
    training_from_form,
)
from shared.artifacts import service
from shared.artifacts.schemas import training_job_view
from shared.artifacts.service import ExampleInput, TrainingInput
from shared.errors import BadRequest, InsufficientCredits, InvalidSchema, NotFound
from shared.jobs import service as job_service
from shared.jobs.models import Job
from shared.jobs.states import Operation
from shared.jobs.uploads import FILE_URI_PREFIX
from shared.settings import get_settings

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

UNFINISHED = ("queued", "running")
MODES = ("fast", "standard", "robust")
DEFAULT_ROWS = 4
SCHEMA_PLACEHOLDER = '{"invoice_number": "string", "total": "number"}'


# Lists and the form.

@router.get("/training")
def training_page(request: Request, user: SignedInDep, db: SessionDep,
                  cursor: PageCursor = None,
                  rows: int = Query(default=0, ge=0, le=100)) -> Response:
    return _training_page(request, user, db, cursor=cursor, rows=rows)


def _training_page(request: Request, user: SignedIn, db: SessionDep, *, cursor: str | None = None,
                   rows: int = 0, error: str | None = None, values: dict[str, Any] | None = None,
                   status_code: int = 200) -> Response:
    settings = get_settings()
    found = artifacts.list_artifacts(user.caller, db, include_retired=True, limit=PAGE_SIZE,
                                     cursor=None)
    jobs = service.list_training_jobs(db, tenant_id=user.caller.tenant_id, limit=PAGE_SIZE,
                                      cursor=cursor)
    rows = min(max(rows or DEFAULT_ROWS, settings.training_min_examples),
               settings.training_max_examples)
    return page(request, "training.html", user.context(
        nav="training", artifacts=found.data, jobs=[training_job_view(job) for job in jobs.rows],
        next_cursor=jobs.next_cursor, rows=rows, min_examples=settings.training_min_examples,
        max_examples=settings.training_max_examples, modes=MODES, error=error,
        values=values or {"mode": "standard", "expected": []},
        schema_placeholder=SCHEMA_PLACEHOLDER), status_code=status_code)


@router.post("/training")
async def create_training(request: Request, user: AdmittedDep, db: SessionDep) -> Response:
    """The same order as the API: no credits → refused before the body is read; then the
    form (CSRF first), then `create_training_job`'s checks. A refusal shows the form again
    with what was typed and the reason (the files must be chosen again)."""
    await run_in_threadpool(require_training_credits, user.caller.tenant_id)
    form = await request.form()
    await run_in_threadpool(checked_form, user, _text(form.get("csrf_token")) or "")
    typed = [_text(raw) for raw in form.getlist("expected")]
    values = {"name": _text(form.get("name")), "schema": _text(form.get("schema")),
              "mode": _text(form.get("mode")) or "standard", "expected": typed}
    try:
        api_form, labels = _examples(form)
        training = await training_from_form(api_form, labels)
        view = await run_in_threadpool(start_training, user.caller.tenant_id, training)
    except (BadRequest, InvalidSchema, InsufficientCredits, NotFound) as exc:
        refused = exc
    else:
        return redirect(f"/console/training/jobs/{view['training_job_id']}")
    return await run_in_threadpool(
        lambda: _training_page(request, user, db, rows=len(typed),
                               error=refused.detail, values=values,
                               status_code=refused.status_code))


def _examples(form: FormData) -> tuple[FormData, list[Any]]:
    """The form's example rows (a file and its expected JSON each) as the API's multipart
    form: rows left blank are skipped; a row with only one half still counts, so the API's
    count check names the mismatch."""
    files, labels = form.getlist("files"), form.getlist("expected")
    kept: list[tuple[str, str | UploadFile]] = []
    parsed: list[Any] = []
    for index in range(max(len(files), len(labels))):
        upload = files[index] if index < len(files) else None
        raw = labels[index] if index < len(labels) else ""
        has_file = isinstance(upload, UploadFile) and bool(upload.filename)
        has_label = isinstance(raw, str) and bool(raw.strip())
        if has_file and isinstance(upload, UploadFile):
            kept.append(("files", upload))
        if has_label and isinstance(raw, str):
            parsed.append(_label(raw, index))
    fields = [(name, value) for name, value in form.multi_items()
              if name in ("name", "schema", "mode") and isinstance(value, str)]
    return FormData(fields + kept), parsed


def _label(raw: str, index: int) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Example {index + 1}: the expected JSON is not valid: {exc.msg}.",
                         code="invalid_label") from exc
    except RecursionError as exc:
        raise BadRequest(f"Example {index + 1}: the expected JSON nests too deeply.",
                         code="invalid_label") from exc


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# Training from finished jobs: pick them, correct their results, train.

JobId = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                         pattern=r"^[A-Za-z0-9_-]+$")]
JobIds = Annotated[list[JobId] | None, Query(max_length=100)]


@router.get("/training/from-jobs")
def from_jobs_page(request: Request, user: SignedInDep, db: SessionDep,
                   job: JobIds = None, cursor: PageCursor = None) -> Response:
    """Without `job`: the tenant's succeeded extract jobs to pick from. With them: their
    results in a form, to correct before training."""
    if not job:
        found = jobs.list_jobs(user.caller, db, status="succeeded", limit=PAGE_SIZE,
                               cursor=cursor)
        finished = [row for row in found.data if row.operation == Operation.EXTRACT]
        return page(request, "training_from_jobs.html", user.context(
            nav="training", picking=True, finished=finished, next_cursor=found.next_cursor,
            min_examples=get_settings().training_min_examples))
    picked = [_finished_job(db, user, job_id) for job_id in dict.fromkeys(job)]
    values = {"schema": json.dumps(picked[0].options.get("schema"), indent=2),
              "mode": picked[0].options.get("mode") or "standard", "name": "",
              "expected": [json.dumps(_extracted(row), indent=2, ensure_ascii=False)
                           for row in picked]}
    return _corrections_page(request, user, picked, values)


def _extracted(job: Job) -> dict[str, Any]:
    """The values a job extracted (its result's `result`), the label a user corrects; not the
    whole stored answer with its fields, route and text."""
    values = (job.result or {}).get("result")
    return values if isinstance(values, dict) else {}


@router.post("/training/from-jobs")
def train_from_jobs(request: Request, user: FormUserDep, db: SessionDep,
                    job: Annotated[list[JobId], Form(max_length=100)],
                    expected: Annotated[list[str], Form(max_length=100)],
                    name: Annotated[str, Form(max_length=200)] = "",
                    schema_text: Annotated[str, Form(alias="schema", max_length=200_000)] = "",
                    mode: Annotated[str, Form(max_length=20)] = "standard") -> Response:
    """As `POST /v1/training-jobs` with JSON `examples: [{file_uri, expected}]`: each picked
    job's own upload is the example's file, the corrected JSON its label."""
    require_training_credits(user.caller.tenant_id)
    values = {"name": name, "schema": schema_text, "mode": mode, "expected": expected}
    picked: list[Job] = []
    try:
        picked = [_finished_job(db, user, job_id) for job_id in job]
        if len(expected) != len(picked):
            raise BadRequest("Send one corrected result per picked job.",
                             code="example_count_mismatch")
        examples = [ExampleInput(expected=_label(raw, index), file_name=row.file_name or row.id,
                                 file_uri=f"{FILE_URI_PREFIX}{row.upload_id}")
                    for index, (row, raw) in enumerate(zip(picked, expected, strict=True))]
        view = start_training(user.caller.tenant_id, TrainingInput(
            schema=schema_text, examples=examples, name=name, mode=mode))
    except (BadRequest, InvalidSchema, InsufficientCredits, NotFound) as exc:
        return _corrections_page(request, user, picked, values, error=exc.detail,
                                 status_code=exc.status_code)
    return redirect(f"/console/training/jobs/{view['training_job_id']}")


def _finished_job(db: SessionDep, user: SignedIn, job_id: str) -> Job:
    """The tenant's own job (404 otherwise, as `GET /v1/jobs/{id}`), with a result to correct."""
    row = job_service.get_job(db, tenant_id=user.caller.tenant_id, job_id=job_id)
    if row.operation != Operation.EXTRACT or row.status != "succeeded" or not isinstance(row.result, dict):
        raise BadRequest(f"Job {job_id} is not a succeeded extraction with a result to correct.")
    return row


def _corrections_page(request: Request, user: SignedIn, picked: list[Job],
                      values: dict[str, Any], *, error: str | None = None,
                      status_code: int = 200) -> Response:
    return page(request, "training_from_jobs.html", user.context(
        nav="training", picking=False, picked=picked, values=values, modes=MODES, error=error,
        min_examples=get_settings().training_min_examples), status_code=status_code)


# A training job.

@router.get("/training/jobs/{training_job_id}")
def training_job_page(request: Request, training_job_id: ResourceId, user: SignedInDep,
                      db: SessionDep) -> Response:
    job = get_training_job(training_job_id, user.caller, db)
    return page(request, "training_job.html", user.context(nav="training", job=job,
                                                           unfinished=UNFINISHED))


@router.get("/training/jobs/{training_job_id}/status")
def training_job_status(request: Request, training_job_id: ResourceId, user: SignedInDep,
                        db: SessionDep) -> Response:
    """The progress region alone, for htmx to poll; it stops polling once the job is done."""
    job = get_training_job(training_job_id, user.caller, db)
    return page(request, "training_status.html", user.context(job=job, unfinished=UNFINISHED))


# Artifacts.

@router.get("/artifacts/{artifact_id}")
def artifact_page(request: Request, artifact_id: ResourceId, user: SignedInDep,
                  db: SessionDep) -> Response:
    artifact = artifacts.get_artifact(artifact_id, user.caller, db)
    return page(request, "training_artifact.html", user.context(nav="training",
                                                                artifact=artifact))


@router.post("/artifacts/{artifact_id}/retire")
def retire_artifact(artifact_id: ResourceId, user: FormUserDep, db: SessionDep) -> Response:
    """`DELETE /v1/artifacts/{id}`: it stays readable; extraction with it answers 404."""
    artifacts.retire_artifact(artifact_id, user.caller, db)
    return redirect(f"/console/artifacts/{artifact_id}")
