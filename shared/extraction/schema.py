"""Accept a JSON Schema or the shorthand map, and return a checked JSON Schema.

Shorthand: `{"invoiceNumber": "string", "total": "number", "issued": "date",
"tags": ["string"], "lines": [{"sku": "string", "qty": "integer"}],
"buyer": {"name": "string"}, "status": ["paid", "unpaid"]}` — a list of two or more
strings is an enum. Inside a shorthand map, a value that is itself a JSON Schema fragment
(`{"type": "number", "description": "…"}`) is kept as written.

A schema is a tenant's input that workers (and, for training labels, the API) evaluate, so
everything that could make that costly is refused here, the same on every route: size,
nesting, property count, size once `$ref`s are expanded, references that leave the schema or
loop, and regexes RE2 cannot run (shared/extraction/validation.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import SchemaError

from shared.bounded_json import JsonInvalid, JsonTooDeep, JsonTooLarge, load_bounded
from shared.errors import InvalidSchema, SchemaTooLarge
from shared.extraction.validation import check_schema, pattern_problem
from shared.settings import get_settings

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
# Keywords that resolve against other documents or the dynamic scope: never local enough.
_REFUSED_REFERENCES = ("$dynamicRef", "$recursiveRef")
# Keywords that apply a subschema to the same value: a `$ref` cycle through them never ends.
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONES = ("not", "if", "then", "else")
MAX_SCHEMA_DEPTH = 12
"""How many `$ref`s deep inlining follows a recursive schema."""
MAX_NESTING = MAX_SCHEMA_DEPTH * 3
"""How deeply objects and arrays may nest in the schema as written."""
_MAX_INLINE_LEVEL = 100


def parse_schema(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """The request's schema (a JSON string or an object) as a checked JSON Schema."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidSchema("schema is required unless artifact_id is given.")
    loaded = _loaded(raw)
    if not isinstance(loaded, dict) or not loaded:
        raise InvalidSchema("schema must be a non-empty JSON object.")
    schema = loaded if _is_json_schema(loaded) else _from_shorthand(loaded, "")
    _check(schema)
    return schema


def _loaded(raw: str | dict[str, Any]) -> Any:
    """The schema as a value, its size and nesting bounded before anything recurses into it."""
    try:
        return load_bounded(raw, max_bytes=get_settings().max_schema_bytes,
                            max_depth=MAX_NESTING + 1)
    except JsonTooLarge as exc:
        raise SchemaTooLarge(f"schema is {exc}.") from exc
    except JsonTooDeep as exc:
        raise InvalidSchema(f"schema nests deeper than {MAX_NESTING} levels.") from exc
    except JsonInvalid as exc:
        raise InvalidSchema(f"schema is not valid JSON: {exc}.") from exc


def _walk(value: Any) -> Iterator[tuple[Any, str]]:
    """Every value inside `value` with its JSON pointer, without recursion: a document nested
    thousands deep must not exhaust the stack. Nesting beyond MAX_NESTING is refused."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        yield node, path
        children = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, child in children:
            if depth >= MAX_NESTING and isinstance(child, dict | list):
                raise InvalidSchema(f"schema nests deeper than {MAX_NESTING} levels.")
            stack.append((child, f"{path}/{key}", depth + 1))


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
    _check_nodes(schema)
    _check_ref_chains(schema)
    try:
        check_schema(schema)
    except SchemaError as exc:
        where = "/".join(map(str, exc.path)) or "(root)"
        raise InvalidSchema(f"schema is not a valid JSON Schema at {where}: {exc.message}") from exc
    if schema.get("type", "object") != "object" or not isinstance(schema.get("properties"), dict):
        raise InvalidSchema('schema must describe an object: {"type": "object", "properties": {…}}.')
    inline_refs(schema)  # refuses a schema whose expansion passes the node budget


def _check_nodes(schema: dict[str, Any]) -> None:
    """Nesting, property count, references that stay inside the schema, regexes RE2 runs."""
    properties, keywords = 0, set[str]()
    for node, path in _walk(schema):
        if not isinstance(node, dict):
            continue
        keywords.update(node)
        if isinstance(node.get("properties"), dict):
            properties += len(node["properties"])
        _check_references(node, schema, path)
        _check_patterns(node, path)
    limit = get_settings().max_schema_properties
    if properties > limit:
        raise SchemaTooLarge(f"schema has {properties:,} properties; the limit is {limit:,}.")
    if {"patternProperties", "unevaluatedProperties"} <= keywords:
        # jsonschema finds the properties `unevaluatedProperties` skips with Python's `re`.
        raise InvalidSchema("schema combines patternProperties with unevaluatedProperties, "
                            "which is not supported.")


def _check_references(node: dict[str, Any], root: dict[str, Any], path: str) -> None:
    where = path or "(root)"
    for keyword in _REFUSED_REFERENCES:
        if isinstance(node.get(keyword), str):
            raise InvalidSchema(f"schema keyword {keyword} at {where} is not supported; use a "
                                "local $ref (#/$defs/…).")
    if path and isinstance(node.get("$id"), str):
        raise InvalidSchema(f"schema $id at {where} is not supported: only the root may have one.")
    ref = node.get("$ref")
    if isinstance(ref, str) and _resolve_pointer(root, ref) is None:
        raise InvalidSchema(f"schema $ref {ref!r} at {where} does not resolve to a local "
                            "definition; remote references are not supported.")


def _check_patterns(node: dict[str, Any], path: str) -> None:
    patterns = node.get("patternProperties")
    found = [*patterns] if isinstance(patterns, dict) else []
    if isinstance(node.get("pattern"), str):
        found.append(node["pattern"])
    for pattern in found:
        problem = pattern_problem(pattern)
        if problem is not None:
            raise InvalidSchema(f"schema pattern {pattern!r} at {path or '(root)'} is not "
                                f"supported ({problem}): patterns run on RE2, without "
                                "lookarounds or backreferences.")


def _check_ref_chains(root: dict[str, Any]) -> None:
    """Refuse `$ref`s that apply schema after schema to the same value without end (`a` →
    `allOf` → `a`) or past MAX_NESTING steps: a validator follows them on the stack.

    An iterative depth-first search; `height` holds the longest chain below a finished node.
    """
    height: dict[int, int] = {}
    for start, path in _walk(root):
        if not isinstance(start, dict) or "$ref" not in start or id(start) in height:
            continue
        trail = [(start, iter(_in_place(start, root)))]
        on_trail = {id(start)}
        while trail:
            node, successors = trail[-1]
            following = next(successors, None)
            if following is None:
                trail.pop()
                on_trail.discard(id(node))
                height[id(node)] = 1 + max((height[id(each)] for each in _in_place(node, root)),
                                           default=0)
                if height[id(node)] > MAX_NESTING:
                    raise InvalidSchema(f"schema $ref at {path or '(root)'} starts a chain of "
                                        f"more than {MAX_NESTING} references.")
            elif id(following) in on_trail:
                raise InvalidSchema(f"schema $ref at {path or '(root)'} leads into a loop of "
                                    "references that never describes a value.")
            elif id(following) not in height:
                trail.append((following, iter(_in_place(following, root))))
                on_trail.add(id(following))


def _in_place(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The subschemas applied to the same value as `node`."""
    ref = node.get("$ref")
    found: list[Any] = [_resolve_pointer(root, ref)] if isinstance(ref, str) else []
    found += [node.get(keyword) for keyword in _IN_PLACE_ONES]
    for keyword in _IN_PLACE_LISTS:
        found += node[keyword] if isinstance(node.get(keyword), list) else []
    dependent = node.get("dependentSchemas")
    found += dependent.values() if isinstance(dependent, dict) else []
    return [each for each in found if isinstance(each, dict)]


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

    Recursive references stop at MAX_SCHEMA_DEPTH, where an empty schema stands in. Expanding
    counts every value it makes and stops with `SchemaTooLarge` past the node budget, before
    a fan-out of small `$defs` can build billions of them.
    """
    budget = [get_settings().max_schema_expanded_nodes]
    return _inline(schema, schema, budget, 0, 0)  # type: ignore[no-any-return]


def _inline(node: Any, root: dict[str, Any], budget: list[int], refs: int, level: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise SchemaTooLarge("schema is too large once its $refs are expanded (more than "
                             f"{get_settings().max_schema_expanded_nodes:,} values).")
    if isinstance(node, list):
        return [_inline(item, root, budget, refs, level + 1) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if refs >= MAX_SCHEMA_DEPTH or level >= _MAX_INLINE_LEVEL:
            return {}
        target = _resolve_pointer(root, ref) or {}
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, root, budget, refs + 1, level)
    return {key: _inline(value, root, budget, refs, level + 1) for key, value in node.items()
            if key not in ("$defs", "definitions")}
