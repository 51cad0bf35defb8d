"""Job metadata: a small JSON object the caller attaches to a job and gets back with it."""

from __future__ import annotations

from typing import Any

from shared.bounded_json import JsonInvalid, load_bounded
from shared.errors import BadRequest
from shared.settings import get_settings


def parse_metadata(raw: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """The request's metadata (JSON text or an object), bounded in size and nesting; None if absent.

    The bounds come before anything recursive touches the value: a document nested thousands
    deep would otherwise exhaust the stack in the JSON parser or encoder.
    """
    if raw is None or raw == "":
        return None
    settings = get_settings()
    try:
        value = load_bounded(raw, max_bytes=settings.max_metadata_bytes,
                             max_depth=settings.max_metadata_depth)
    except JsonInvalid as exc:
        raise BadRequest("metadata must be a JSON object.") from exc
    except ValueError as exc:  # too large or too deep
        raise BadRequest(f"metadata is {exc}.") from exc
    if not isinstance(value, dict):
        raise BadRequest("metadata must be a JSON object.")
    return value
