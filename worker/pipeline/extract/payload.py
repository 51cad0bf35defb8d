"""The extract payload the API returns: result, validation, confidence, provenance."""

from __future__ import annotations

from typing import Any

from worker.pipeline.document import Document
from worker.pipeline.extract.evidence import Evidence

# A result that fails its schema is less trustworthy than its fields alone suggest.
_INVALID_FACTOR = 0.7


def overall_confidence(evidence: Evidence, schema: dict[str, Any], valid: bool) -> int:
    """0–100: mean field confidence over the schema's top-level fields (missing ones count 0)."""
    names = list((schema.get("properties") or {}).keys()) or list(evidence)
    if not names:
        return 0
    mean = sum(evidence[n].confidence if n in evidence else 0.0 for n in names) / len(names)
    return round(100 * mean * (1.0 if valid else _INVALID_FACTOR))


def build_payload(*, document: Document, schema: dict[str, Any], result: dict[str, Any],
                  evidence: Evidence, errors: list[str], mode: str, engine: str,
                  disputes: list[dict[str, Any]] | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "result": result,
        "validation_errors": errors or None,
        "confidence": overall_confidence(evidence, schema, not errors),
        "fields": {name: item.view() for name, item in evidence.items() if name in result},
        "raw_text": document.plain_text,
        "mode": mode,
        "engine": engine,
    }
    if disputes is not None:
        payload["cross_check"] = disputes
    return payload
