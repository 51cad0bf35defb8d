"""Field-level scoring of extraction results against expected JSON, per field type."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from worker.training.scoring import same


@dataclass
class Tally:
    correct: int = 0
    wrong: int = 0  # a value was given, and it is not the expected one
    missed: int = 0  # the expected value was not given at all
    spurious: int = 0  # a value was given where none was expected

    @property
    def precision(self) -> float:
        given = self.correct + self.wrong + self.spurious
        return self.correct / given if given else 1.0

    @property
    def recall(self) -> float:
        expected = self.correct + self.wrong + self.missed
        return self.correct / expected if expected else 1.0

    @property
    def accuracy(self) -> float:
        total = self.correct + self.wrong + self.missed + self.spurious
        return self.correct / total if total else 1.0

    def add(self, other: Tally) -> None:
        self.correct += other.correct
        self.wrong += other.wrong
        self.missed += other.missed
        self.spurious += other.spurious


@dataclass
class Score:
    by_type: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    errors: list[str] = field(default_factory=list)

    def scalar_total(self) -> Tally:
        total = Tally()
        for kind, tally in self.by_type.items():
            if not kind.startswith("line_item"):
                total.add(tally)
        return total


def field_type(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return "enum"
    if spec.get("format") in ("date", "email"):
        return str(spec["format"])
    return str(spec.get("type", "string"))


def score_document(score: Score, doc_id: str, schema: dict[str, Any], expected: dict[str, Any],
                   actual: dict[str, Any]) -> None:
    for name, spec in (schema.get("properties") or {}).items():
        if spec.get("type") == "array":
            _score_items(score, doc_id, spec["items"], expected.get(name) or [], actual.get(name) or [])
            continue
        _score_value(score, f"{doc_id}.{name}", field_type(spec), expected.get(name), actual.get(name))


def _score_value(score: Score, where: str, kind: str, expected: Any, actual: Any) -> None:
    tally = score.by_type[kind]
    if expected is None and actual is None:
        return
    if expected is None:
        tally.spurious += 1
    elif actual is None:
        tally.missed += 1
        score.errors.append(f"{where}: missed {expected!r}")
    elif same(expected, actual):
        tally.correct += 1
    else:
        tally.wrong += 1
        score.errors.append(f"{where}: expected {expected!r}, got {actual!r}")


def _score_items(score: Score, doc_id: str, items: dict[str, Any], expected: list[Any],
                 actual: list[Any]) -> None:
    """Line items compared in order, cell by cell; extra or missing rows count fully."""
    for index in range(max(len(expected), len(actual))):
        want = expected[index] if index < len(expected) else {}
        got = actual[index] if index < len(actual) and isinstance(actual[index], dict) else {}
        for name, spec in (items.get("properties") or {}).items():
            _score_value(score, f"{doc_id}.line_items[{index}].{name}", f"line_item.{field_type(spec)}",
                         want.get(name), got.get(name))
