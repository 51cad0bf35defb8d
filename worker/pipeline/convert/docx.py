"""DOCX → Document with python-docx: paragraphs and tables in body order, styles as structure."""

from __future__ import annotations

import io
import re
from typing import Any

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.document import Document

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _R, _HYPERLINK = f"{_W_NS}p", f"{_W_NS}r", f"{_W_NS}hyperlink"
_RUN_CONTENT = tuple(f"{_W_NS}{tag}" for tag in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab"))


def convert_docx(data: bytes) -> Document:
    package = docx.Document(io.BytesIO(data))
    flow = FlowPage(1)
    styles = _StyleNames(package)
    for element in package.element.body.iterchildren():
        if element.tag == _P:
            _paragraph(flow, Paragraph(element, package), styles)
        elif element.tag == f"{_W_NS}tbl":
            table = DocxTable(element, package)
            flow.add_table([[_cell_text(cell) for cell in _unique_cells(row)] for row in table.rows])
    title = package.core_properties.title or None
    return Document(pages=[flow.page()], file_type="docx", title=title)


class _StyleNames:
    """Paragraph style names by style id, each looked up once.

    python-docx's `Paragraph.style` scans every style of the document on each call
    (~1 ms): for a document of 200,000 paragraphs that alone took minutes.
    """

    def __init__(self, package: Any) -> None:
        self.package = package
        self.names: dict[str | None, str] = {}

    def of(self, paragraph: Paragraph) -> str:
        style_id = paragraph._p.style
        if style_id not in self.names:
            style = self.package.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
            self.names[style_id] = (style.name if style is not None else "") or ""
        return self.names[style_id]


def _paragraph(flow: FlowPage, paragraph: Paragraph, styles: _StyleNames) -> None:
    text = _text(paragraph._p)
    if not text.strip():
        return
    style = styles.of(paragraph)
    heading = _HEADING_STYLE.match(style)
    if heading:
        flow.add_text(text, kind="heading", level=int(heading.group(1)))
    elif style.lower() == "title":
        flow.add_text(text, kind="heading", level=1)
    elif style.lower().startswith("list") or _has_numbering(paragraph):
        flow.add_text(text, kind="list_item")
    else:
        flow.add_text(text)


def _text(paragraph: Any) -> str:
    """python-docx's `Paragraph.text`, without its XPath query per paragraph and run (~50 µs
    each, most of the time a long document took)."""
    parts: list[str] = []
    for child in paragraph.iterchildren(_R, _HYPERLINK):
        for run in [child] if child.tag == _R else child.iterchildren(_R):
            parts += [str(element) for element in run.iterchildren(*_RUN_CONTENT)]
    return "".join(parts)


def _cell_text(cell: Any) -> str:
    return "\n".join(_text(paragraph) for paragraph in cell._tc.iterchildren(_P))


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
