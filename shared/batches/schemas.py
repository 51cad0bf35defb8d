"""Batch request shapes and how a batch is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from shared.clock import isoformat, utcnow
from shared.contract.base import RequestBody
from shared.jobs.options import TableFormat
from shared.jobs.schemas import ModelConfig, Text, Url
from shared.jobs.states import Operation

MAX_ITEMS = 10_000
OPTION_FIELDS = ("schema_", "mode", "conversion_mode", "allow_partial", "artifact_id", "llm",
                 "ocr", "page_range", "ocr_lang", "table_format", "webhook_url")


class BatchOptions(RequestBody):
    """Options every item inherits (`defaults`) or overrides (on the item)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: str | dict[str, Any] | None = Field(default=None, alias="schema")
    mode: Text | None = None
    conversion_mode: Text | None = None
    allow_partial: bool | None = None
    artifact_id: Text | None = None
    llm: ModelConfig | None = None
    ocr: ModelConfig | None = None
    page_range: Text | None = None
    """1-based pages to process (`"1-3,7"`), checked by `build_options` like a single job's."""
    ocr_lang: Text | None = None
    table_format: TableFormat | None = None
    webhook_url: Url | None = None
    """Per-item `job.*` events; the batch's own `webhook_url` gets `batch.completed`."""


class BatchItemRequest(BatchOptions):
    file_uri: Text
    metadata: dict[str, Any] | None = None


class BatchRequest(RequestBody):

    operation: Operation
    defaults: BatchOptions = Field(default_factory=BatchOptions)
    items: list[BatchItemRequest] = Field(min_length=1, max_length=MAX_ITEMS)
    webhook_url: Url | None = None


def merged_options(defaults: BatchOptions, item: BatchItemRequest) -> dict[str, Any]:
    """The item's options: its own where it set them, the defaults elsewhere."""
    return {name: getattr(item if name in item.model_fields_set else defaults, name)
            for name in OPTION_FIELDS}


def batch_view(batch: Any, counts: dict[str, int]) -> dict[str, Any]:
    """`GET /v1/batches/{id}`: counts per status, progress (0..1) and an ETA in seconds."""
    finished = sum(counts.get(name, 0) for name in ("succeeded", "partial", "failed", "canceled"))
    return {
        "batch_id": batch.id,
        "operation": batch.operation,
        "status": batch.status,
        "total": batch.total,
        "counts": {name: counts.get(name, 0) for name in
                   ("queued", "running", "succeeded", "partial", "failed", "canceled")},
        "finished": finished,
        "progress": round(finished / batch.total, 4) if batch.total else 1.0,
        "eta_s": _eta(batch.created_at, finished, batch.total, batch.completed_at),
        "created_at": isoformat(batch.created_at),
        "canceled_at": isoformat(batch.canceled_at),
        "completed_at": isoformat(batch.completed_at),
        "results_url": f"/v1/batches/{batch.id}/results",
    }


def _eta(created: datetime, finished: int, total: int, completed: datetime | None) -> float | None:
    """Remaining items at the rate seen so far; None until something has finished."""
    if completed is not None or finished >= total:
        return 0.0
    if finished == 0:
        return None
    elapsed = (utcnow() - created).total_seconds()
    return round(elapsed / finished * (total - finished), 1)
