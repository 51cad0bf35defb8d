"""Accept a JSON Schema or the shorthand map, and return a checked JSON Schema.

Shorthand: `{"invoiceNumber": "string", "total": "number", "issued": "date",
"tags": ["string"], "lines": [{"sku": "string", "qty": "integer"}],
"buyer": {"name": "string"}}`.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from shared.errors import InvalidSchema

_SHORTHAND_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "str": {"type": "string"},
    "text": {"type": "string"},
    "number": {"type": "number"},
    "float": {"type": "number"},
    "integer": {"type": "integer"},
    "int": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "date-time": {"type": "string", "format": "date-time"},
    "email": {"type": "string", "format": "email"},
}
_SCHEMA_KEYS = {"type", "properties", "$schema", "items", "allOf", "anyOf", "oneOf", "$ref"}
MAX_SCHEMA_BYTES = 100_000


def parse_schema(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """The request's schema (a JSON string or an object) as a checked JSON Schema."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidSchema("schema is required unless artifact_id is given.")
    if isinstance(raw, str):
        if len(raw) > MAX_SCHEMA_BYTES:
            raise InvalidSchema("schema is too large.")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidSchema(f"schema is not valid JSON: {exc.msg} at position {exc.pos}.") from exc
    if not isinstance(raw, dict) or not raw:
        raise InvalidSchema("schema must be a non-empty JSON object.")
    schema = raw if _SCHEMA_KEYS & raw.keys() else _from_shorthand(raw, "")
    _check(schema)
    return schema


def _from_shorthand(spec: Any, path: str) -> dict[str, Any]:
    if isinstance(spec, str):
        found = _SHORTHAND_TYPES.get(spec.strip().lower())
        if found is None:
            allowed = ", ".join(sorted(_SHORTHAND_TYPES))
            raise InvalidSchema(f"Unknown type {spec!r} at {path or 'schema'}; use one of: {allowed}.")
        return dict(found)
    if isinstance(spec, list):
        if len(spec) != 1:
            raise InvalidSchema(f"Array shorthand at {path} must hold exactly one item type.")
        return {"type": "array", "items": _from_shorthand(spec[0], path + "[]")}
    if isinstance(spec, dict):
        if not spec:
            raise InvalidSchema(f"Object at {path or 'schema'} has no fields.")
        properties = {
            str(name): _from_shorthand(value, f"{path}.{name}" if path else str(name))
            for name, value in spec.items()
        }
        return {"type": "object", "properties": properties}
    raise InvalidSchema(f"Unsupported shorthand value at {path or 'schema'}.")


def _check(schema: dict[str, Any]) -> None:
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(map(str, exc.path)) or "(root)"
        raise InvalidSchema(f"schema is not a valid JSON Schema at {where}: {exc.message}") from exc
    if schema.get("type", "object") != "object" or not isinstance(schema.get("properties"), dict):
        raise InvalidSchema('schema must describe an object: {"type": "object", "properties": {…}}.')
    if "$ref" in json.dumps(schema) and "$defs" not in schema and "definitions" not in schema:
        raise InvalidSchema("schema uses $ref without local $defs; remote references are not supported.")
