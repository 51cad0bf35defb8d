"""JSON sent by tenants (schemas, metadata), bounded in bytes and nesting before anything
recursive (the parser, the encoder, a validator) touches it: a value nested thousands deep
would otherwise exhaust the stack."""

from __future__ import annotations

import json
from typing import Any


class JsonTooLarge(ValueError):
    """More bytes than allowed, as sent or once serialized."""


class JsonTooDeep(ValueError):
    """Objects and arrays nested deeper than allowed."""


class JsonInvalid(ValueError):
    """Not JSON; the message says where the parser stopped."""


def load_bounded(raw: Any, *, max_bytes: int, max_depth: int) -> Any:
    """`raw` (JSON text, or a value already parsed) as a value within both bounds."""
    if isinstance(raw, str):
        if len(raw.encode()) > max_bytes:
            raise JsonTooLarge(f"larger than {max_bytes:,} bytes")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise JsonInvalid(f"{exc.msg} at position {exc.pos}") from exc
        except RecursionError as exc:
            raise JsonTooDeep(f"nests deeper than {max_depth} levels") from exc
    if nests_deeper(raw, max_depth):
        raise JsonTooDeep(f"nests deeper than {max_depth} levels")
    if len(json.dumps(raw, separators=(",", ":"))) > max_bytes:
        raise JsonTooLarge(f"larger than {max_bytes:,} bytes once serialized")
    return raw


def nests_deeper(value: Any, limit: int) -> bool:
    """Whether objects and arrays in `value` nest deeper than `limit` (found without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
