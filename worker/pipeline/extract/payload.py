"""The extract payload the API returns: result, validation, confidence, provenance."""

from __future__ import annotations

from typing import Any

from worker.pipeline.document import Document
from worker.pipeline.extract.evidence import Evidence
from worker.pipeline.extract.routing import Route

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
    pages = {page.number: page for page in document.pages}
    payload: dict[str, Any] = {
        "result": result,
        "validation_errors": errors or None,
        "confidence": overall_confidence(evidence, schema, not errors),
        "fields": {name: item.view(pages.get(item.page) if item.page else None)
                   for name, item in evidence.items() if name in result},
        "raw_text": document.plain_text,
        "mode": mode,
        "engine": engine,
    }
    if disputes is not None:
        payload["cross_check"] = disputes
    return payload


def routing_fields(route: Route, *, escalation: str | None, local_fallback: str | None,
                   models: list[str], missing_pages: list[int]) -> dict[str, Any]:
    """`route`, `model`/`models` (when a model answered) and `missing` (pages a rate limit
    left unextracted), as `shared.contract.jobs.JobOut` types them (docs/routing.md)."""
    fields: dict[str, Any] = {"route": {
        "name": route.name, "reason": route.reason, "escalated": escalation is not None,
        "escalation_reason": escalation, "local_fallback": local_fallback}}
    if models:
        fields.update(model=models[0], models=models)
    if missing_pages:
        pages = ", ".join(map(str, missing_pages))
        fields["missing"] = {
            "pages": missing_pages, "reason": "rate_limited",
            "detail": f"Pages {pages} were not extracted: the model provider kept "
                      "rate-limiting them past the job's time budget."}
    return fields
