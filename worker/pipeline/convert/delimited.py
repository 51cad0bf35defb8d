"""CSV → Document: one table, the delimiter sniffed, the first row as header."""

from __future__ import annotations

import csv
import io

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.text import decode_text
from worker.pipeline.document import Document

MAX_ROWS = 100_000
SNIFF_BYTES = 16 * 1024


def convert_csv(data: bytes) -> Document:
    text = decode_text(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:SNIFF_BYTES], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    csv.field_size_limit(10 * 1024 * 1024)
    for row in csv.reader(io.StringIO(text), dialect):
        rows.append(row)
        if len(rows) >= MAX_ROWS:
            break
    flow = FlowPage(1)
    flow.add_table(rows)
    return Document(pages=[flow.page()], file_type="csv")
