"""Tables drawn with ruling lines, found from the lines alone (no layout model).

PyMuPDF's line-based table finder (`find_tables(use_layout=False)`) reads a ruled
table's cells from its vector lines in a few milliseconds, where the layout model
costs ~0.3 s a page; it also sees merged cells (a cell whose rectangle covers
several grid slots), which the model's grid does not. A page whose only structure
is ruled tables therefore needs no model: the tables are placed among the text
layer's blocks by position. Cells are filled with the page's own words (already in
logical order for right-to-left text), each word in the cell holding its centre.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from shared.files.failures import is_damage
from worker.pipeline.convert.tables_html import GridCell, filled_rows, html_if_merged
from worker.pipeline.document import BBox, Block, Line, Page, Word, table_block

log = logging.getLogger(__name__)

EDGE_TOLERANCE = 1.5
"""Points within which cell edges are the same grid line."""


@dataclass(frozen=True)
class RuledTable:
    bbox: BBox
    cells: list[tuple[BBox, int, int, int, int]]
    """Each cell's rectangle and its (row, col, rowspan, colspan) in the grid."""

    def holds(self, box: BBox) -> bool:
        x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        x0, y0, x1, y1 = self.bbox
        return x0 <= x <= x1 and y0 <= y <= y1


def ruled_tables(page: Any) -> list[RuledTable]:
    """The page's tables with at least two rows and two columns of ruled cells."""
    try:
        found = page.find_tables(use_layout=False)
    except Exception as exc:  # the finder failing costs the page its tables, not its text
        if not is_damage(exc):
            raise  # out of time or memory: the job's limit, not this page's
        log.warning("table finder failed on page %d", page.number + 1, exc_info=True)
        return []
    tables = []
    for table in found.tables:
        cells = [tuple(cell) for cell in table.cells if cell is not None]
        grid = _grid(cells)
        if grid is not None:
            tables.append(RuledTable(bbox=tuple(table.bbox), cells=grid))
    return tables


def _grid(cells: list[tuple[float, ...]]) -> list[tuple[BBox, int, int, int, int]] | None:
    xs = _edges([edge for cell in cells for edge in (cell[0], cell[2])])
    ys = _edges([edge for cell in cells for edge in (cell[1], cell[3])])
    if len(xs) < 3 or len(ys) < 3:  # fewer than two columns or two rows: a frame, not a table
        return None
    grid = []
    for x0, y0, x1, y1 in cells:
        col, col_end, row, row_end = _at(xs, x0), _at(xs, x1), _at(ys, y0), _at(ys, y1)
        if col_end > col and row_end > row:
            grid.append(((x0, y0, x1, y1), row, col, row_end - row, col_end - col))
    return grid or None


def _edges(values: list[float]) -> list[float]:
    edges: list[float] = []
    for value in sorted(values):
        if not edges or value - edges[-1] > EDGE_TOLERANCE:
            edges.append(value)
    return edges


def _at(edges: list[float], value: float) -> int:
    return min(range(len(edges)), key=lambda index: abs(edges[index] - value))


def table_cells(table: RuledTable, lines: list[Line]) -> list[GridCell]:
    """The table's cells filled with the words of `lines` whose centre they hold."""
    texts: list[list[list[Word]]] = [[] for _ in table.cells]
    for line in lines:
        for word in line.words:
            index = _cell_of(table, word.bbox)
            if index is not None:
                if texts[index] and _new_line(texts[index][-1][-1], word):
                    texts[index].append([])
                if not texts[index]:
                    texts[index].append([])
                texts[index][-1].append(word)
    return [GridCell(text="\n".join(" ".join(w.text for w in row) for row in text),
                     row=row, col=col, rowspan=rowspan, colspan=colspan, header=row == 0)
            for (_, row, col, rowspan, colspan), text in zip(table.cells, texts, strict=True)]


def _cell_of(table: RuledTable, box: BBox) -> int | None:
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for index, ((x0, y0, x1, y1), *_) in enumerate(table.cells):
        if x0 <= x <= x1 and y0 <= y <= y1:
            return index
    return None


def _new_line(previous: Word, word: Word) -> bool:
    return word.bbox[1] >= previous.bbox[3] - 1


def place_tables(converted: Page, tables: list[RuledTable], table_format: str) -> None:
    """Replace the lines inside each table by one table block, where the table stands."""
    blocks: list[Block] = []
    inside: dict[int, list[Line]] = {index: [] for index in range(len(tables))}
    for block in converted.blocks:
        rest: list[Line] = []
        for line in block.lines:
            owner = next((i for i, table in enumerate(tables) if table.holds(line.bbox)), None)
            (inside[owner] if owner is not None else rest).append(line)
        if len(rest) != len(block.lines):
            block = Block(kind=block.kind, lines=rest, level=block.level,
                          bbox=_union([line.bbox for line in rest]) if rest else None)
        if block.lines:
            blocks.append(block)
    for index, table in enumerate(tables):
        lines = inside[index]
        if not lines:
            continue
        built = table_from_cells(table_cells(table, lines), lines, table.bbox, table_format)
        at = next((i for i, b in enumerate(blocks) if b.bbox and b.bbox[1] > table.bbox[1]),
                  len(blocks))
        blocks.insert(at, built)
    converted.blocks = blocks


def table_from_cells(cells: list[GridCell], lines: list[Line], bbox: BBox,
                     table_format: str) -> Block:
    """A table block: merged cells repeated in the rows; HTML as its markdown where asked."""
    block = table_block(filled_rows(cells), lines=lines, bbox=bbox)
    block.markdown = html_if_merged(cells, table_format)
    return block


def _union(boxes: list[BBox]) -> BBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
