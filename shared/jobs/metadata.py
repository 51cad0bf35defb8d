"""Job metadata: a small JSON object the caller attaches to a job and gets back with it."""

from __future__ import annotations

import json
from typing import Any

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
    size, depth = settings.max_metadata_bytes, settings.max_metadata_depth
    if isinstance(raw, str):
        if len(raw.encode()) > size:
            raise BadRequest(f"metadata is larger than {size:,} bytes.")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadRequest("metadata must be a JSON object.") from exc
        except RecursionError as exc:
            raise BadRequest(f"metadata nests deeper than {depth} levels.") from exc
    if not isinstance(raw, dict):
        raise BadRequest("metadata must be a JSON object.")
    if _nests_deeper(raw, depth):
        raise BadRequest(f"metadata nests deeper than {depth} levels.")
    if len(json.dumps(raw, separators=(",", ":"))) > size:
        raise BadRequest(f"metadata is larger than {size:,} bytes.")
    return raw


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether objects and arrays in `value` nest deeper than `limit` (found without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
