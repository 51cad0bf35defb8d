"""A PDF page's structure from PyMuPDF's layout model, run once, only where a page needs it.

The model (`pymupdf.layout`, the one `find_tables` runs) costs ~0.2 s a page. A
page that is one column of text with no ruling lines and no aligned gaps gains
nothing from it: its order is the text layer's and its headings come from font
statistics (`layout.classify_blocks`). Every other page is read through the
model: its boxes give the reading order (columns included), the kind of each
block (title and section headers, list items, tables, page headers and
footers) and, for tables, a grid of rows and columns, ruled or not, that the
page's own words (already in logical order) are sorted into.
"""

from __future__ import annotations

import logging
from typing import Any

from worker.pipeline.convert.pdf_text import union
from worker.pipeline.document import BBox, Block, BlockKind, Line, Page, table_block

log = logging.getLogger(__name__)

MIN_RULES = 4
"""Straight lines or rectangles that could rule a table."""
MIN_ALIGNED_ROWS = 3
"""Lines with a wide inner gap (table columns without rules) that make a page worth the model."""
KINDS: dict[str, BlockKind] = {"title": "heading", "section-header": "heading",
                               "list-item": "list_item", "table": "table"}


def needs_layout(page: Any, converted: Page) -> bool:
    """Whether the page has what only the model reads well: rules, side-by-side text, columns."""
    return _has_rules(page) or _side_by_side(converted)


def apply_layout(page: Any, converted: Page) -> None:
    """Rebuild `converted.blocks` from the model's boxes, in the model's reading order."""
    try:
        page.get_layout(return_raw=True)
        boxes = [box for box in (page.layout_information or [])
                 if box["group_bbox"][2] - box["group_bbox"][0] > 2
                 and box["group_bbox"][3] - box["group_bbox"][1] > 2]
    except Exception:  # a model failure must not cost the page its text
        log.warning("layout analysis failed on page %d", converted.number, exc_info=True)
        return
    finally:
        page.layout_information = None
    if boxes:
        converted.blocks = _blocks_from_boxes(converted, boxes)


def _blocks_from_boxes(converted: Page, boxes: list[dict[str, Any]]) -> list[Block]:
    lines = [line for block in converted.blocks for line in block.lines]
    owner = [_owner(line.bbox, boxes) for line in lines]
    blocks: list[Block] = []
    for index, box in enumerate(boxes):
        mine = [line for line, owned in zip(lines, owner, strict=True) if owned == index]
        if mine:
            blocks += _box_blocks(box, mine)
    orphans = [line for line, owned in zip(lines, owner, strict=True) if owned is None]
    for line in orphans:  # text the model put in no box still belongs to the page
        at = next((i for i, b in enumerate(blocks) if b.bbox and b.bbox[1] > line.bbox[1]),
                  len(blocks))
        blocks.insert(at, Block(kind="paragraph", lines=[line], bbox=line.bbox))
    return blocks


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


def _side_by_side(converted: Page) -> bool:
    """Text in columns or table cells: lines beside each other, or rows with wide gaps."""
    lines = sorted(converted.lines(), key=lambda line: line.bbox[1])
    if sum(1 for line in lines if _has_wide_gap(line)) >= MIN_ALIGNED_ROWS:
        return True
    for index, line in enumerate(lines):  # a sweep down the page: only lines that overlap in y
        for other in lines[index + 1:]:
            if other.bbox[1] >= line.bbox[3]:
                break
            if other.bbox[0] >= line.bbox[2] or line.bbox[0] >= other.bbox[2]:
                return True
    return False


def _has_wide_gap(line: Line) -> bool:
    height = line.bbox[3] - line.bbox[1]
    words = line.words
    return any(b.bbox[0] - a.bbox[2] > 2 * height for a, b in zip(words, words[1:], strict=False))
