"""A whole-document reading that field candidates are drawn from.

Built once per extraction from the indexed pages: every cell with its box and
neighbours, vertical stacks of cells (the blocks a reader sees: a letterhead, an
address, a label over its value), the document's language, whether it writes the
day first, and its currency evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from worker.pipeline.document import BBox
from worker.pipeline.extract.index import PageIndex
from worker.pipeline.extract.layout import Cell, overlaps_x
from worker.pipeline.extract.vocabulary import (
    CURRENCY_PATTERNS,
    DAY_FIRST_CURRENCIES,
    LANGUAGE_WORDS,
    squash,
)

_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?!\d)")


@dataclass
class Fragment:
    """One cell of one visual row, with where it sits on its page (0–1 from the top/left)."""

    text: str
    bbox: BBox
    page: int
    row: int
    top: float
    left: float
    ocr: float = 1.0
    """The reader's least confident word in the cell (1.0 for a text layer)."""
    above: list[Fragment] = field(default_factory=list)
    """Cells of earlier rows that overlap this one horizontally, nearest first."""
    before: list[Fragment] = field(default_factory=list)
    """Cells left of this one in its row, nearest first."""

    @property
    def height(self) -> float:
        return max(self.bbox[3] - self.bbox[1], 1.0)


@dataclass
class Reading:
    fragments: list[Fragment]
    stacks: list[list[Fragment]]
    language: str | None
    day_first: bool
    currencies: Counter[str]


def read_document(pages: list[PageIndex], default_day_first: bool) -> Reading:
    fragments: list[Fragment] = []
    for index in pages:
        fragments += _page_fragments(index)
    text = "\n".join(f.text for f in fragments)
    language = _language(text)
    currencies = _currencies(text)
    return Reading(fragments, _stacks(fragments), language,
                   _day_first(text, language, currencies, default_day_first), currencies)


def _page_fragments(index: PageIndex) -> list[Fragment]:
    page = index.page
    width, height = max(page.width, 1.0), max(page.height, 1.0)
    rows: list[list[Fragment]] = []
    for r, row in enumerate(index.rows):
        cells = [_fragment(cell, page.number, r, width, height) for cell in row.cells]
        for i, cell in enumerate(cells):
            cell.before = cells[:i][::-1]
        rows.append(cells)
    for r, cells in enumerate(rows):
        for cell in cells:
            cell.above = [other for earlier in reversed(rows[max(0, r - 4):r]) for other in earlier
                          if overlaps_x(other.bbox, cell.bbox)]
    return [cell for cells in rows for cell in cells]


def _fragment(cell: Cell, page: int, row: int, width: float, height: float) -> Fragment:
    box = cell.bbox
    ocr = min((word.confidence for word in cell.words), default=1.0)
    return Fragment(cell.text, box, page, row, box[1] / height, box[0] / width, ocr)


def _stacks(fragments: list[Fragment]) -> list[list[Fragment]]:
    """Cells chained downwards while they overlap horizontally and sit line under line."""
    stacks: list[list[Fragment]] = []
    for fragment in fragments:
        best = None
        for stack in stacks:
            last = stack[-1]
            gap = fragment.bbox[1] - last.bbox[3]
            if (last.page == fragment.page and last.row < fragment.row
                    and -0.3 * last.height < gap < 1.1 * max(last.height, fragment.height)
                    and overlaps_x(last.bbox, fragment.bbox)
                    and (best is None or last.row > best[-1].row)):
                best = stack
        if best is not None:
            best.append(fragment)
        else:
            stacks.append([fragment])
    return stacks


def _language(text: str) -> str | None:
    squashed = " " + " ".join(squash(word) for word in text.split()) + " "
    flat = squash(text)
    hits = {language: sum(1 for word in words if (squash(word) in flat if len(word) >= 5
                                                  else f" {squash(word)} " in squashed))
            for language, words in LANGUAGE_WORDS.items()}
    # English words run through documents in every language: another language with two
    # marker words is the document's own.
    others = {k: v for k, v in hits.items() if k != "en" and v >= 2}
    if others:
        return max(others, key=lambda language: others[language])
    return "en" if hits["en"] >= 2 else None


def _currencies(text: str) -> Counter[str]:
    lowered = text.lower()
    found: Counter[str] = Counter()
    for pattern, code in CURRENCY_PATTERNS:
        count = len(re.findall(pattern, lowered))
        if count:
            found[code] += count
    if found.get("SGD") and found.get("USD"):
        found["USD"] -= min(found["USD"], found["SGD"])  # "S$" also matched "$"
    return +found


def _day_first(text: str, language: str | None, currencies: Counter[str], default: bool) -> bool:
    """Settled by the document's own dates (a 25/01 or a 01/25), else its language or currency."""
    for match in _NUMERIC_DATE.finditer(text):
        first, second = int(match[1]), int(match[2])
        if first > 12 >= second:
            return True
        if second > 12 >= first:
            return False
    if language is not None and language != "en":
        return True
    if currencies and currencies.most_common(1)[0][0] in DAY_FIRST_CURRENCIES:
        return True
    return default
