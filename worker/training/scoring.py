"""Field-level comparison of an extraction with the expected JSON, for choosing variants."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from worker.pipeline.extract.values import schema_type


@dataclass(frozen=True)
class Miss:
    """One field of one example that came out wrong."""

    example: str
    field: str
    expected: Any
    got: Any

    @property
    def why(self) -> str:
        if self.got is None:
            return "missed: no value was found next to any known or learned label"
        if self.expected is None:
            return f"spurious: read {self.got!r} where the example has no value"
        return f"wrong value: read {self.got!r} where {self.expected!r} was expected"


@dataclass
class FieldTally:
    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 1.0


@dataclass
class Scorecard:
    """Per-field tallies over a set of examples, and the fields that were wrong."""

    fields: dict[str, FieldTally] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Mean of per-field accuracies: each field counts the same, however many rows it has."""
        tallies = [t for t in self.fields.values() if t.total]
        return sum(t.accuracy for t in tallies) / len(tallies) if tallies else 1.0

    def by_field(self) -> dict[str, float]:
        return {name: round(t.accuracy, 4) for name, t in sorted(self.fields.items())}


def same(expected: Any, actual: Any) -> bool:
    """Equal as a reviewer would judge: numbers to the cent, strings ignoring case and spacing."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return abs(float(expected) - float(actual)) < 0.011
    if isinstance(expected, str) and isinstance(actual, str):
        return " ".join(expected.lower().split()) == " ".join(actual.lower().split())
    return bool(expected == actual)


def score_example(card: Scorecard, example: str, schema: dict[str, Any],
                  expected: dict[str, Any], actual: dict[str, Any]) -> None:
    """Add one example's fields to `card`; line items are compared row by row, in order."""
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = schema_type(spec)
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        if kind == "array" and items and schema_type(items) == "object":
            _score_rows(card, example, name, items, expected.get(name) or [], actual.get(name) or [])
        elif kind == "object" and isinstance(spec.get("properties"), dict):
            want, got = expected.get(name) or {}, actual.get(name) or {}
            for child in spec["properties"]:
                _score(card, example, f"{name}.{child}", want.get(child), got.get(child))
        else:
            _score(card, example, name, expected.get(name), actual.get(name))


def _score_rows(card: Scorecard, example: str, name: str, items: dict[str, Any],
                expected: list[Any], actual: list[Any]) -> None:
    for index in range(max(len(expected), len(actual))):
        want = expected[index] if index < len(expected) and isinstance(expected[index], dict) else {}
        got = actual[index] if index < len(actual) and isinstance(actual[index], dict) else {}
        for prop in items.get("properties") or {}:
            _score(card, f"{example}#{index + 1}", f"{name}[].{prop}", want.get(prop), got.get(prop))


def _score(card: Scorecard, example: str, name: str, expected: Any, actual: Any) -> None:
    if expected is None and actual is None:
        return
    tally = card.fields.setdefault(name, FieldTally())
    tally.total += 1
    if expected is not None and actual is not None and same(expected, actual):
        tally.correct += 1
    else:
        card.misses.append(Miss(example, name, expected, actual))
