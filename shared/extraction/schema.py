"""Accept a JSON Schema or the shorthand map, and return a checked JSON Schema.

Shorthand: `{"invoiceNumber": "string", "total": "number", "issued": "date",
"tags": ["string"], "lines": [{"sku": "string", "qty": "integer"}],
"buyer": {"name": "string"}, "status": ["paid", "unpaid"]}` — a list of two or more
strings is an enum. Inside a shorthand map, a value that is itself a JSON Schema fragment
(`{"type": "number", "description": "…"}`) is kept as written.
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
_ROOT_SCHEMA_KEYS = {"properties", "$schema", "allOf", "anyOf", "oneOf", "$ref", "$defs"}
_FRAGMENT_KEYS = {"type", "properties", "items", "enum", "const", "format", "anyOf", "oneOf",
                  "allOf", "$ref", "description"}
_JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
MAX_SCHEMA_BYTES = 100_000
MAX_SCHEMA_DEPTH = 12


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
    schema = raw if _is_json_schema(raw) else _from_shorthand(raw, "")
    _check(schema)
    return schema


def _is_json_schema(raw: dict[str, Any]) -> bool:
    # `{"type": "string", "amount": "number"}` is a shorthand map with a field named "type";
    # a JSON Schema for extraction always describes an object.
    return bool(_ROOT_SCHEMA_KEYS & raw.keys()) or raw.get("type") == "object"


def _is_fragment(spec: dict[str, Any]) -> bool:
    kind = spec.get("type")
    typed = isinstance(kind, str) and kind in _JSON_TYPES or isinstance(kind, list)
    return bool(spec) and set(spec) <= _FRAGMENT_KEYS | {"title", "default", "examples",
                                                         "required", "minimum", "maximum",
                                                         "pattern", "minItems", "maxItems",
                                                         "additionalProperties"} and (
        typed or "enum" in spec or "$ref" in spec or "anyOf" in spec or "oneOf" in spec)


def _from_shorthand(spec: Any, path: str) -> dict[str, Any]:
    if isinstance(spec, str):
        found = _SHORTHAND_TYPES.get(spec.strip().lower())
        if found is None:
            allowed = ", ".join(sorted(_SHORTHAND_TYPES))
            raise InvalidSchema(f"Unknown type {spec!r} at {path or 'schema'}; use one of: {allowed}.")
        return dict(found)
    if isinstance(spec, list):
        if len(spec) > 1 and all(isinstance(item, str) for item in spec):
            return {"type": "string", "enum": list(dict.fromkeys(spec))}
        if len(spec) != 1:
            raise InvalidSchema(f"Array shorthand at {path} must hold exactly one item type "
                                "(or two or more strings for an enum).")
        return {"type": "array", "items": _from_shorthand(spec[0], path + "[]")}
    if isinstance(spec, dict):
        if _is_fragment(spec):
            return spec
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
    _check_refs(schema, schema, "", 0)


def _check_refs(node: Any, root: dict[str, Any], path: str, depth: int) -> None:
    """Only local references (`#/$defs/…`) that resolve, and no absurd nesting."""
    if depth > MAX_SCHEMA_DEPTH * 3:
        raise InvalidSchema(f"schema is nested too deeply at {path or '(root)'}.")
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_refs(item, root, f"{path}/{index}", depth + 1)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and _resolve_pointer(root, ref) is None:
        raise InvalidSchema(f"schema $ref {ref!r} at {path or '(root)'} does not resolve to a "
                            "local definition; remote references are not supported.")
    for key, value in node.items():
        _check_refs(value, root, f"{path}/{key}", depth + 1)


def _resolve_pointer(root: dict[str, Any], ref: str) -> dict[str, Any] | None:
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, dict) else None


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with local `$ref`s replaced by what they point to (engines walk plain trees).

    Recursive references stop at MAX_SCHEMA_DEPTH, where an empty schema stands in.
    """
    return _inline(schema, schema, 0)  # type: ignore[no-any-return]


def _inline(node: Any, root: dict[str, Any], depth: int) -> Any:
    if isinstance(node, list):
        return [_inline(item, root, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if depth >= MAX_SCHEMA_DEPTH:
            return {}
        target = _resolve_pointer(root, ref) or {}
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, root, depth + 1)
    return {key: _inline(value, root, depth) for key, value in node.items()
            if key not in ("$defs", "definitions")}
