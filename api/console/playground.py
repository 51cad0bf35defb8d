"""The console's playground (see docs/console.md): try a schema on a file, see each value
with its confidence and its box on the page, or convert the file to markdown.

A run is the API's own call: `api.routers.extract.extract` or `.to_markdown`, as the
signed-in key. The edge treats `POST /console/playground` as it treats `POST /v1/extract`
(`api/console/upload_guard.py`): the upload size cap, the key's heavy rate-limit token and
the tenant's heavy in-flight and sync-wait places, and the credits are held and charged the
same way. A job still running when the wait ends is polled by the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response as FastApiResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.console.page_views import job_evidence
from api.console.render import ConsoleRoute, page
from api.console.render_markdown import render_markdown
from api.console.routes import CsrfField, SignedIn, SignedInDep, checked_form
from api.console.upload_guard import AdmittedDep
from api.deps import ResourceId, SessionDep
from api.routers import artifacts, extract, jobs
from shared.contract.jobs import JobOut
from shared.errors import BadRequest, QuarryError
from shared.jobs.page_images import job_page_image
from shared.jobs.schemas import ModelConfig
from shared.settings import get_settings

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

MODES = ("fast", "standard", "robust")
WAIT_S = 30.0
"""How long a run holds the form's request before the page polls instead."""
POLL_MS = 1000
SCHEMA_EXAMPLE = '{"invoice_number": "string", "total": "number"}'
MAX_SCHEMA_CHARS = 200_000
Operation = Literal["extract", "markdown"]


@dataclass(frozen=True)
class Values:
    """What the form held, to show it again with the result or the error."""

    schema: str = ""
    mode: str = "standard"
    artifact_id: str = ""
    operation: Operation = "extract"
    file_name: str = "document.pdf"


def upload_form(user: AdmittedDep, csrf_token: CsrfField = "") -> SignedIn:
    return checked_form(user, csrf_token)


UploadUserDep = Annotated[SignedIn, Depends(upload_form)]


@router.get("/playground")
def playground_page(request: Request, user: SignedInDep, db: SessionDep,
                    artifact: Annotated[str, Query(max_length=64)] = "") -> Response:
    """`?artifact=<id>` preselects an artifact (the training pages link it so)."""
    values = Values(schema="" if artifact else SCHEMA_EXAMPLE, artifact_id=artifact)
    return _page(request, user, db, values)


@router.post("/playground")
async def run(
    request: Request, user: UploadUserDep, db: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
    schema_text: Annotated[str, Form(alias="schema", max_length=MAX_SCHEMA_CHARS)] = "",
    mode: Annotated[str, Form(max_length=20)] = "standard",
    artifact_id: Annotated[str, Form(max_length=64)] = "",
    operation: Annotated[Operation, Form()] = "extract",
) -> Response:
    """Extract or convert as the signed-in key; a refusal (400, 402, 413, 429 …) is shown in
    the form with the API's message and status."""
    values = Values(schema=schema_text, mode=mode, artifact_id=artifact_id, operation=operation,
                    file_name=(file.filename if file and file.filename else "document.pdf"))
    try:
        job_id = await _submit(user, file, values)
    except QuarryError as exc:
        return await run_in_threadpool(_output, request, user, db, values, None, exc)
    job = await run_in_threadpool(jobs.get_job, job_id, user.caller, db)
    return await run_in_threadpool(_output, request, user, db, values, job, None)


@router.get("/playground/jobs/{job_id}")
def poll(request: Request, job_id: ResourceId, user: SignedInDep, db: SessionDep,
         operation: Operation = "extract") -> Response:
    """The result once the job is done (htmx polls this while it runs)."""
    job = jobs.get_job(job_id, user.caller, db)
    return _output(request, user, db, Values(operation=operation, file_name=job.file_name or ""),
                   job, None)


@router.get("/jobs/{job_id}/pages/{number}.png")
def page_image(job_id: ResourceId, number: int, user: SignedInDep) -> Response:
    """`GET /v1/jobs/{id}/pages/{n}.png` for the session's key (the cookie is the console's,
    so the picture is served under `/console`); the same tenant check."""
    found = job_page_image(tenant_id=user.caller.tenant_id, job_id=job_id, number=number)
    return FastApiResponse(found.image.png, media_type="image/png",
                           headers={"Cache-Control": "private, max-age=3600",
                                    "X-Content-Type-Options": "nosniff"})


async def _submit(user: SignedIn, file: UploadFile | None, values: Values) -> str:
    if file is None or not file.filename:
        raise BadRequest("Choose a document to run.")
    if values.operation == "markdown":
        answer = await extract.to_markdown(
            caller=user.caller, file=file, ocr=ModelConfig(),
            conversion_mode="fast" if values.mode == "fast" else "default", wait=WAIT_S)
    else:
        answer = await extract.extract(
            caller=user.caller, file=file, llm=ModelConfig(), ocr=ModelConfig(),
            schema_text=values.schema.strip() or None, mode=values.mode or None,
            artifact_id=values.artifact_id or None, wait=WAIT_S)
    body: dict[str, Any] = json.loads(bytes(answer.body))
    return str(body["job_id"])


def _output(request: Request, user: SignedIn, db: SessionDep, values: Values,
            job: JobOut | None, error: QuarryError | None) -> Response:
    """The result region alone for htmx; the whole page (form and result) otherwise."""
    context = _result_context(user, values, job, error)
    status = error.status_code if error else 200
    if request.headers.get("hx-request") == "true":
        response = page(request, "playground_result.html", user.context(**context),
                        status_code=status)
    else:
        response = _page(request, user, db, values, status_code=status, **context)
    response.headers["Vary"] = "HX-Request"
    if error is not None and error.status_code in (429, 503):
        response.headers["Retry-After"] = str(max(1, int(getattr(error, "retry_after_s", 1))))
    return response


def _result_context(user: SignedIn, values: Values, job: JobOut | None,
                    error: QuarryError | None) -> dict[str, Any]:
    running = job is not None and job.status in ("queued", "running")
    failed = job.error if job is not None and job.status in ("failed", "canceled") else None
    return {
        "job": job, "error": error.detail if error else None, "error_status":
            error.status_code if error else None,
        "job_error": failed, "running": running, "poll_ms": POLL_MS,
        "operation": values.operation,
        "evidence": job_evidence(job, user.caller.tenant_id) if job and not running else None,
        "markdown_html": render_markdown(job.markdown) if job and job.markdown else None,
        "curl": _curl(values), "sdk": _sdk(values),
    }


def _page(request: Request, user: SignedIn, db: SessionDep, values: Values, *,
          status_code: int = 200, **result: Any) -> Response:
    found = artifacts.list_artifacts(user.caller, db, include_retired=False, limit=100, cursor=None)
    return page(request, "playground.html", user.context(
        nav="playground", values=values, modes=MODES, artifacts=found.data,
        schema_example=SCHEMA_EXAMPLE, max_mib=f"{user.caller.limits.max_upload_bytes / (1024 * 1024):g}",
        **({"curl": _curl(values), "sdk": _sdk(values)} | result)), status_code=status_code)


def _curl(values: Values) -> str:
    """The same request with `curl`; the key is left as `$QUARRY_API_KEY`."""
    route = "to-markdown" if values.operation == "markdown" else "extract"
    lines = [f"curl -sS {_base_url()}/v1/{route} \\", '  -H "X-API-KEY: $QUARRY_API_KEY" \\',
             f"  -F file=@{_shell_quote(values.file_name)}"]
    if values.operation == "markdown":
        lines.append(f"  -F conversion_mode={'fast' if values.mode == 'fast' else 'default'}")
    else:
        if values.schema.strip():
            lines.append(f"  -F schema={_shell_quote(_compact(values.schema))}")
        if values.artifact_id:
            lines.append(f"  -F artifact_id={_shell_quote(values.artifact_id)}")
        lines.append(f"  -F mode={_shell_quote(values.mode)}")
    return " \\\n".join(line.removesuffix(" \\") for line in lines)


def _sdk(values: Values) -> str:
    """The same request with the Python client (docs/client.md); it reads `QUARRY_API_KEY`."""
    call: list[str] = [repr(values.file_name)]
    if values.operation == "markdown":
        call.append(f"conversion_mode={'fast' if values.mode == 'fast' else 'default'!r}")
        method, show = "to_markdown", "print(result.markdown)"
    else:
        if values.schema.strip():
            call.append(repr(_compact(values.schema)))
        if values.artifact_id:
            call.append(f"artifact_id={values.artifact_id!r}")
        call.append(f"mode={values.mode!r}")
        method, show = "extract", "print(result.result, result.confidence)"
    return ("from quarry_client import Quarry\n\n"
            f"with Quarry(base_url={_base_url()!r}) as quarry:  # the key: $QUARRY_API_KEY\n"
            f"    result = quarry.{method}({', '.join(call)})\n    {show}\n")


def _compact(schema: str) -> str:
    try:
        return json.dumps(json.loads(schema), separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError):
        return schema.strip()


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _base_url() -> str:
    return get_settings().public_base_url.rstrip("/")
