"""The OpenAPI document as generic tools need it: readable operation ids, the API key as a
security scheme, the 400 the API really answers (never FastAPI's 422), seed examples."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.artifacts.schemas import TrainingRequest

TAGS = [
    {"name": "extraction", "description": "Extract JSON and convert to markdown."},
    {"name": "jobs", "description": "Read, list and cancel jobs."},
    {"name": "batches", "description": "Many files in one call, on the bulk queue."},
    {"name": "uploads", "description": "Presigned uploads for the JSON-bodied routes."},
    {"name": "training", "description": "Trained pipelines (artifacts) from labeled examples."},
    {"name": "webhooks", "description": "Webhook secrets and a job's deliveries."},
    {"name": "billing", "description": "Balance and usage."},
    {"name": "tenants", "description": "The caller and its API keys."},
    {"name": "admin", "description": "Operator routes (admin keys only)."},
    {"name": "health", "description": "Liveness and readiness."},
]
SEED_SCHEMA = ('{"type":"object","properties":{"invoice_number":{"type":"string"},'
               '"total":{"type":"number"}}}')
# The requests both seeds document, as examples a tool (or a fuzzer's explicit phase) can send.
EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "extract": {
        "json-schema": {"summary": "A JSON Schema", "value": {"schema": SEED_SCHEMA}},
        "shorthand": {"summary": "The shorthand map",
                      "value": {"schema": '{"invoiceNumber": "string", "totalDue": "number"}'}},
        "artifact": {"summary": "A trained pipeline", "value": {"artifact_id": "art_abc123"}},
        "byok": {"summary": "BYOK extraction model", "value": {
            "schema": '{"type":"object","properties":{"total":{"type":"number"}}}',
            "llm_provider_model": "openai/gpt-4o-mini", "llm_api_key": "sk-your-openai-key"}},
    },
    "toMarkdown": {
        "plain": {"summary": "Defaults", "value": {}},
        "byok": {"summary": "BYOK OCR model", "value": {
            "ocr_provider_model": "gemini/gemini-2.0-flash", "ocr_api_key": "your-gemini-key"}},
    },
    "ocrToMarkdown": {
        "seed": {"summary": "An uploaded file to markdown", "value": {
            "tenant_id": "your-tenant-id", "file_uri": "s3://bucket/key",
            "file_name": "document.pdf", "mode": "default",
            "ocr": {"provider_model": "openai/gpt-4o-mini", "api_key": "sk-your-key"}}},
    },
    "canonical": {
        "extract": {"summary": "Extract from an uploaded file", "value": {
            "operation": "inference.extract", "file_uri": "s3://bucket/key",
            "schema": {"type": "object", "properties": {"total": {"type": "number"}}}}},
    },
}


# Routes that read their body themselves (JSON or multipart): the JSON shape they accept.
RAW_JSON_BODIES: dict[str, type[BaseModel]] = {"createTrainingJob": TrainingRequest}
REF = "#/components/schemas/{model}"


def operation_id(route: APIRoute) -> str:
    """`get_job` -> `getJob`: the route function's name, in camelCase."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes,
                                   tags=TAGS)
            app.openapi_schema = _fit_for_tools(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _fit_for_tools(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _declare_raw_body(operation, schemas)
            # Validation errors are answered 400 (`invalid_request`), documented per route;
            # a 422 a route declares itself (`schema_validation_failed`) is a real answer.
            responses = operation.get("responses", {})
            if "HTTPValidationError" in str(responses.get("422", "")):
                del responses["422"]
            _add_examples(operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _add_examples(operation: dict[str, Any]) -> None:
    examples = EXAMPLES.get(operation.get("operationId", ""))
    if not examples:
        return
    for media in operation.get("requestBody", {}).get("content", {}).values():
        media["examples"] = examples


def _declare_raw_body(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    model = RAW_JSON_BODIES.get(operation.get("operationId", ""))
    if model is None:
        return
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    operation["requestBody"] = {"required": True, "content": {
        "application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}}
