"""PPTX → Document with python-pptx: one page per slide, shapes in reading order.

A shape python-pptx cannot read (a type it does not know, a damaged part) is
skipped, and a slide that cannot be read at all is left out with a warning:
the rest of the presentation still converts.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from pptx import Presentation
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.shapes.group import GroupShape

from shared.files.failures import is_damage
from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.document import Document, Page

log = logging.getLogger(__name__)

_TITLES = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE}


def convert_pptx(data: bytes) -> Document:
    presentation = Presentation(io.BytesIO(data))
    document = Document(pages=[], file_type="pptx")
    for number, slide in enumerate(presentation.slides, start=1):
        try:
            document.pages.append(_slide(number, slide))
        except Exception as exc:
            if not is_damage(exc):
                raise
            log.warning("slide %d left out: %s: %s", number, type(exc).__name__, exc)
            document.warnings.append(f"Slide {number} could not be read and was left out.")
    return document


def _slide(number: int, slide: Any) -> Page:
    flow = FlowPage(number, label=f"slide {number}")
    for shape in _reading_order(slide.shapes):
        _shape(flow, shape)
    return flow.page()


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda shape: (int(shape.top or 0), int(shape.left or 0)))


def _shape(flow: FlowPage, shape: Any) -> None:
    try:
        _read_shape(flow, shape)
    except Exception as exc:
        if not is_damage(exc):
            raise
        log.info("shape %r skipped: %s: %s", getattr(shape, "name", "?"), type(exc).__name__, exc)


def _read_shape(flow: FlowPage, shape: Any) -> None:
    # `shape.shape_type` raises for shapes python-pptx does not recognise: not asked here.
    if isinstance(shape, GroupShape):
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
