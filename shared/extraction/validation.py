"""The one place JSON Schema validators are built; every validator in Quarry comes from here.

Schemas come from tenants, so checking a value against one must stay cheap and quiet:

- every regex a schema carries (`pattern`, `patternProperties`, format "regex") runs on RE2,
  which matches in linear time. Python's `re` backtracks (`^(a+)+$` against forty `a`s and a
  `!` takes hours) and holds the GIL while it does, so one label would freeze the API.
- references resolve inside the schema only: the registry refuses to retrieve anything, so
  no keyword (`$ref`, `$dynamicRef`, …) can make a validator open a URL or a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

from shared.errors import InvalidSchema

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the caller's 400, not our stderr
_STOCK = Draft202012Validator.VALIDATORS


def pattern_problem(pattern: str) -> str | None:
    """Why RE2 cannot run `pattern` (a lookaround, a backreference, …); None when it can."""
    try:
        re2.compile(pattern, options=_RE2_OPTIONS)  # re2 keeps its own cache of compiled patterns
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    return None


def _search(pattern: str, text: str) -> bool:
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS).search(text) is not None
    except re2.error as exc:  # a schema stored before patterns were checked at submission
        raise InvalidSchema(f"schema pattern {pattern!r} is not supported: "
                            f"{pattern_problem(pattern)}.") from exc


def _pattern(validator: Validator, pattern: str, instance: Any, _: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: dict[str, Any], instance: Any, _: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Validator, additional: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    patterns = schema.get("patternProperties")
    if not patterns or not validator.is_type(instance, "object"):
        yield from _STOCK["additionalProperties"](validator, additional, instance, schema)
        return
    # jsonschema's own keyword matches `patternProperties` with Python's `re`.
    known = schema.get("properties", {})
    extras = sorted(key for key in instance
                    if key not in known and not any(_search(p, key) for p in patterns))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        verb = "does" if len(extras) == 1 else "do"
        yield ValidationError(f"{', '.join(map(repr, extras))} {verb} not match any of the "
                              f"regexes: {', '.join(map(repr, sorted(patterns)))}")


def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or pattern_problem(instance) is None


FORMATS = FormatChecker(Draft202012Validator.FORMAT_CHECKER.checkers)
"""Draft 2020-12's format checks, with "regex" meaning "RE2 can run it"."""
FORMATS.checks("regex")(_is_regex)

_Validator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties,
     "additionalProperties": _additional_properties},
    format_checker=FORMATS,
)


def _refuse_retrieval(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs-made __init__


_LOCAL_ONLY: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def schema_validator(schema: dict[str, Any]) -> Validator:
    """A Draft 2020-12 validator for `schema`: RE2 regexes, formats asserted, nothing fetched."""
    validator: Validator = _Validator(schema, registry=_LOCAL_ONLY, format_checker=FORMATS)
    return validator


def check_schema(schema: dict[str, Any]) -> None:
    """Raise `SchemaError` when `schema` is not a Draft 2020-12 schema RE2 can run."""
    meta = schema_validator(Draft202012Validator.META_SCHEMA)
    for error in meta.iter_errors(schema):
        raise SchemaError.create_from(error)


def validation_problems(schema: dict[str, Any], instance: Any) -> list[ValidationError]:
    """Every way `instance` fails `schema`; a schema that cannot be evaluated is a 400."""
    try:
        return list(schema_validator(schema).iter_errors(instance))
    except Unresolvable as exc:
        raise InvalidSchema("schema has a reference that does not resolve inside it; remote "
                            "references are not supported.") from exc
    except RecursionError as exc:  # references that nest deeper than the stack allows
        raise InvalidSchema("schema references nest too deeply to check a value against.") from exc
