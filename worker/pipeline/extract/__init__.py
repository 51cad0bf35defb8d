"""Extraction engines: document + JSON Schema → values with evidence.

`extract_document` is the single entry the pipeline calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonschema

from shared.errors import SchemaValidationFailed
from worker.pipeline.document import Document
from worker.pipeline.extract.local import extract_fields


@dataclass(frozen=True)
class ExtractionOutcome:
    """The API's extract payload (`result`, `fields`, `confidence`, …) and whether it is partial."""

    payload: dict[str, Any]
    partial: bool = False
    notes: list[str] = field(default_factory=list)


def extract_document(
    document: Document, options: dict[str, Any], alternate: Document | None = None
) -> ExtractionOutcome:
    """Extract per `options["schema"]`; `alternate` (robust mode) is the all-OCR reading to cross-check."""
    schema: dict[str, Any] = options.get("schema") or {}
    evidence = extract_fields(document, schema)
    result = {name: item.value for name, item in evidence.items()}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(result), key=str)
    messages = [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors]
    if messages and not options.get("allow_partial"):
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
        "mode": options.get("mode", "standard"), "engine": "local",
    }
    return ExtractionOutcome(payload=payload, partial=bool(messages))
