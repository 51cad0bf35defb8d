"""Every HTTP route the client calls, in one table.

The OpenAPI parity test compares this table with the server's `/openapi.json`:
method, path template, body fields and query parameters must agree. Request
bodies are only ever built through `Route.body` / `Route.params`, so the client
cannot send a field that is not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PAGE_FIELDS = ("page_range", "ocr_lang", "table_format")
_CANONICAL_FIELDS = (
    "operation", "file_uri", "file_url", "file_name", "schema", "mode", "conversion_mode", "allow_partial",
    "artifact_id", "llm", "ocr", "webhook_url", "wait", "metadata", *_PAGE_FIELDS,
)
_LLM_FORM = tuple(f"llm_{name}" for name in (
    "provider_model", "api_key", "api_base", "max_tokens", "temperature", "num_retries", "fallback"))
_OCR_FORM = tuple(f"ocr_{name}" for name in (
    "provider_model", "api_key", "api_base", "max_tokens", "temperature", "num_retries", "fallback"))
_EXTRACT_FORM = ("file", "schema", "mode", "artifact_id", "allow_partial", *_LLM_FORM, *_OCR_FORM,
                 "webhook_url", "wait", "metadata", *_PAGE_FIELDS)
_MARKDOWN_FORM = ("file", "conversion_mode", *_OCR_FORM, "webhook_url", "wait", "metadata",
                  *_PAGE_FIELDS)


@dataclass(frozen=True)
class Route:
    """One server route: how to call it and which fields it takes."""

    method: str
    path: str
    body: tuple[str, ...] = ()
    """JSON body or multipart form field names (top level)."""
    query: tuple[str, ...] = ()
    creates_job: bool = False
    """Job-creating calls always carry an `Idempotency-Key`."""
    multipart: bool = False

    def url(self, **path_params: str) -> str:
        return self.path.format(**path_params)

    def checked_body(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Drop `None`s and refuse any field the route does not declare."""
        return _checked(self, self.body, values)

    def checked_query(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return _checked(self, self.query, values)


def _checked(route: Route, allowed: tuple[str, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"{route.method} {route.path} takes no field(s) {sorted(unknown)}")
    return {name: value for name, value in values.items() if value is not None}


ROUTES: dict[str, Route] = {
    # identity and keys
    "me": Route("GET", "/v1/me"),
    "list_api_keys": Route("GET", "/v1/api-keys", query=("limit", "cursor")),
    "create_api_key": Route("POST", "/v1/api-keys", body=("name", "is_admin")),
    "revoke_api_key": Route("DELETE", "/v1/api-keys/{key_id}"),
    # operator
    "admin_create_tenant": Route("POST", "/v1/admin/tenants", body=("name", "credits")),
    "admin_issue_key": Route("POST", "/v1/admin/tenants/{tenant_id}/api-keys",
                             body=("name", "is_admin")),
    "admin_revoke_key": Route("DELETE", "/v1/admin/api-keys/{key_id}"),
    "admin_top_up": Route("POST", "/v1/admin/tenants/{tenant_id}/credits", body=("amount", "reason")),
    "admin_set_rate_limits": Route("PUT", "/v1/admin/tenants/{tenant_id}/rate-limits",
                                   body=("heavy", "general")),
    "admin_set_plan": Route("PUT", "/v1/admin/tenants/{tenant_id}/plan", body=("plan",)),
    # files and jobs
    "presign_upload": Route("POST", "/v1/uploads/presign", body=("file_name", "content_type", "size")),
    "extract": Route("POST", "/v1/extract", body=_EXTRACT_FORM, creates_job=True, multipart=True),
    "to_markdown": Route("POST", "/v1/to-markdown", body=_MARKDOWN_FORM, creates_job=True,
                         multipart=True),
    "canonical": Route("POST", "/v1/canonical", body=_CANONICAL_FIELDS, creates_job=True),
    "ocr_to_markdown": Route("POST", "/v1/ocr/to-markdown", creates_job=True, body=(
        "tenant_id", "file_uri", "file_name", "mode", "ocr", "webhook_url", "wait", "metadata",
        "page_range")),
    "get_job": Route("GET", "/v1/jobs/{job_id}"),
    "list_jobs": Route("GET", "/v1/jobs", query=("status", "limit", "cursor")),
    "cancel_job": Route("POST", "/v1/jobs/{job_id}/cancel"),
    "page_image": Route("GET", "/v1/jobs/{job_id}/pages/{number}.png"),
    # batches
    "create_batch": Route("POST", "/v1/batches", body=("operation", "defaults", "items", "webhook_url"),
                          creates_job=True),
    "list_batches": Route("GET", "/v1/batches", query=("limit", "cursor")),
    "get_batch": Route("GET", "/v1/batches/{batch_id}"),
    "batch_results": Route("GET", "/v1/batches/{batch_id}/results"),
    "cancel_batch": Route("POST", "/v1/batches/{batch_id}/cancel"),
    # webhooks
    "get_webhook_secret": Route("GET", "/v1/webhooks/secret"),
    "rotate_webhook_secret": Route("POST", "/v1/webhooks/secret/rotate"),
    "list_deliveries": Route("GET", "/v1/jobs/{job_id}/deliveries", query=("limit", "cursor")),
    "redeliver": Route("POST", "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver"),
    # billing
    "balance": Route("GET", "/v1/billing/balance/{tenant_id}"),
    "usage": Route("GET", "/v1/billing/usage/{tenant_id}", query=("from", "to", "group_by")),
    # trained pipelines
    "create_training_job": Route("POST", "/v1/training-jobs", body=("name", "schema", "mode", "examples"),
                                 creates_job=True),
    "get_training_job": Route("GET", "/v1/training-jobs/{training_job_id}"),
    "list_artifacts": Route("GET", "/v1/artifacts", query=("include_retired", "limit", "cursor")),
    "get_artifact": Route("GET", "/v1/artifacts/{artifact_id}"),
    "delete_artifact": Route("DELETE", "/v1/artifacts/{artifact_id}"),
}
