"""Ruled tables in PDF pages (PyMuPDF `find_tables`), placed among the text blocks.

`find_tables` costs ~150 ms a page, so it only runs where the page draws enough
straight lines or rectangles to rule a grid.
"""

from __future__ import annotations

import logging
from typing import Any

from worker.pipeline.document import Block, Line, Page, table_block

log = logging.getLogger(__name__)

MIN_RULES = 4


def find_table_blocks(page: Any, converted: Page) -> list[Block]:
    """Table blocks for `page`; the words they cover are moved out of the text blocks."""
    if not _has_rules(page):
        return []
    try:
        found = page.find_tables().tables
    except Exception:  # a malformed drawing must not cost the page its text
        log.warning("table detection failed on page %d", converted.number, exc_info=True)
        return []
    tables: list[Block] = []
    for table in found:
        rows = [[" ".join((cell or "").split()) for cell in row] for row in table.extract()]
        if len(rows) < 2 or max(len(row) for row in rows) < 2:
            continue
        bbox = tuple(float(v) for v in table.bbox)
        lines = _take_lines_inside(converted, bbox)  # type: ignore[arg-type]
        tables.append(table_block(rows, lines=lines, bbox=bbox))  # type: ignore[arg-type]
    return tables


def place_tables(blocks: list[Block], tables: list[Block]) -> list[Block]:
    """Insert each table before the first remaining text block that starts below it."""
    blocks = [block for block in blocks if block.lines]
    for table in sorted(tables, key=lambda block: block.bbox[1] if block.bbox else 0.0):
        top = table.bbox[1] if table.bbox else 0.0
        index = next((i for i, block in enumerate(blocks)
                      if block.bbox is not None and block.bbox[1] >= top and block.kind != "table"),
                     len(blocks))
        blocks.insert(index, table)
    return blocks


def _has_rules(page: Any) -> bool:
    rules = 0
    for path in page.get_cdrawings():
        for item in path.get("items", ()):
            if item[0] in ("l", "re", "qu"):
                rules += 1
                if rules >= MIN_RULES:
                    return True
    return False


def _take_lines_inside(page: Page, bbox: tuple[float, float, float, float]) -> list[Line]:
    taken: list[Line] = []
    for block in page.blocks:
        kept: list[Line] = []
        for line in block.lines:
            centre_x = (line.bbox[0] + line.bbox[2]) / 2
            centre_y = (line.bbox[1] + line.bbox[3]) / 2
            inside = bbox[0] <= centre_x <= bbox[2] and bbox[1] <= centre_y <= bbox[3]
            (taken if inside else kept).append(line)
        if len(kept) != len(block.lines):
            block.lines = kept
            block.bbox = _union([line.bbox for line in kept]) if kept else None
    return taken


def _union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
