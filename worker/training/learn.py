"""The learning step: where do the expected values sit in the training documents, and what
text labels them?

For every scalar field it finds the cells whose text reads as the expected value and
records the words that label it: inline before the value ("Ref. No.: NP-1"), the cell to
the left, or the cell above. Phrases seen in at least half the examples become learned
aliases. For line-item arrays it finds the rows that hold the expected items and records
the header text over each column. Everything learned is plain data for `LocalConfig`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from worker.pipeline.document import Document
from worker.pipeline.extract.config import DEFAULT_CONFIG
from worker.pipeline.extract.evidence import union_bbox
from worker.pipeline.extract.index import PageIndex, index_document
from worker.pipeline.extract.labels import phrase_tokens
from worker.pipeline.extract.layout import Cell, Row, overlaps_x
from worker.pipeline.extract.values import parse_date, parse_value, schema_type
from worker.training.scoring import same

MAX_LABEL_WORDS = 5
MAX_ALIASES = 3
MAX_VALUE_WORDS = 6


@dataclass(frozen=True)
class LabeledDocument:
    """A converted training document and the JSON it should yield."""

    name: str
    document: Document
    expected: dict[str, Any]


@dataclass
class Learned:
    """What the training split taught: label phrases, column headers, value positions."""

    aliases: dict[str, list[str]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    field_positions: dict[str, str] = field(default_factory=dict)
    """Per field, where its value most often sits relative to the learned label."""
    below_words: bool = False
    """Whether a learned label sits over a few words of a wider cell (values packed too
    close to split into cells under a header row), so extraction must read only those."""


@dataclass(frozen=True)
class Sighting:
    phrase: str
    position: str  # inline | right | below
    within: bool = False  # below, over some of the words of a wider cell


def learn(examples: list[LabeledDocument], schema: dict[str, Any]) -> Learned:
    """Label aliases, column headers and value positions seen across `examples`."""
    learned = Learned()
    indexed = [(index_document(ex.document, DEFAULT_CONFIG), ex.expected) for ex in examples]
    for name, spec, path in scalar_fields(schema):
        sightings = [list(_label_sightings(pages, lookup_path(expected, path), spec))
                     for pages, expected in indexed if lookup_path(expected, path) is not None]
        phrases = _frequent(sightings)
        if phrases:
            learned.aliases.setdefault(name, []).extend(phrases)
            here: Counter[str] = Counter(s.position for seen in sightings for s in seen
                                         if s.phrase in phrases)
            for position, count in here.items():
                learned.positions[position] = learned.positions.get(position, 0) + count
            if here:
                learned.field_positions[name] = min(here, key=lambda p: (-here[p], p))
            learned.below_words |= any(s.within for seen in sightings for s in seen
                                       if s.phrase in phrases)
    for name, items in array_fields(schema):
        for prop, headers in _learn_columns(indexed, name, items).items():
            learned.columns.setdefault(prop, []).extend(headers)
    return learned


def scalar_fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], tuple[str, ...]]]:
    """(name the engine looks up aliases by, leaf schema, path in the expected JSON)."""
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = schema_type(spec)
        if kind == "object" and isinstance(spec.get("properties"), dict):
            for child, child_spec in spec["properties"].items():
                if isinstance(child_spec, dict) and schema_type(child_spec) not in ("object", "array"):
                    yield child, child_spec, (name, child)
        elif kind != "array":
            yield name, spec, (name,)


def array_fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, spec in (schema.get("properties") or {}).items():
        items = spec.get("items") if isinstance(spec, dict) else None
        if isinstance(items, dict) and schema_type(items) == "object":
            yield name, items


def has_dates(schema: dict[str, Any]) -> bool:
    return "'format': 'date'" in repr(schema)


def lookup_path(expected: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` in an expected JSON object (None when any step is missing)."""
    value: Any = expected
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def reads_as(text: str, expected: Any, spec: dict[str, Any]) -> bool:
    """Whether `text` is the expected value, in either date order for dates."""
    text = text.strip()
    if not text or expected is None:
        return False
    if spec.get("format") == "date":
        return expected in (parse_date(text), parse_date(text, day_first=True))
    if schema_type(spec) in ("number", "integer") and sum(ch.isalpha() for ch in text) > 3:
        return False
    parsed = parse_value(text, spec)
    return parsed is not None and same(expected, parsed)


def _label_sightings(pages: list[PageIndex], expected: Any,
                     spec: dict[str, Any]) -> Iterator[Sighting]:
    for index in pages:
        for r, row in enumerate(index.rows):
            for c, cell in enumerate(row.cells):
                yield from _around(index.rows, r, c, cell, expected, spec)


def _around(rows: list[Row], r: int, c: int, cell: Cell, expected: Any,
            spec: dict[str, Any]) -> Iterator[Sighting]:
    words = cell.words
    for split in range(len(words) - 1, 0, -1):
        if reads_as(" ".join(w.text for w in words[split:]), expected, spec):
            head = " ".join(w.text for w in words[:split])
            if _label_like(head, expected, spec):
                yield Sighting(_clean(head), "inline")
            break
    if not reads_as(cell.text, expected, spec):
        yield from _above_words(rows, r, cell, expected, spec)
        return
    if c > 0 and _label_like(rows[r].cells[c - 1].text, expected, spec):
        yield Sighting(_clean(rows[r].cells[c - 1].text), "right")
    label = _label_above(rows, r, cell.bbox, expected, spec)
    if label is not None:
        yield Sighting(label, "below")


def _label_above(rows: list[Row], r: int, box: Any, expected: Any,
                 spec: dict[str, Any]) -> str | None:
    """The one label-like cell over `box` in the nearest row above that has anything over
    it: rows with nothing there (another column's second line) are looked through, as far
    as extraction looks below a label."""
    for k in range(r - 1, max(-1, r - 1 - DEFAULT_CONFIG.below_max_rows), -1):
        if not _near_above(rows[k], rows[r]):
            return None
        above = [a for a in rows[k].cells if overlaps_x(a.bbox, box)]
        if above:
            label_like = len(above) == 1 and _label_like(above[0].text, expected, spec)
            return _clean(above[0].text) if label_like else None
    return None


def _above_words(rows: list[Row], r: int, cell: Cell, expected: Any,
                 spec: dict[str, Any]) -> Iterator[Sighting]:
    """A value that is only some words of its cell, with its own label right above those
    words: a header row over values packed too close together to split into cells."""
    words = cell.words
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + MAX_VALUE_WORDS) + 1):
            if end - start == len(words) or not reads_as(
                    " ".join(w.text for w in words[start:end]), expected, spec):
                continue
            label = _label_above(rows, r, union_bbox([w.bbox for w in words[start:end]]),
                                 expected, spec)
            if label is not None:
                yield Sighting(label, "below", within=True)
                return


def _near_above(above: Row, row: Row) -> bool:
    """A label over its value sits within a couple of line heights (not a heading far up)."""
    height = max(row.bbox[3] - row.bbox[1], 1.0)
    return row.bbox[1] - above.bbox[3] <= height * 1.5


def _clean(text: str) -> str:
    return text.strip().rstrip(":").strip()


def _label_like(text: str, expected: Any, spec: dict[str, Any]) -> bool:
    phrase = _clean(text)
    tokens = phrase_tokens(phrase, DEFAULT_CONFIG)
    return (bool(tokens) and len(phrase.split()) <= MAX_LABEL_WORDS
            and any(ch.isalpha() for ch in phrase) and not reads_as(phrase, expected, spec))


def _frequent(sightings: list[list[Sighting]]) -> list[str]:
    """Phrases seen in at least half the examples that hold the value, most frequent first."""
    if not sightings:
        return []
    support: Counter[tuple[str, ...]] = Counter()
    shown: dict[tuple[str, ...], str] = {}
    for seen in sightings:
        keys = {phrase_tokens(s.phrase, DEFAULT_CONFIG): s.phrase for s in seen}
        support.update(keys.keys())
        for key, phrase in keys.items():
            shown.setdefault(key, phrase)
    needed = max(1, math.ceil(len(sightings) / 2))
    ranked = sorted(support.items(), key=lambda kv: (-kv[1], shown[kv[0]]))
    return [shown[key] for key, count in ranked if count >= needed][:MAX_ALIASES]


def _learn_columns(indexed: list[tuple[list[PageIndex], dict[str, Any]]], name: str,
                   items: dict[str, Any]) -> dict[str, list[str]]:
    props = {k: v for k, v in (items.get("properties") or {}).items() if isinstance(v, dict)}
    seen: dict[str, list[list[Sighting]]] = {prop: [] for prop in props}
    for pages, expected in indexed:
        rows = [row for row in expected.get(name) or [] if isinstance(row, dict)]
        if not rows:
            continue
        headers = _headers_over(pages, rows[0], props)
        for prop in props:
            seen[prop].append([Sighting(headers[prop], "header")] if prop in headers else [])
    return {prop: phrases for prop, sightings in seen.items()
            if (phrases := _frequent(sightings)[:1])}


def _headers_over(pages: list[PageIndex], first: dict[str, Any],
                  props: dict[str, Any]) -> dict[str, str]:
    """Header text over each column of the first row that holds the first expected item."""
    needed = min(2, len([p for p in props if first.get(p) is not None]))
    for index in pages:
        for r, row in enumerate(index.rows):
            cells = {prop: cell for prop in props for cell in row.cells
                     if reads_as(cell.text, first.get(prop), props[prop])}
            if needed and len(cells) >= needed:
                return _header_texts(index.rows[max(0, r - 3):r], cells, first, props)
    return {}


def _header_texts(above: list[Row], cells: dict[str, Cell], first: dict[str, Any],
                  props: dict[str, Any]) -> dict[str, str]:
    for row in reversed(above):
        found = {}
        for prop, cell in cells.items():
            over = [h for h in row.cells if overlaps_x(h.bbox, cell.bbox, slack=4)]
            if len(over) == 1 and _label_like(over[0].text, first.get(prop), props[prop]):
                found[prop] = _clean(over[0].text)
        if len(found) >= min(2, len(cells)):
            return found
    return {}
