"""XLSX → Document with openpyxl: one page per worksheet, its used range as a table."""

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
            flow.add_table(_rows(sheet))
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
