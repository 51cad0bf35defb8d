"""Line-item tables → arrays of objects, columns mapped to item properties by header similarity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.pipeline.extract.aligned import AlignedTable, aligned_tables
from worker.pipeline.extract.config import LocalConfig
from worker.pipeline.extract.evidence import FieldEvidence, union_bbox
from worker.pipeline.extract.index import PageIndex
from worker.pipeline.extract.labels import concept_of, field_aliases, phrase_tokens
from worker.pipeline.extract.layout import Cell, Row
from worker.pipeline.extract.values import parse_value, schema_type
from worker.pipeline.extract.vocabulary import COLUMN_WORDS, squash


@dataclass
class Column:
    x0: float
    x1: float
    prop: str | None  # the item property this column fills; None for columns the schema lacks


@dataclass
class TableHit:
    page: int
    header: Row
    columns: list[Column]
    items: list[dict[str, Any]]
    rows: list[Row]


def extract_line_items(pages: list[PageIndex], items: dict[str, Any],
                       config: LocalConfig) -> FieldEvidence | None:
    """All rows of every table whose header names at least two of the item's properties."""
    props = {k: v for k, v in (items.get("properties") or {}).items() if isinstance(v, dict)}
    if not props:
        return None
    hits = [hit for index in pages for hit in _tables_on_page(index, props, config)]
    values = [item for hit in hits for item in hit.items]
    aligned = _aligned_items(pages, props, config)
    if aligned is not None and _cells(aligned.value) > _cells(values):
        return aligned
    if not values:
        return None
    filled = sum(len(item) for item in values) / (len(values) * len(props))
    first = hits[0]
    box = union_bbox([first.header.bbox] + [row.bbox for row in first.rows])
    return FieldEvidence(values, round(0.6 + 0.35 * filled, 3), first.page, box, first.header.text)


@dataclass(frozen=True)
class _HeaderWords:
    """What names one item property in a header cell, as tokens: computed once per table
    search, not once per cell."""

    aliases: dict[tuple[str, ...], float]
    columns: list[tuple[str, ...]]


def _header_words(props: dict[str, Any], config: LocalConfig) -> dict[str, _HeaderWords]:
    found = {}
    for name, spec in props.items():
        aliases: dict[tuple[str, ...], float] = {}
        for alias in field_aliases(name, spec, config):
            aliases[alias.tokens] = max(alias.weight, aliases.get(alias.tokens, 0.0))
        concept = concept_of(" ".join(name.split("_")), config) or _column_concept(name, config)
        columns = [phrase_tokens(p, config) for p in config.columns.get(concept or "", [])]
        found[name] = _HeaderWords(aliases, columns)
    return found


def _tables_on_page(index: PageIndex, props: dict[str, Any], config: LocalConfig) -> list[TableHit]:
    hits = []
    words = _header_words(props, config)
    r = 0
    while r < len(index.rows):
        columns = _header_columns(index.rows[r], words, config)
        if columns is None:
            r += 1
            continue
        items, used = _read_rows(index.rows[r + 1:], columns, props, config)
        hits.append(TableHit(index.page.number, index.rows[r], columns, items, used))
        r += 1 + len(used)
    return hits


def _header_columns(row: Row, words: dict[str, _HeaderWords],
                    config: LocalConfig) -> list[Column] | None:
    scores: list[dict[str, float]] = [
        {name: _header_score(cell.text, known, config) for name, known in words.items()}
        for cell in row.cells]
    taken: dict[int, str] = {}
    pairs = sorted(((s, c, name) for c, by_name in enumerate(scores) for name, s in by_name.items()
                    if s > 0), reverse=True)
    for _, c, name in pairs:
        if c not in taken and name not in taken.values():
            taken[c] = name
    if len(taken) < min(2, len(words)):
        return None
    return [Column(cell.bbox[0], cell.bbox[2], taken.get(c)) for c, cell in enumerate(row.cells)]


def _header_score(text: str, known: _HeaderWords, config: LocalConfig) -> float:
    header = phrase_tokens(text, config)
    if not header or len(header) > 4:
        return 0.0
    best = known.aliases.get(header, 0.0)
    for tokens in known.columns:
        if tokens == header:
            best = max(best, 0.9)
        elif set(tokens) <= set(header):
            best = max(best, 0.6)
    return best


def _column_concept(name: str, config: LocalConfig) -> str | None:
    tokens = phrase_tokens(name.replace("_", " "), config)
    for concept, phrases in config.columns.items():
        if tokens == phrase_tokens(concept.replace("_", " "), config) or any(
                tokens == phrase_tokens(p, config) for p in phrases):
            return concept
    return None


def _read_rows(rows: list[Row], columns: list[Column], props: dict[str, Any],
               config: LocalConfig) -> tuple[list[dict[str, Any]], list[Row]]:
    items: list[dict[str, Any]] = []
    used: list[Row] = []
    numeric = {n for n, s in props.items() if schema_type(s) in ("number", "integer")}
    previous_bottom = None
    for row in rows:
        gap = row.bbox[1] - previous_bottom if previous_bottom is not None else 0.0
        height = max(row.bbox[3] - row.bbox[1], 1.0)
        if gap > height * 3.5 or _is_stop(row, config):
            break
        item = _row_item(row, columns, props, config)
        if numeric and not numeric & item.keys():
            # A row without any amount continues the previous item's text (wrapped description).
            if items and _append_text(items[-1], item, props):
                used.append(row)
                previous_bottom = row.bbox[3]
                continue
            break
        items.append(item)
        used.append(row)
        previous_bottom = row.bbox[3]
    return items, used


def _is_stop(row: Row, config: LocalConfig) -> bool:
    first = " ".join(phrase_tokens(row.cells[0].text, config)) if row.cells else ""
    stops = {" ".join(phrase_tokens(s, config)) for s in config.table_stops}
    exact = {" ".join(phrase_tokens(s, config)) for s in config.table_stop_lines}
    return first in exact or any(first == s or first.startswith(s + " ") for s in stops)


def _row_item(row: Row, columns: list[Column], props: dict[str, Any],
              config: LocalConfig) -> dict[str, Any]:
    texts: dict[str, list[str]] = {}
    for cell in row.cells:
        column = _column_for(cell, columns)
        if column.prop is not None:
            texts.setdefault(column.prop, []).append(cell.text)
    item: dict[str, Any] = {}
    for name, parts in texts.items():
        value = parse_value(" ".join(parts), props[name], day_first=config.day_first)
        if value is not None:
            item[name] = value
    return item


def _column_for(cell: Cell, columns: list[Column]) -> Column:
    x0, _, x1, _ = cell.bbox

    def closeness(column: Column) -> tuple[float, float]:
        overlap = min(x1, column.x1) - max(x0, column.x0)
        centre = abs((x0 + x1) / 2 - (column.x0 + column.x1) / 2)
        return (overlap if overlap > 0 else 0.0, -centre)

    return max(columns, key=closeness)


def _append_text(item: dict[str, Any], extra: dict[str, Any], props: dict[str, Any]) -> bool:
    strings = [n for n, v in extra.items() if isinstance(v, str) and isinstance(item.get(n), str)]
    if not strings or len(strings) != len(extra):
        return False
    for name in strings:
        item[name] = f"{item[name]} {extra[name]}"
    return True


def _aligned_items(pages: list[PageIndex], props: dict[str, Any],
                   config: LocalConfig) -> FieldEvidence | None:
    """Items from header-aligned rows (scans, tables without ruling lines)."""
    roles = {concept: name for name, spec in props.items()
             if (concept := _item_concept(name, spec, config)) is not None}
    tables = [t for index in pages for t in aligned_tables(index)]
    values = [item for t in tables for row in t.items
              if (item := _aligned_item(row, roles, props, config))]
    if not values:
        return None
    filled = sum(len(item) for item in values) / (len(values) * len(props))
    checked = sum(t.checked for t in tables) / len(values)
    first: AlignedTable = tables[0]
    box = union_bbox([first.header.bbox] + [row.bbox for row in first.rows])
    return FieldEvidence(values, round(0.5 + 0.3 * filled + 0.15 * checked, 3), first.page, box,
                         first.header.text)


def _item_concept(name: str, spec: dict[str, Any], config: LocalConfig) -> str | None:
    """Which column an item property reads: by its name, else by its description's words."""
    concept = _column_concept(name, config)
    if concept is not None:
        return concept
    for text in (name, str(spec.get("title") or ""), str(spec.get("description") or "")):
        words = {squash(word) for word in text.replace("_", " ").split()}
        found = [c for c, terms in COLUMN_WORDS.items() if words & set(terms)]
        if found:
            return found[0]
    return None


def _aligned_item(row: dict[str, str], roles: dict[str, str], props: dict[str, Any],
                  config: LocalConfig) -> dict[str, Any]:
    item = {}
    for concept, raw in row.items():
        name = roles.get(concept)
        value = parse_value(raw, props[name], day_first=config.day_first) if name else None
        if name and value is not None:
            item[name] = value
    return item


def _cells(values: list[Any]) -> int:
    return sum(len(item) for item in values if isinstance(item, dict))
