"""PPTX → Document with python-pptx: one page per slide, shapes in reading order."""

from __future__ import annotations

import io
from typing import Any

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.document import Document

_TITLES = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE}


def convert_pptx(data: bytes) -> Document:
    presentation = Presentation(io.BytesIO(data))
    pages = []
    for number, slide in enumerate(presentation.slides, start=1):
        flow = FlowPage(number, label=f"slide {number}")
        for shape in _reading_order(slide.shapes):
            _shape(flow, shape)
        pages.append(flow.page())
    return Document(pages=pages, file_type="pptx")


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda shape: (int(shape.top or 0), int(shape.left or 0)))


def _shape(flow: FlowPage, shape: Any) -> None:
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        for child in _reading_order(shape.shapes):
            _shape(flow, child)
    elif getattr(shape, "has_table", False) and shape.has_table:
        flow.add_table([[cell.text for cell in row.cells] for row in shape.table.rows])
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        if _is_title(shape):
            flow.add_text(shape.text_frame.text, kind="heading", level=2)
            return
        for paragraph in shape.text_frame.paragraphs:
            text = "".join(run.text for run in paragraph.runs) or paragraph.text
            flow.add_text(text, kind="list_item" if paragraph.level > 0 else "paragraph")


def _is_title(shape: Any) -> bool:
    return bool(shape.is_placeholder and shape.placeholder_format.type in _TITLES)
