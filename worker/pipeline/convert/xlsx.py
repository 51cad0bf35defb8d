"""XLSX → Document with openpyxl: one page per worksheet, headed by its name.

A sheet often holds several tables side by side or one under another: each block of
cells connected through non-empty neighbours becomes a table of its own.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.document import Document

# A sheet is cut at this many rows: beyond it the markdown stops being readable anyway.
MAX_ROWS = 10_000
MAX_COLUMNS = 200


def convert_xlsx(data: bytes) -> Document:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        pages = []
        for number, sheet in enumerate(workbook.worksheets, start=1):
            flow = FlowPage(number, label=sheet.title)
            flow.add_text(sheet.title, kind="heading", level=2)
            for table in regions(_rows(sheet)):
                flow.add_table(table)
            pages.append(flow.page())
    finally:
        workbook.close()
    return Document(pages=pages, file_type="xlsx")


def _rows(sheet: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for values in sheet.iter_rows(max_row=MAX_ROWS, max_col=MAX_COLUMNS, values_only=True):
        rows.append([_text(value) for value in values])
    while rows and not any(rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(row) if v), default=0) for row in rows), default=0)
    return [row[:width] for row in rows]


def regions(rows: list[list[str]]) -> list[list[list[str]]]:
    """The tables in a grid: blocks of non-empty cells connected side to side, top to bottom,
    each cut to its bounding box, in reading order (by first row, then first column)."""
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
    return [[row[left:right + 1] for row in padded[top:bottom + 1]]
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
