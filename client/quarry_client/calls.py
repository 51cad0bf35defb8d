"""Each API operation as a `Call`: what to send and how to read the answer.

Both clients (sync and async) execute these same objects, so request building and
response parsing live in one place and only the I/O differs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from quarry_client import models
from quarry_client.files import LoadedFile
from quarry_client.options import JobOptions, ModelConfig, Operation
from quarry_client.routes import ROUTES, Route

T = TypeVar("T")
Parser = Callable[[httpx.Response], T]


@dataclass(frozen=True)
class Call(Generic[T]):
    route: Route
    parse: Parser[T]
    path_params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str | None]] | None = None
    query: dict[str, Any] | None = None
    idempotency_key: str | None = None
    read_timeout: float | None = None
    """Overrides the client's read timeout (calls that hold for `wait` seconds)."""

    @property
    def replayable(self) -> bool:
        """Safe to send twice: not a POST, or a POST under an Idempotency-Key."""
        return self.route.method != "POST" or self.idempotency_key is not None

    def headers(self) -> dict[str, str]:
        return {"Idempotency-Key": self.idempotency_key} if self.idempotency_key else {}


def new_idempotency_key() -> str:
    return f"qk_{uuid.uuid4().hex}"


def _object(cls: type[models.ApiObject]) -> Parser[Any]:
    return lambda response: cls.from_json(response.json())


def _page_of(cls: type[models.ApiObject], key: str = "items") -> Parser[Any]:
    """A list answer as an `ItemPage` (the envelope, or a bare list from an older server)."""
    def parse(response: httpx.Response) -> models.ItemPage[Any]:
        body = response.json()
        if not isinstance(body, dict):
            return models.ItemPage(data=[cls.from_json(item) for item in body or []])
        return models.ItemPage(raw=body, data=[cls.from_json(item) for item in models.page_items(body, key)],
                               has_more=models.page_has_more(body), next_cursor=body.get("next_cursor"))

    return parse


def _no_body(response: httpx.Response) -> None:
    return None


def _call(name: str, parse: Parser[T], *, body: Mapping[str, Any] | None = None,
          query: Mapping[str, Any] | None = None, **path_params: str) -> Call[T]:
    route = ROUTES[name]
    return Call(route=route, parse=parse, path_params=path_params,
                json=route.checked_body(body) if body is not None else None,
                query=route.checked_query(query) if query is not None else None,
                idempotency_key=new_idempotency_key() if route.creates_job else None)


# -- identity, keys, operator -------------------------------------------------------------

def me() -> Call[models.Me]:
    return _call("me", _object(models.Me))


def list_api_keys(cursor: str | None = None) -> Call[models.ItemPage[models.ApiKey]]:
    return _call("list_api_keys", _page_of(models.ApiKey, "keys"), query={"cursor": cursor})


def create_api_key(name: str = "", is_admin: bool = False) -> Call[models.IssuedKey]:
    return _call("create_api_key", _object(models.IssuedKey), body={"name": name, "is_admin": is_admin})


def revoke_api_key(key_id: str) -> Call[models.ApiKey]:
    return _call("revoke_api_key", _object(models.ApiKey), key_id=key_id)


def admin_create_tenant(name: str, credits: int = 0) -> Call[models.Tenant]:
    return _call("admin_create_tenant", _object(models.Tenant), body={"name": name, "credits": credits})


def admin_issue_key(tenant_id: str, name: str = "", is_admin: bool = False) -> Call[models.IssuedKey]:
    return _call("admin_issue_key", _object(models.IssuedKey), tenant_id=tenant_id,
                 body={"name": name, "is_admin": is_admin})


def admin_revoke_key(key_id: str) -> Call[models.ApiKey]:
    return _call("admin_revoke_key", _object(models.ApiKey), key_id=key_id)


def admin_top_up(tenant_id: str, amount: int, reason: str = "") -> Call[models.CreditBalance]:
    return _call("admin_top_up", _object(models.CreditBalance), tenant_id=tenant_id,
                 body={"amount": amount, "reason": reason})


def admin_set_rate_limits(tenant_id: str, *, heavy: Mapping[str, float] | None = None,
                          general: Mapping[str, float] | None = None) -> Call[models.RateLimits]:
    return _call("admin_set_rate_limits", _object(models.RateLimits), tenant_id=tenant_id,
                 body={"heavy": dict(heavy) if heavy else None,
                       "general": dict(general) if general else None})


def admin_set_plan(tenant_id: str, plan: str) -> Call[models.TenantPlan]:
    return _call("admin_set_plan", _object(models.TenantPlan), tenant_id=tenant_id,
                 body={"plan": plan})


# -- uploads and jobs ---------------------------------------------------------------------

def presign_upload(file_name: str, content_type: str | None = None,
                   size: int | None = None) -> Call[models.PresignedUpload]:
    return _call("presign_upload", _object(models.PresignedUpload),
                 body={"file_name": file_name, "content_type": content_type, "size": size})


def submit_multipart(file: LoadedFile, options: JobOptions, *, wait: float,
                     idempotency_key: str | None = None) -> Call[models.Job]:
    """`POST /v1/extract` or `/v1/to-markdown` with the file in the form."""
    route = ROUTES["extract" if options.operation == "inference.extract" else "to_markdown"]
    fields = route.checked_body(options.form_fields(wait))
    return Call(route=route, parse=_object(models.Job), form=fields,
                files={"file": (file.name, file.data, file.content_type)},
                idempotency_key=idempotency_key or new_idempotency_key(), read_timeout=wait + 30)


def submit_canonical(file_uri: str | None, options: JobOptions, *, file_name: str | None = None,
                     wait: float, idempotency_key: str | None = None,
                     file_url: str | None = None) -> Call[models.Job]:
    """`POST /v1/canonical` on an uploaded `file_uri`, or a `file_url` the server fetches."""
    route = ROUTES["canonical"]
    body = route.checked_body(options.canonical_body(file_uri, file_name, wait, file_url=file_url))
    return Call(route=route, parse=_object(models.Job), json=body,
                idempotency_key=idempotency_key or new_idempotency_key(), read_timeout=wait + 30)


def ocr_to_markdown(tenant_id: str, file_uri: str, *, file_name: str | None = None,
                    mode: str | None = None, ocr: ModelConfig | None = None,
                    webhook_url: str | None = None, wait: float = 60,
                    metadata: dict[str, Any] | None = None,
                    idempotency_key: str | None = None,
                    page_range: str | None = None) -> Call[models.Job]:
    body = {"tenant_id": tenant_id, "file_uri": file_uri, "file_name": file_name, "mode": mode,
            "ocr": ocr.as_dict() if ocr else None, "webhook_url": webhook_url, "wait": wait,
            "metadata": metadata, "page_range": page_range}
    call = _call("ocr_to_markdown", _object(models.Job), body=body)
    return Call(route=call.route, parse=call.parse, json=call.json, read_timeout=wait + 30,
                idempotency_key=idempotency_key or call.idempotency_key)


def get_job(job_id: str) -> Call[models.Job]:
    return _call("get_job", _object(models.Job), job_id=job_id)


def list_jobs(status: str | None = None, limit: int | None = None,
              cursor: str | None = None) -> Call[models.JobPage]:
    return _call("list_jobs", _object(models.JobPage),
                 query={"status": status, "limit": limit, "cursor": cursor})


def cancel_job(job_id: str) -> Call[models.Job]:
    return _call("cancel_job", _object(models.Job), job_id=job_id)


def page_image(job_id: str, number: int) -> Call[models.PageImage]:
    return _call("page_image", _page_image, job_id=job_id, number=str(number))


def _page_image(response: httpx.Response) -> models.PageImage:
    return models.PageImage(png=response.content, width=float(response.headers["x-page-width"]),
                            height=float(response.headers["x-page-height"]))


# -- batches ------------------------------------------------------------------------------

def create_batch(operation: Operation, items: list[dict[str, Any]], *,
                 defaults: dict[str, Any] | None = None, webhook_url: str | None = None,
                 idempotency_key: str | None = None) -> Call[models.BatchCreated]:
    body = {"operation": operation, "items": items, "defaults": defaults, "webhook_url": webhook_url}
    call = _call("create_batch", _object(models.BatchCreated), body=body)
    if idempotency_key:
        call = Call(route=call.route, parse=call.parse, json=call.json, idempotency_key=idempotency_key)
    return call


def list_batches(limit: int | None = None, cursor: str | None = None) -> Call[models.BatchPage]:
    return _call("list_batches", _object(models.BatchPage), query={"limit": limit, "cursor": cursor})


def get_batch(batch_id: str) -> Call[models.Batch]:
    return _call("get_batch", _object(models.Batch), batch_id=batch_id)


def batch_results(batch_id: str) -> Call[None]:
    """Streamed: the clients read it line by line (`parse` is never called)."""
    return _call("batch_results", _no_body, batch_id=batch_id)


def cancel_batch(batch_id: str) -> Call[models.Batch]:
    return _call("cancel_batch", _object(models.Batch), batch_id=batch_id)


# -- webhooks -----------------------------------------------------------------------------

def get_webhook_secret() -> Call[models.WebhookSecret]:
    return _call("get_webhook_secret", _object(models.WebhookSecret))


def rotate_webhook_secret() -> Call[models.WebhookSecret]:
    return _call("rotate_webhook_secret", _object(models.WebhookSecret))


def list_deliveries(job_id: str, cursor: str | None = None) -> Call[models.ItemPage[models.Delivery]]:
    return _call("list_deliveries", _page_of(models.Delivery, "deliveries"), job_id=job_id,
                 query={"cursor": cursor})


def redeliver(job_id: str, delivery_id: str) -> Call[models.Delivery]:
    return _call("redeliver", _object(models.Delivery), job_id=job_id, delivery_id=delivery_id)


# -- billing ------------------------------------------------------------------------------

def balance(tenant_id: str) -> Call[models.Balance]:
    return _call("balance", _object(models.Balance), tenant_id=tenant_id)


def usage(tenant_id: str, *, start: str | None = None, end: str | None = None,
          group_by: str | None = None) -> Call[models.Usage]:
    return _call("usage", _object(models.Usage), tenant_id=tenant_id,
                 query={"from": start, "to": end, "group_by": group_by})


# -- trained pipelines --------------------------------------------------------------------

def create_training_job(schema: dict[str, Any] | str, examples: list[dict[str, Any]], *,
                        name: str | None = None, mode: str | None = None,
                        idempotency_key: str | None = None) -> Call[models.TrainingJob]:
    body = {"schema": schema, "examples": examples, "name": name, "mode": mode}
    call = _call("create_training_job", _object(models.TrainingJob), body=body)
    if idempotency_key:
        call = Call(route=call.route, parse=call.parse, json=call.json, idempotency_key=idempotency_key)
    return call


def get_training_job(training_job_id: str) -> Call[models.TrainingJob]:
    return _call("get_training_job", _object(models.TrainingJob), training_job_id=training_job_id)


def list_artifacts(include_retired: bool | None = None,
                   cursor: str | None = None) -> Call[models.ItemPage[models.Artifact]]:
    return _call("list_artifacts", _page_of(models.Artifact, "artifacts"),
                 query={"include_retired": include_retired, "cursor": cursor})


def get_artifact(artifact_id: str) -> Call[models.Artifact]:
    return _call("get_artifact", _object(models.Artifact), artifact_id=artifact_id)


def delete_artifact(artifact_id: str) -> Call[models.Artifact]:
    """Retires the artifact (it stays readable; extraction with it answers 404)."""
    return _call("delete_artifact", _object(models.Artifact), artifact_id=artifact_id)
