"""A PDF page's structure: ruled tables from their lines, the layout model only where needed.

The model (`pymupdf.layout`, the one `find_tables` runs) costs ~0.3 s a page. A
page that is one column of text gains nothing from it: its order is the text
layer's and its headings come from font statistics (`layout.classify_blocks`).
Ruled tables are read from their lines (`pdf_tables`, milliseconds, merged cells
included). Only a page whose text, outside those tables, still stands side by
side in two or more rows (columns, tables without rules) or in rows with wide
gaps is read through the model: its boxes give the reading order (columns
included), the kind of each block (title and section headers, list items,
tables) and, for tables without rules, a grid of rows and columns that the
page's own words (already in logical order) are sorted into.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.files.failures import is_damage
from worker.pipeline.convert.pdf_tables import (
    RuledTable,
    place_tables,
    ruled_tables,
    table_cells,
    table_from_cells,
)
from worker.pipeline.convert.pdf_text import is_marker, union
from worker.pipeline.document import BBox, Block, BlockKind, Line, Page, table_block

log = logging.getLogger(__name__)

MIN_RULES = 4
"""Straight lines or rectangles that could rule a table."""
MIN_ALIGNED_ROWS = 3
"""Lines with a wide inner gap (table columns without rules) that make a page worth the model."""
MIN_SIDE_BY_SIDE_ROWS = 2
"""Rows with lines beside each other that make a page worth the model (columns, a table)."""
MARGIN = 0.1
"""Top and bottom share of a page where a left/right pair is a running header or footer."""
KINDS: dict[str, BlockKind] = {"title": "heading", "section-header": "heading",
                               "list-item": "list_item", "table": "table"}


def structure_page(page: Any, converted: Page, table_format: str = "markdown", *,
                   model: bool = True) -> None:
    """Tables, columns and block kinds for a text page, as cheaply as the page allows.

    Ruled tables come from their lines. The model runs only where text outside them
    still stands side by side (columns, tables without rules), and only if `model`
    (False once the page has used its time budget).
    """
    tables = [table for table in (ruled_tables(page) if _has_rules(page) else [])
              if _is_table(table, converted)]
    outside = [line for line in converted.lines() if not any(t.holds(line.bbox) for t in tables)]
    if model and _side_by_side(outside, converted.height):
        apply_layout(page, converted, tables, table_format)
    elif tables:
        place_tables(converted, tables, table_format)


def apply_layout(page: Any, converted: Page, tables: list[RuledTable] | None = None,
                 table_format: str = "markdown") -> None:
    """Rebuild `converted.blocks` from the model's boxes, in the model's reading order.

    `tables` (ruled, from their lines) replace whatever the model made of their area:
    their cells and merged cells are exact where the model's grid is a guess.
    """
    try:
        page.get_layout(return_raw=True)
        boxes = [box for box in (page.layout_information or [])
                 if box["group_bbox"][2] - box["group_bbox"][0] > 2
                 and box["group_bbox"][3] - box["group_bbox"][1] > 2]
    except Exception as exc:  # a model failure must not cost the page its text
        if not is_damage(exc):
            raise  # out of time or memory: the job's limit, not this page's
        log.warning("layout analysis failed on page %d", converted.number, exc_info=True)
        boxes = []
    finally:
        page.layout_information = None
    if boxes:
        converted.blocks = _blocks_from_boxes(converted, boxes, tables or [], table_format)
    elif tables:
        place_tables(converted, tables, table_format)


def _blocks_from_boxes(converted: Page, boxes: list[dict[str, Any]], tables: list[RuledTable],
                       table_format: str) -> list[Block]:
    every = [line for block in converted.blocks for line in block.lines]
    in_table = [next((i for i, t in enumerate(tables) if t.holds(line.bbox)), None)
                for line in every]
    lines = [line for line, table in zip(every, in_table, strict=True) if table is None]
    owner = [_owner(line.bbox, boxes) for line in lines]
    pending = {index: table for index, table in enumerate(tables)
               if any(owned == index for owned in in_table)}
    blocks: list[Block] = []
    for index, box in enumerate(boxes):
        for number, table in list(pending.items()):
            if _centre_in(table.bbox, box["group_bbox"]):
                blocks.append(_ruled_block(table, every, in_table, number, table_format))
                del pending[number]
        mine = [line for line, owned in zip(lines, owner, strict=True) if owned == index]
        if mine:
            blocks += _box_blocks(box, mine)
    orphans = [Block(kind="paragraph", lines=[line], bbox=line.bbox)
               for line, owned in zip(lines, owner, strict=True) if owned is None]
    orphans += [_ruled_block(table, every, in_table, number, table_format)
                for number, table in pending.items()]
    for orphan in orphans:  # what the model put in no box still belongs to the page
        top = orphan.bbox[1] if orphan.bbox else 0.0
        at = next((i for i, b in enumerate(blocks) if b.bbox and b.bbox[1] > top), len(blocks))
        blocks.insert(at, orphan)
    return blocks


def _ruled_block(table: RuledTable, every: list[Line], in_table: list[int | None], number: int,
                 table_format: str) -> Block:
    lines = [line for line, owned in zip(every, in_table, strict=True) if owned == number]
    return table_from_cells(table_cells(table, lines), lines, table.bbox, table_format)


def _centre_in(inner: BBox, outer: list[float]) -> bool:
    x, y = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]


def _is_table(table: RuledTable, converted: Page) -> bool:
    """Text in at least two rows and two columns: a ruled frame around a paragraph is none."""
    rows: set[int] = set()
    cols: set[int] = set()
    lines = [line for line in converted.lines() if table.holds(line.bbox)]
    for cell in table_cells(table, lines):
        if cell.text.strip():
            rows.add(cell.row)
            cols.add(cell.col)
    return len(rows) >= 2 and len(cols) >= 2


def _box_blocks(box: dict[str, Any], lines: list[Line]) -> list[Block]:
    kind = KINDS.get(box["class_name"], "paragraph")
    bbox = union([line.bbox for line in lines])
    grid = box.get("table_grid")
    if kind == "table":
        table = _grid_table(box["group_bbox"], grid, lines) if grid is not None else None
        if table is not None:
            return [table]
        kind = "paragraph"
    return [Block(kind=kind, lines=lines, bbox=bbox)]


def _owner(bbox: BBox, boxes: list[dict[str, Any]]) -> int | None:
    """The box holding the line's centre; of several, the smallest (a cell beats its page)."""
    x, y = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    best, best_area = None, float("inf")
    for index, box in enumerate(boxes):
        x0, y0, x1, y1 = box["group_bbox"]
        area = (x1 - x0) * (y1 - y0)
        if x0 - 1 <= x <= x1 + 1 and y0 - 1 <= y <= y1 + 1 and area < best_area:
            best, best_area = index, area
    return best


def _grid_table(bbox: list[float], grid: Any, lines: list[Line]) -> Block | None:
    """Rows and columns from the model's grid; each word goes to the cell holding its centre."""
    x0, y0, x1, y1 = bbox
    rows_at = [y0, *(y0 + h for h in grid.h_lines), y1]
    cols_at = [x0, *(x0 + v for v in grid.v_lines), x1]
    if len(rows_at) < 3 or len(cols_at) < 3:
        return None
    cells: list[list[list[str]]] = [[[] for _ in cols_at[1:]] for _ in rows_at[1:]]
    for line in lines:
        for word in line.words:
            cx, cy = (word.bbox[0] + word.bbox[2]) / 2, (word.bbox[1] + word.bbox[3]) / 2
            cells[_slot(rows_at, cy)][_slot(cols_at, cx)].append(word.text)
    rows = [[" ".join(cell) for cell in row] for row in cells]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return None
    return table_block(rows, lines=lines, bbox=(x0, y0, x1, y1))


def _slot(edges: list[float], value: float) -> int:
    """Index of the interval between `edges` holding `value` (clamped to the first/last)."""
    for index in range(1, len(edges) - 1):
        if value < edges[index]:
            return index - 1
    return len(edges) - 2


def _has_rules(page: Any) -> bool:
    rules = 0
    for path in page.get_cdrawings():
        for item in path.get("items", ()):
            if item[0] in ("l", "re", "qu"):
                rules += 1
                if rules >= MIN_RULES:
                    return True
    return False


def _side_by_side(lines: list[Line], height: float) -> bool:
    """Text in columns or table cells: rows with wide gaps, or lines beside each other in
    at least two rows of the body (one row is a header or footer set left and right)."""
    lines = sorted(lines, key=lambda line: line.bbox[1])
    if sum(1 for line in lines if _has_wide_gap(line)) >= MIN_ALIGNED_ROWS:
        return True
    top, bottom = height * MARGIN, height * (1 - MARGIN)
    rows: list[float] = []  # the tops of rows holding lines side by side
    for index, line in enumerate(lines):  # a sweep down the page: only lines that overlap in y
        if not top <= line.bbox[1] <= bottom:
            continue
        for other in lines[index + 1:]:
            if other.bbox[1] >= line.bbox[3]:
                break
            if other.bbox[0] >= line.bbox[2] or line.bbox[0] >= other.bbox[2]:
                if not rows or line.bbox[1] - rows[-1] > (line.bbox[3] - line.bbox[1]) / 2:
                    rows.append(line.bbox[1])
                if len(rows) >= MIN_SIDE_BY_SIDE_ROWS:
                    return True
                break
    return False


def _has_wide_gap(line: Line) -> bool:
    height = line.bbox[3] - line.bbox[1]
    words = line.words
    if words and (words[0].text == "•" or is_marker(words[0].text)):
        words = words[1:]  # a list item's hanging indent is no table column
    return any(b.bbox[0] - a.bbox[2] > 2 * height for a, b in zip(words, words[1:], strict=False))
