"""Whether an OCR'd page's order is ambiguous enough to need the layout model, from its word boxes.

The layout model costs ~0.3 s a page, a third of reading it. OCR lines come back
already in row order (`ocr.page`): top to bottom, left to right within a row. That
order is right for a single column of text, for rows of a label and its value
(receipts, invoice headers and totals) and for the rows of a table; the model adds
nothing to it there (it may even split a price off its item). It is wrong where
columns of running text stand side by side: row order would interleave them. Only
such pages go through the model. Ruled tables are found from their lines either way;
a table without rules keeps its rows, each read left to right, as text.
"""

from __future__ import annotations

from worker.pipeline.document import Line, Page

MIN_ROWS = 3
"""Rows of columns side by side that make a page worth the model (one or two are a header)."""
PROSE_WIDTH = 0.25
"""A line at least this share of the page wide, of `PROSE_WORDS` or more, is running text."""
PROSE_WORDS = 3


def needs_layout_model(page: Page) -> bool:
    """True when two or more lines of running text stand side by side in `MIN_ROWS` rows."""
    rows = 0
    for row in _rows(page.lines()):
        if sum(1 for line in row if _is_prose(line, page.width)) >= 2:
            rows += 1
            if rows >= MIN_ROWS:
                return True
    return False


def _rows(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped by vertical overlap of their centres, top to bottom."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=_centre):
        if rows and _centre(line) - _centre(rows[-1][0]) <= 0.5 * _height(rows[-1][0]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return rows


def _is_prose(line: Line, page_width: float) -> bool:
    return len(line.words) >= PROSE_WORDS and line.bbox[2] - line.bbox[0] >= PROSE_WIDTH * page_width


def _centre(line: Line) -> float:
    return (line.bbox[1] + line.bbox[3]) / 2


def _height(line: Line) -> float:
    return max(line.bbox[3] - line.bbox[1], 1.0)
