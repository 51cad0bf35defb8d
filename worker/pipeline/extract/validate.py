"""Check a result against its JSON Schema; messages name the path and the problem."""

from __future__ import annotations

from typing import Any

from shared.extraction.validation import validation_problems


def validation_errors(result: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Human-readable problems (`total: 'abc' is not of type 'number'`); empty when valid."""
    problems = validation_problems(schema, result)
    errors = sorted(problems, key=lambda e: (list(map(str, e.path)), e.message))
    return [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors]


def without_required(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every `required` dropped: a page range may lack fields the whole has."""
    if isinstance(schema, dict):
        return {k: without_required(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [without_required(v) for v in schema]
    return schema


def drop_nulls(result: dict[str, Any]) -> dict[str, Any]:
    """Absent fields are left out rather than sent as null (the schema may not allow null)."""
    return {k: v for k, v in result.items() if v is not None}
