"""XLSX → Document with openpyxl: one page per visible worksheet, headed by its name.

A sheet often holds several tables side by side or one under another: each block of
cells connected through non-empty neighbours becomes a table of its own. A merged
range repeats its value in every cell it covers. Pictures (placeholders with their alt
text) and charts (type, title and cached data as a table) sit among the tables by the
cell they are anchored at; cell comments follow, as items. Hidden sheets are left out,
as Excel shows them (unless every sheet is hidden).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.inline import Inline
from worker.pipeline.convert.xlsx_parts import (
    Cell,
    Comment,
    Drawing,
    SheetParts,
    range_reader,
    sheet_parts,
)
from worker.pipeline.document import Document, Page

# A sheet is cut at this many rows: beyond it the markdown stops being readable anyway.
MAX_ROWS = 10_000
MAX_COLUMNS = 200


def convert_xlsx(data: bytes) -> Document:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = [s for s in workbook.worksheets if s.sheet_state == "visible"] or workbook.worksheets
        document = Document(pages=[], file_type="xlsx")
        for number, sheet in enumerate(sheets, start=1):
            rows = _rows(sheet)
            parts = sheet_parts(workbook._archive, sheet._worksheet_path.lstrip("/"),
                                range_reader(sheet.title, rows))
            document.pages.append(_sheet(number, sheet.title, rows, parts))
            document.warnings += [f"The {what} of sheet {sheet.title} could not be read and were "
                                  "left out." for what in dict.fromkeys(parts.warnings)]
    finally:
        workbook.close()
    return document


def _sheet(number: int, title: str, rows: list[list[str]], parts: SheetParts) -> Page:
    flow = FlowPage(number, label=title)
    flow.add_text(title, kind="heading", level=2)
    tables: list[tuple[Cell, list[list[str]] | Drawing]] = list(
        located_regions(merged_filled([list(row) for row in rows], parts.merged)))
    for (_, item) in sorted(tables + [(drawing.cell, drawing) for drawing in parts.drawings],
                            key=lambda pair: pair[0]):
        if isinstance(item, Drawing):
            _drawing(flow, item)
        else:
            flow.add_table(item)
    for comment in parts.comments:
        flow.add_text(_comment(comment), kind="list_item")
    return flow.page()


def _drawing(flow: FlowPage, drawing: Drawing) -> None:
    if drawing.chart is None:
        inline = Inline()
        inline.image(drawing.alt)
        inline.into(flow)
        return
    chart = drawing.chart
    caption = f"{chart.kind} chart" if chart.kind else "Chart"
    flow.add_text(f"{caption}: {chart.title}" if chart.title else caption)
    flow.add_table(chart.rows)


def _comment(comment: Comment) -> str:
    by = ", ".join(part for part in (comment.cell, comment.author, comment.time) if part)
    return f"{by}: {comment.text}" if by else comment.text


def _rows(sheet: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for values in sheet.iter_rows(max_row=MAX_ROWS, max_col=MAX_COLUMNS, values_only=True):
        rows.append([_text(value) for value in values])
    while rows and not any(rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(row) if v), default=0) for row in rows), default=0)
    return [row[:width] for row in rows]


def merged_filled(rows: list[list[str]], merged: list[tuple[Cell, Cell]]) -> list[list[str]]:
    """The grid with each merged range's value (its top-left cell's) in every cell it covers,
    within the grid's extent. Ranges do not overlap in a valid file, so at most one grid's
    worth of cells is written; a file whose ranges claim more stops there."""
    width = max((len(row) for row in rows), default=0)
    budget = len(rows) * width
    for (top, left), (bottom, right) in merged:
        if not (0 <= top < len(rows) and 0 <= left < len(rows[top]) and rows[top][left]):
            continue
        bottom, right = min(bottom, len(rows) - 1), min(right, width - 1)
        budget -= (bottom - top + 1) * (right - left + 1)
        if budget < 0:
            break
        for r in range(top, bottom + 1):
            rows[r] += [""] * (right + 1 - len(rows[r]))
            for c in range(left, right + 1):
                rows[r][c] = rows[top][left]
    return rows


def regions(rows: list[list[str]]) -> list[list[list[str]]]:
    """The tables in a grid (see `located_regions`), without their positions."""
    return [table for _, table in located_regions(rows)]


def located_regions(rows: list[list[str]]) -> list[tuple[Cell, list[list[str]]]]:
    """The tables in a grid with their top-left cells: blocks of non-empty cells connected side
    to side, top to bottom, each cut to its bounding box, in reading order (by first row, then
    first column)."""
    filled = {(r, c) for r, row in enumerate(rows) for c, value in enumerate(row) if value.strip()}
    boxes = []
    while filled:
        stack = [min(filled)]
        filled.discard(stack[0])
        top, left, bottom, right = stack[0][0], stack[0][1], stack[0][0], stack[0][1]
        while stack:
            r, c = stack.pop()
            top, left, bottom, right = min(top, r), min(left, c), max(bottom, r), max(right, c)
            for neighbour in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if neighbour in filled:
                    filled.discard(neighbour)
                    stack.append(neighbour)
        boxes.append((top, left, bottom, right))
    width = max((len(row) for row in rows), default=0)
    padded = [row + [""] * (width - len(row)) for row in rows]
    return [((top, left), [row[left:right + 1] for row in padded[top:bottom + 1]])
            for top, left, bottom, right in sorted(boxes)]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
