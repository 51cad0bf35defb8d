"""The pipeline entry point a task calls: one job's bytes and options → its result."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema

from shared.errors import SchemaValidationFailed
from shared.jobs.states import Operation
from worker.pipeline.convert.pdf import convert_pdf
from worker.pipeline.document import Document
from worker.pipeline.extract.local import extract_fields
from worker.pipeline.markdown import render_markdown


@dataclass(frozen=True)
class JobInput:
    operation: str
    data: bytes
    file_name: str
    content_type: str | None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineResult:
    status: Literal["succeeded", "partial"]
    payload: dict[str, Any]
    pages: int


def run_pipeline(job: JobInput) -> PipelineResult:
    started = time.perf_counter()
    document = convert_pdf(job.data)
    if job.operation == Operation.TO_MARKDOWN:
        return _to_markdown(document, job, started)
    return _extract(document, job)


def _to_markdown(document: Document, job: JobInput, started: float) -> PipelineResult:
    meta = {
        "pages": len(document.pages), "ocr_pages": document.ocr_pages,
        "conversion_mode": job.options.get("conversion_mode", "default"),
        "engine": "pymupdf", "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    payload = {"markdown": render_markdown(document), "plain_text": document.plain_text,
               "meta": meta}
    return PipelineResult(status="succeeded", payload=payload, pages=len(document.pages))


def _extract(document: Document, job: JobInput) -> PipelineResult:
    schema: dict[str, Any] = job.options.get("schema") or {}
    evidence = extract_fields(document, schema)
    result = {name: item.value for name, item in evidence.items()}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(result), key=str)
    messages = [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors]
    if messages and not job.options.get("allow_partial"):
        raise SchemaValidationFailed(validation_errors=messages)
    fields = {
        name: {"confidence": item.confidence, "page": item.page, "bbox": list(item.bbox),
               "source": item.source}
        for name, item in evidence.items()
    }
    confidences = [item.confidence for item in evidence.values()]
    total = len(schema.get("properties") or {}) or 1
    payload = {
        "result": result, "validation_errors": messages or None,
        "confidence": round(100 * sum(confidences) / total),
        "fields": fields, "raw_text": document.plain_text,
        "mode": job.options.get("mode", "standard"), "engine": "local",
    }
    return PipelineResult(status="partial" if messages else "succeeded", payload=payload,
                          pages=len(document.pages))
