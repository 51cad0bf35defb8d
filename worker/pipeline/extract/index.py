"""A page prepared for label search: visual rows, their cells and normalised tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from worker.pipeline.document import Document, Page, Word
from worker.pipeline.extract.config import LocalConfig
from worker.pipeline.extract.labels import normalise_token
from worker.pipeline.extract.layout import Row, page_rows


@dataclass
class PageIndex:
    page: Page
    rows: list[Row]
    tokens: list[list[list[str]]]
    """row → cell → normalised word tokens, aligned with `rows[r].cells[c].words`."""


def index_page(page: Page, config: LocalConfig) -> PageIndex:
    if page.source != "text":
        page = _unglued(page)
    rows = page_rows(page)
    tokens = [[[normalise_token(w.text, config) for w in cell.words] for cell in row.cells]
              for row in rows]
    return PageIndex(page=page, rows=rows, tokens=tokens)


def index_document(document: Document, config: LocalConfig) -> list[PageIndex]:
    return [index_page(page, config) for page in document.pages]


# OCR often drops spaces: "InvoiceDate:2024-05-01", "AmountDue", "Invoice#:INV-1".
_GLUE = re.compile(r"(?<=[A-Za-z#]:)(?=\S)|(?<=[a-z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=#)")


def _unglued(page: Page) -> Page:
    """An OCR page with glued words split where a label meets its value or a second word."""
    blocks = [replace(block, lines=[replace(line, words=[p for w in line.words for p in _split(w)])
                                    for line in block.lines]) for block in page.blocks]
    return replace(page, blocks=blocks)


def _split(word: Word) -> list[Word]:
    parts = [part for part in _GLUE.split(word.text) if part]
    if len(parts) < 2 or word.text.count(":") > 2:  # times like 12:30:00 stay whole
        return [word]
    x0, y0, x1, y1 = word.bbox
    per_char = (x1 - x0) / max(len(word.text), 1)
    words, start = [], x0
    for part in parts:
        end = start + per_char * len(part)
        words.append(Word(part, (start, y0, end, y1), word.confidence))
        start = end
    return words

