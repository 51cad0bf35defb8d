"""Split a long document into page ranges that fit a model's context, and merge their results."""

from __future__ import annotations

import json
from typing import Any

from worker.pipeline.document import Document, Page
from worker.pipeline.extract.grounding import ground
from worker.pipeline.extract.values import schema_type

_CHARS_PER_TOKEN = 4  # a conservative average for Latin-script text


def page_text(page: Page) -> str:
    return f"--- page {page.number} ---\n{page.text}"


def chunk_pages(document: Document, max_tokens: int) -> list[list[Page]]:
    """Consecutive page ranges whose text stays under `max_tokens` (a long page stands alone)."""
    budget = max(max_tokens, 256) * _CHARS_PER_TOKEN
    chunks: list[list[Page]] = []
    size = 0
    for page in document.pages:
        length = len(page_text(page))
        if chunks and size + length <= budget:
            chunks[-1].append(page)
            size += length
        else:
            chunks.append([page])
            size = length
    return chunks or [[]]


def chunk_text(pages: list[Page], max_tokens: int) -> str:
    text = "\n\n".join(page_text(page) for page in pages)
    limit = max(max_tokens, 256) * _CHARS_PER_TOKEN
    # A single page over the budget is cut rather than sent to fail at the provider.
    return text if len(text) <= limit else text[:limit] + "\n[… page text truncated …]"


def merge_results(parts: list[tuple[dict[str, Any], Document]], schema: dict[str, Any]) -> dict[str, Any]:
    """One result from per-chunk results: arrays concatenated and de-duplicated, objects merged
    field by field, scalars taken from the chunk where the value is best grounded."""
    merged: dict[str, Any] = {}
    for name, spec in (schema.get("properties") or {}).items():
        values = [(part.get(name), doc) for part, doc in parts if part.get(name) is not None]
        if values:
            merged[name] = _merge_values(values, spec if isinstance(spec, dict) else {})
    return merged


def _merge_values(values: list[tuple[Any, Document]], spec: dict[str, Any]) -> Any:
    kind = schema_type(spec)
    if kind == "array" and all(isinstance(v, list) for v, _ in values):
        seen: set[str] = set()
        out = []
        for value, _ in values:
            for item in value:
                key = json.dumps(item, sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    out.append(item)
        return out
    if kind == "object" and all(isinstance(v, dict) for v, _ in values):
        return merge_results([(v, d) for v, d in values], spec)
    return max(values, key=lambda pair: ground(pair[1], pair[0]).confidence)[0]
