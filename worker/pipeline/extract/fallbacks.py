"""Readings for fields no label names: the letterhead name, the first date, an enum anywhere."""

from __future__ import annotations

from typing import Any

from worker.pipeline.document import Page
from worker.pipeline.extract.config import LocalConfig
from worker.pipeline.extract.evidence import FieldEvidence
from worker.pipeline.extract.index import PageIndex
from worker.pipeline.extract.labels import phrase_tokens
from worker.pipeline.extract.values import match_enum, parse_date, parse_number

# Words that title a document rather than name who issued it.
_DOCUMENT_TITLES = {"invoice", "tax invoice", "receipt", "sales receipt", "bill", "statement",
                    "quote", "quotation", "purchase order", "credit note", "application form",
                    "form", "registration form", "order confirmation"}


def top_of_page_name(page: Page, config: LocalConfig) -> FieldEvidence | None:
    """The most prominent line at the top of the page that is not a document title."""
    top = page.height * 0.3 if page.height else float("inf")
    best = None
    for line in page.lines():
        text = line.text.strip()
        if line.bbox[1] > top or not _is_name(text, config):
            continue
        key = (line.font_size, line.bold, -line.bbox[1])
        if best is None or key > best[0]:
            best = (key, line)
    if best is None:
        return None
    line = best[1]
    return FieldEvidence(line.text.strip(), 0.6, page.number, line.bbox, line.text)


def _is_name(text: str, config: LocalConfig) -> bool:
    if not any(ch.isalpha() for ch in text) or ":" in text:
        return False
    if " ".join(phrase_tokens(text, config)) in _DOCUMENT_TITLES:
        return False
    return parse_date(text) is None and not (parse_number(text) is not None and
                                             sum(ch.isdigit() for ch in text) > len(text) / 3)


def first_date(pages: list[PageIndex], config: LocalConfig) -> FieldEvidence | None:
    for index in pages:
        for row in index.rows:
            for cell in row.cells:
                value = parse_date(cell.text, day_first=config.day_first)
                if value:
                    return FieldEvidence(value, 0.5, index.page.number, cell.bbox, row.text)
    return None


def value_anywhere(pages: list[PageIndex], spec: dict[str, Any]) -> FieldEvidence | None:
    """The first enum option written anywhere, for forms that tick a value without a label."""
    for index in pages:
        for row in index.rows:
            value = match_enum(row.text, list(spec.get("enum") or []))
            if value is not None:
                return FieldEvidence(value, 0.45, index.page.number, row.bbox, row.text)
    return None
