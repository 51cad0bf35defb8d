"""The local engine: schema-guided label → value matching on word boxes. No network, no model.

For each schema field it finds the field's labels (name, title, description and
their synonyms) on the page, reads candidate values inline after the label, in the
next cell to the right, or in the cell below, parses them to the field's type, and
keeps the best-scoring reading with its location. Tables become arrays of objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from worker.pipeline.document import Document, Page, Word
from worker.pipeline.extract.candidates import (
    Candidate,
    add_context,
    address_signal,
    best_of,
    currency_candidate,
    date_candidates,
    is_name,
    number_candidates,
    parties,
    party_address,
    party_name,
    total_candidates,
)
from worker.pipeline.extract.config import DEFAULT_CONFIG, LocalConfig
from worker.pipeline.extract.evidence import Evidence, FieldEvidence, union_bbox
from worker.pipeline.extract.fallbacks import first_date, top_of_page_name, value_anywhere
from worker.pipeline.extract.index import PageIndex, index_document
from worker.pipeline.extract.kinds import as_string, reading_spec, string_kind
from worker.pipeline.extract.labels import (
    Alias,
    field_aliases,
    known_label_phrases,
    phrase_tokens,
    split_name,
)
from worker.pipeline.extract.layout import Cell, Row, overlaps_x
from worker.pipeline.extract.reading import Reading, read_document
from worker.pipeline.extract.tables import extract_line_items
from worker.pipeline.extract.values import parse_value, schema_type
from worker.pipeline.extract.vocabulary import squash

_CHECKBOX = {"[x]": True, "☑": True, "☒": True, "✓": True, "✔": True, "[ ]": False, "☐": False,
             "[]": False}


@dataclass(frozen=True)
class LabelHit:
    row: int
    cell: int
    start: int  # first label word in the cell
    end: int  # one past the last label word
    quality: float


def extract_local(document: Document, schema: dict[str, Any],
                  config: LocalConfig = DEFAULT_CONFIG) -> Evidence:
    """Every schema property the document yields, with value, confidence and location."""
    pages = index_document(document, config)
    reading = read_document(pages, config.day_first)
    found: Evidence = {}
    for name, spec in (schema.get("properties") or {}).items():
        evidence = extract_property(pages, name, spec if isinstance(spec, dict) else {}, config,
                                    reading=reading)
        if evidence is not None:
            found[name] = evidence
    return found


def candidate_evidence(document: Document, schema: dict[str, Any],
                       config: LocalConfig = DEFAULT_CONFIG) -> Evidence:
    """The best whole-page candidate for each top-level field that names a known concept,
    with its calibrated confidence: the engine's own reading, to check another engine by."""
    pages = index_document(document, config)
    reading = read_document(pages, config.day_first)
    found: Evidence = {}
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        concept = next((a.concept for a in _aliases(name, spec, config, "") if a.concept), None)
        if concept not in _RESOLVERS:
            continue
        kind = _RESOLVERS[concept]
        # A plain-string date or amount is not compared: the model's "RM 9.00" and the page's
        # "9.00" are one value, and the comparison (`crosscheck._same`) cannot tell that.
        if kind != schema_type(spec) and not (kind == "date" and spec.get("format") == "date"):
            continue
        best = _best_candidate(reading, concept)
        if best is not None and best.features and not best.tied:
            labelled = _labelled(pages, _aliases(name, spec, config, ""), spec, config, concept)
            _note_agreement(best, labelled)
            found[name] = best.evidence("date" if concept == "invoice_date" else concept)
    return found


def extract_property(pages: list[PageIndex], name: str, spec: dict[str, Any],
                     config: LocalConfig, prefix: str = "",
                     reading: Reading | None = None) -> FieldEvidence | None:
    kind = schema_type(spec)
    if kind == "array":
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        if items and schema_type(items) == "object":
            return extract_line_items(pages, items, config)
        return None
    if kind == "object" and isinstance(spec.get("properties"), dict):
        return _extract_object(pages, name, spec, config, reading)
    return find_scalar(pages, name, spec, config, prefix, reading)


def _extract_object(pages: list[PageIndex], name: str, spec: dict[str, Any],
                    config: LocalConfig, reading: Reading | None) -> FieldEvidence | None:
    children = {}
    for child, child_spec in spec["properties"].items():
        found = extract_property(pages, child, child_spec if isinstance(child_spec, dict) else {},
                                 config, prefix=name, reading=reading)
        if found is not None:
            children[child] = found
    if not children:
        return None
    first = next(iter(children.values()))
    confidence = sum(c.confidence for c in children.values()) / len(spec["properties"])
    return FieldEvidence({k: v.value for k, v in children.items()}, confidence, first.page,
                         first.bbox, first.source)


def find_scalar(pages: list[PageIndex], name: str, spec: dict[str, Any], config: LocalConfig,
                prefix: str = "", reading: Reading | None = None) -> FieldEvidence | None:
    """The best value for one leaf field: whole-page candidates for known concepts, else the
    best labelled value, else a configured fallback."""
    aliases = _aliases(name, spec, config, prefix)
    concept = next((a.concept for a in aliases if a.concept), None)
    # A plain-string field whose own words name a date or an amount is read as one, and
    # its value handed back as a string (ISO date, plain decimal), or not at all.
    kind = string_kind(name, spec, concept)
    found = _find_typed(pages, name, reading_spec(spec, kind), config, prefix, reading,
                        aliases, concept)
    if found is None or kind is None:
        return found
    value = as_string(found.value, kind)
    return None if value is None else replace(found, value=value)


def _find_typed(pages: list[PageIndex], name: str, spec: dict[str, Any], config: LocalConfig,
                prefix: str, reading: Reading | None, aliases: list[Alias],
                concept: str | None) -> FieldEvidence | None:
    labelled = _labelled(pages, aliases, spec, config, concept)
    if reading is not None and concept in _RESOLVERS and not prefix:
        return _from_reading(pages, reading, concept, spec, labelled, config,
                             name in config.field_aliases)
    if labelled is not None and labelled.confidence >= config.min_score:
        return labelled
    return _fallback(pages, spec, concept, config)


def _labelled(pages: list[PageIndex], aliases: list[Alias], spec: dict[str, Any],
              config: LocalConfig, concept: str | None) -> FieldEvidence | None:
    prefer_last = concept in config.prefer_last
    best: FieldEvidence | None = None
    for index in pages:
        for hit, alias in _label_hits(index, aliases):
            for evidence in _candidates(index, hit, alias, spec, config):
                if best is None or evidence.confidence > best.confidence + 1e-9 or (
                        prefer_last and abs(evidence.confidence - best.confidence) < 1e-9):
                    best = evidence
    return best


def _from_reading(pages: list[PageIndex], reading: Reading, concept: str, spec: dict[str, Any],
                  labelled: FieldEvidence | None, config: LocalConfig,
                  learned: bool) -> FieldEvidence | None:
    """The best whole-page candidate; a value next to the field's own (or learned) label wins
    where the page's evidence is only positional (names, addresses)."""
    kind = _RESOLVERS[concept]
    if kind != schema_type(spec) and not (kind == "date" and spec.get("format") == "date"):
        return labelled
    strong = labelled is not None and labelled.confidence >= 0.85
    if labelled is not None and (learned or (strong and _plausible(concept, labelled.value))):
        return labelled
    best = _best_candidate(reading, concept)
    if best is None and concept == "vendor_name" and pages:
        return _letterhead(pages[0].page, config)
    if best is None:
        return labelled if labelled is not None and labelled.confidence >= 0.6 else None
    if best.tied:
        return None  # weak evidence: two values the page supports equally; null, not a guess
    _note_agreement(best, labelled)
    return best.evidence("date" if concept == "invoice_date" else concept)


def _note_agreement(best: Candidate, labelled: FieldEvidence | None) -> None:
    """Whether the label matcher, which reads only next to the field's own labels, found the
    same value: a second, partly independent reading of the field."""
    same = labelled is not None and _same_value(labelled.value, best.value)
    best.features["agree"] = float(same)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 0.005
    return squash(str(a)) == squash(str(b))


def _letterhead(page: Page, config: LocalConfig) -> FieldEvidence | None:
    """The top-of-page name, only when its type is larger than the page's body text."""
    found = top_of_page_name(page, config)
    sizes = sorted(line.font_size for line in page.lines())
    if found is None or not sizes:
        return None
    line = next((ln for ln in page.lines() if ln.bbox == found.bbox), None)
    return found if line is not None and line.font_size > sizes[len(sizes) // 2] * 1.15 else None


def _plausible(concept: str, value: Any) -> bool:
    """A labelled name or address that reads as one ("Company No: 123-X" is neither)."""
    text = str(value)
    if concept == "vendor_name":
        return is_name(text)
    return concept == "address" and address_signal(text) and ":" not in text


def _best_candidate(reading: Reading, concept: str) -> Candidate | None:
    if concept == "total":
        found = total_candidates(reading)
    elif concept in ("date", "invoice_date"):
        found = date_candidates(reading, concept)
    elif concept == "invoice_number":
        found = number_candidates(reading)
    elif concept == "currency":
        single = currency_candidate(reading)
        found = [single] if single else []
    else:
        ranked = parties(reading)
        if not ranked:
            return None
        chosen = party_name(ranked[0]) if concept == "vendor_name" else party_address(ranked[0])
        if chosen is not None:
            runner_up = ranked[1].score if len(ranked) > 1 else None
            add_context(chosen, runner_up)
        return chosen
    return best_of(found)


# Concepts read from the whole page, and the JSON type each gives.
_RESOLVERS = {"total": "number", "date": "date", "invoice_date": "date", "invoice_number": "string",
              "currency": "string", "vendor_name": "string", "address": "string"}


def _aliases(name: str, spec: dict[str, Any], config: LocalConfig, prefix: str) -> list[Alias]:
    own = field_aliases(name, spec, config)
    if not prefix:
        return own
    qualified = field_aliases(" ".join(split_name(prefix) + split_name(name)), {}, config)
    return qualified + [Alias(a.tokens, a.weight * 0.85, a.concept) for a in own]


def _label_hits(index: PageIndex, aliases: list[Alias]) -> Iterator[tuple[LabelHit, Alias]]:
    for r, cells in enumerate(index.tokens):
        for c, tokens in enumerate(cells):
            for alias in aliases:
                n = len(alias.tokens)
                for start in range(len(tokens) - n + 1):
                    if tuple(tokens[start:start + n]) == alias.tokens:
                        yield _hit(index.rows[r].cells[c], r, c, start, start + n), alias


def _hit(cell: Cell, r: int, c: int, start: int, end: int) -> LabelHit:
    words = cell.words
    quality = 1.0 if start == 0 else 0.6
    if start > 0 and words[start - 1].text.lower() in {*_CHECKBOX, "]"}:
        quality = 1.0
    if not words[end - 1].text.endswith(":"):
        # "Total Due: …" read for the label "total": the label runs on to its colon.
        for extra in range(end, min(end + 3, len(words))):
            if words[extra].text.endswith(":"):
                return LabelHit(r, c, start, extra + 1, quality * max(0.5, 0.8 - 0.1 * (extra - end)))
    return LabelHit(r, c, start, end, quality)


def _candidates(index: PageIndex, hit: LabelHit, alias: Alias, spec: dict[str, Any],
                config: LocalConfig) -> Iterator[FieldEvidence]:
    row = index.rows[hit.row]
    cell = row.cells[hit.cell]
    label_box = union_bbox([w.bbox for w in cell.words[hit.start:hit.end]])
    base = alias.weight * hit.quality
    page = index.page.number
    mark = _checkbox_before(row, hit)
    if schema_type(spec) == "boolean" and mark is not None:
        yield FieldEvidence(mark, base * 0.95, page, label_box, row.text)
    inline = _cut_at_next_label(cell.words[hit.end:])
    if inline:
        yield from _read(Cell(inline), spec, base * config.position_weights["inline"], page,
                         cell.text, config)
    if hit.cell + 1 < len(row.cells):
        right = row.cells[hit.cell + 1]
        yield from _read(right, spec, base * config.position_weights["right"], page, row.text,
                         config)
    for below in _cells_below(index, hit.row, label_box, config):
        yield from _read(below, spec, base * config.position_weights["below"], page, below.text,
                         config)


def _checkbox_before(row: Row, hit: LabelHit) -> bool | None:
    """A tick box drawn just left of the label: "[X] Employed" or "[ ] Employed"."""
    before = [w.text.lower() for cell in row.cells[:hit.cell] for w in cell.words]
    before += [w.text.lower() for w in row.cells[hit.cell].words[:hit.start]]
    tail = "".join(before[-2:]) if before[-2:] and before[-1] == "]" else (before[-1] if before else "")
    return _CHECKBOX.get(tail.replace(" ", "")) if tail else None


def _cut_at_next_label(words: list[Any]) -> list[Any]:
    for i, word in enumerate(words):
        if i > 0 and word.text.endswith(":"):
            return list(words[:i - 1] if i > 1 and words[i - 1].text[:1].isupper()
                        and words[i - 1].text.isalpha() else words[:i])
    return list(words)


def _cells_below(index: PageIndex, r: int, label_box: Any, config: LocalConfig) -> Iterator[Cell]:
    height = max(label_box[3] - label_box[1], 1.0)
    bottom = index.rows[r].bbox[3]
    for below in index.rows[r + 1:r + 1 + config.below_max_rows]:
        if below.bbox[1] - bottom > height * 3:
            return
        for cell in below.cells:
            if overlaps_x(cell.bbox, label_box, slack=height):
                yield _words_under(cell, label_box) if config.below_words else cell
                return
        bottom = below.bbox[3]


def _words_under(cell: Cell, label_box: Any) -> Cell:
    """The value under the label out of a packed cell: the words under it, widened over
    ordinary word spaces (a name wider than its label stays whole) but not over the wider
    gaps that separate packed values. The whole cell when no word is under the label."""
    words = cell.words
    under = [i for i, w in enumerate(words) if overlaps_x(w.bbox, label_box)]
    if not under:
        return cell
    start, end = under[0], under[-1] + 1

    def close(a: Word, b: Word) -> bool:
        height = max(a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1], 1.0)
        return b.bbox[0] - a.bbox[2] <= height * _WORD_SPACE

    while start > 0 and close(words[start - 1], words[start]):
        start -= 1
    while end < len(words) and close(words[end - 1], words[end]):
        end += 1
    return Cell(words[start:end])


# A word space is well under half a line height; packed values sit about a line height apart.
_WORD_SPACE = 0.6


def _read(cell: Cell, spec: dict[str, Any], score: float, page: int, source: str,
          config: LocalConfig) -> Iterator[FieldEvidence]:
    text = cell.text.strip()
    if not text or _looks_like_label(text, config):
        return
    value = parse_value(text, spec, day_first=config.day_first)
    if value is None:
        return
    quality = _fit(text, value, spec)
    yield FieldEvidence(value, min(0.99, score * quality), page, cell.bbox, source)


def _looks_like_label(text: str, config: LocalConfig) -> bool:
    return text.endswith(":") or phrase_tokens(text, config) in known_label_phrases(config)


def _fit(text: str, value: Any, spec: dict[str, Any]) -> float:
    """How well the whole cell is explained by the parsed value (a number inside a code is poor)."""
    kind = schema_type(spec)
    if kind in ("number", "integer"):
        if text.rstrip().endswith("%") and "%" not in str(spec.get("description", "")):
            return 0.3  # "VAT 19%": a rate next to the label, the amount is elsewhere
        letters = sum(ch.isalpha() for ch in text)
        # Currency codes and words like "USD" are fine; "INV-2024-001" is not an amount.
        return 1.0 if letters <= 3 else 0.6 if letters <= 8 else 0.3
    if kind == "string" and "format" not in spec and "enum" not in spec:
        words = len(text.split())
        return 1.0 if words <= 8 else 0.75
    return 1.0


def _fallback(pages: list[PageIndex], spec: dict[str, Any], concept: str | None,
              config: LocalConfig) -> FieldEvidence | None:
    if not pages:
        return None
    if concept in config.top_of_page_concepts and schema_type(spec) == "string":
        return top_of_page_name(pages[0].page, config)
    if spec.get("format") == "date" and concept in ("date", "invoice_date"):
        return first_date(pages, config)
    if "enum" in spec:
        return value_anywhere(pages, spec)
    return None
