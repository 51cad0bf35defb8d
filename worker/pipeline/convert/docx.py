"""DOCX → Document with python-docx: paragraphs and tables in body order, styles as structure."""

from __future__ import annotations

import io
import re
from typing import Any

import docx
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.document import Document

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def convert_docx(data: bytes) -> Document:
    package = docx.Document(io.BytesIO(data))
    flow = FlowPage(1)
    for element in package.element.body.iterchildren():
        if element.tag == f"{_W_NS}p":
            _paragraph(flow, Paragraph(element, package))
        elif element.tag == f"{_W_NS}tbl":
            table = DocxTable(element, package)
            flow.add_table([[cell.text for cell in _unique_cells(row)] for row in table.rows])
    title = package.core_properties.title or None
    return Document(pages=[flow.page()], file_type="docx", title=title)


def _paragraph(flow: FlowPage, paragraph: Paragraph) -> None:
    text = paragraph.text
    if not text.strip():
        return
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    heading = _HEADING_STYLE.match(style)
    if heading:
        flow.add_text(text, kind="heading", level=int(heading.group(1)))
    elif style.lower() == "title":
        flow.add_text(text, kind="heading", level=1)
    elif style.lower().startswith("list") or _has_numbering(paragraph):
        flow.add_text(text, kind="list_item")
    else:
        flow.add_text(text)


def _has_numbering(paragraph: Paragraph) -> bool:
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _unique_cells(row: Any) -> list[Any]:
    """Cells of a row with horizontally merged cells counted once."""
    cells: list[Any] = []
    for cell in row.cells:
        if not cells or cell._tc is not cells[-1]._tc:
            cells.append(cell)
    return cells
