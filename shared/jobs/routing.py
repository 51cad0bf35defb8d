"""Which queue a single job goes to, decided at submission from what the API already knows."""

from __future__ import annotations

from typing import Any

from shared.files.kinds import IMAGE_KINDS
from shared.jobs.states import INTERACTIVE_QUEUE, OCR_QUEUE, Operation


def queue_for(operation: str, kind: str, options: dict[str, Any]) -> str:
    """OCR-heavy work (every image; extraction in robust mode) goes to its own queue."""
    ocr_everything = operation == Operation.EXTRACT and options.get("mode") == "robust"
    ocr_skipped = operation == Operation.TO_MARKDOWN and options.get("conversion_mode") == "fast"
    if ocr_everything or (kind in IMAGE_KINDS and not ocr_skipped):
        return OCR_QUEUE
    return INTERACTIVE_QUEUE
