"""Training jobs: learn a trained pipeline (artifact) from labeled examples."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.deps import CallerDep, ResourceId, SessionDep
from api.responses import error_responses
from shared.artifacts import service
from shared.artifacts.schemas import TrainingRequest, training_job_view
from shared.artifacts.service import ExampleInput, TrainingInput
from shared.billing.service import require_credits
from shared.contract.resources import TrainingAccepted, TrainingJobOut
from shared.db.session import transaction
from shared.errors import BadRequest, InsufficientCredits, InvalidSchema, NotFound
from shared.jobs.schemas import ModelConfig, upload_names

router = APIRouter(prefix="/v1/training-jobs", tags=["training"])


@router.post("", status_code=202, response_model=TrainingAccepted,
             responses=error_responses(BadRequest, InvalidSchema, InsufficientCredits, NotFound))
async def create_training_job(request: Request, caller: CallerDep) -> JSONResponse:
    """JSON `{name?, schema, mode?, examples: [{file_uri, expected}], llm?}`, or multipart with
    `schema`, repeated `files`, `expected` (a JSON array in file order) and optional
    `llm_provider_model`/`llm_api_key`/`llm_api_base`. With a model (BYOK or the server's
    default) LLM variants are evaluated too. Billed as extraction of the examples' pages in
    the training mode: held here (402 when the balance cannot cover them; a zero balance is
    refused before the body is read), charged when the training job succeeds."""
    await run_in_threadpool(require_training_credits, caller.tenant_id)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        training = await training_from_form(form, _expected_list(form.get("expected")))
    else:
        training = await _from_json(request)
    view = await run_in_threadpool(start_training, caller.tenant_id, training)
    status_url = f"/v1/training-jobs/{view['training_job_id']}"
    body = TrainingAccepted(training_job_id=view["training_job_id"], status=view["status"],
                            status_url=status_url)
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": status_url})


def require_training_credits(tenant_id: str) -> None:
    """A zero balance is refused before the body is read (the console calls this too)."""
    with transaction() as session:
        require_credits(session, tenant_id, what="training")


def start_training(tenant_id: str, training: TrainingInput) -> dict[str, Any]:
    """Validate, hold the credits, keep the files and enqueue: the job's view."""
    with transaction() as session:
        return training_job_view(service.create_training_job(
            session, tenant_id=tenant_id, request=training))


@router.get("/{training_job_id}", response_model=TrainingJobOut,
            responses=error_responses(NotFound))
def get_training_job(training_job_id: ResourceId, caller: CallerDep,
                     session: SessionDep) -> TrainingJobOut:
    return TrainingJobOut.model_validate(training_job_view(service.get_training_job(
        session, tenant_id=caller.tenant_id, training_job_id=training_job_id)))


async def _from_json(request: Request) -> TrainingInput:
    try:
        body = TrainingRequest.model_validate(await request.json())
    except ValidationError as exc:
        unknown = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "extra_forbidden"]
        if unknown:
            raise BadRequest(f"Unknown field(s): {', '.join(unknown)}.",
                             code="invalid_request") from exc
        raise BadRequest("Send JSON {schema, examples: [{file_uri, expected}]} or a multipart "
                         "form with schema, files and expected.") from exc
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise BadRequest("Send JSON {schema, examples: [{file_uri, expected}]} or a multipart "
                         "form with schema, files and expected.") from exc
    examples = [ExampleInput(expected=ex.expected, file_uri=ex.file_uri,
                             file_name=ex.file_uri.rsplit("/", 1)[-1]) for ex in body.examples]
    return TrainingInput(schema=body.schema_, examples=examples, name=body.name, mode=body.mode,
                         llm=body.llm)


async def training_from_form(form: FormData, labels: list[Any]) -> TrainingInput:
    """The multipart form's fields and files, with the expected labels in file order (the API
    sends them as one JSON array, the console as one field per example)."""
    files = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    examples = []
    for upload, expected in zip(files, labels, strict=False):
        file_name, content_type = upload_names(upload.filename, upload.content_type)
        examples.append(ExampleInput(expected=expected, file_name=file_name,
                                     content_type=content_type, data=await upload.read()))
    try:
        return TrainingInput(schema=_text(form.get("schema")), examples=examples,
                             name=_text(form.get("name")), mode=_text(form.get("mode")),
                             counts_sent=(len(files), len(labels)),
                             llm=ModelConfig(provider_model=_text(form.get("llm_provider_model")),
                                             api_key=_text(form.get("llm_api_key")),
                                             api_base=_text(form.get("llm_api_base"))))
    except ValidationError as exc:
        raise BadRequest(f"Invalid training form: {exc.errors()[0]['msg']}.",
                         code="invalid_request") from exc


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _expected_list(raw: Any) -> list[Any]:
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("expected is required: a JSON array of expected outputs, in file order.",
                         code="invalid_label")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"expected is not valid JSON: {exc.msg}.", code="invalid_label") from exc
    except RecursionError as exc:
        raise BadRequest("expected nests too deeply.", code="invalid_label") from exc
    if not isinstance(value, list):
        raise BadRequest("expected must be a JSON array, one object per file.", code="invalid_label")
    return value
