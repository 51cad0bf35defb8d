"""Tables and column order for OCR'd pages, by the same code that structures text pages.

Converters call it on a page their `PageReader` read locally (`source == "ocr"`).

PyMuPDF's table finder and layout model read a PDF page: its text layer, vector
lines and rendered look. An OCR'd page is given one, as OCR'd PDFs are built
(and as `pymupdf.layout` expects OCR to be fed to it): a one-page PDF holding
the scan as its picture, the OCR words as invisible text at their boxes, and
the ruling lines found in the pixels as vector lines. `pdf_layout.structure_page`
then finds ruled tables and rebuilds the page's blocks as it does for a text page.
The layout model (columns) runs only where the OCR'd rows leave the order in doubt
(`ocr_columns`); elsewhere the page needs no picture, only its words and rules.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import cv2
import numpy as np
import pymupdf

from shared.settings import get_settings
from worker.pipeline.convert.ocr_columns import needs_layout_model
from worker.pipeline.convert.pdf_layout import structure_page
from worker.pipeline.document import Page
from worker.pipeline.ocr.engine import Gray
from worker.pipeline.ocr.orientation import rotate

log = logging.getLogger(__name__)

RULE_FRACTION = 0.06
"""A ruling line spans at least this share of the page's width (or height): shorter strokes
are letters, underlines or noise."""
MAX_RULES = 400
INK_THRESHOLD = 160
"""Grey levels darker than this are ink (scans are rarely pure black on white)."""
FONT = "helv"


def structure_ocr_page(page: Page, image: Gray, scale: float, table_format: str = "markdown",
                       *, started: float | None = None) -> None:
    """Rebuild `page.blocks` with tables and reading order, in place; the words stay as read.

    `image` is what the reader was given; it is turned as the reader turned it
    (`page.rotation`) so that pixels and word boxes line up.
    """
    if page.source != "ocr" or not page.blocks:
        return
    begun = started if started is not None else time.perf_counter()
    try:
        upright = rotate(image, page.rotation) if page.rotation % 360 else image
        model = needs_layout_model(page) and \
            time.perf_counter() - begun < get_settings().page_time_limit_s
        with pymupdf.open() as pdf:  # type: ignore[no-untyped-call]
            pdf_page: Any = pdf.new_page(width=page.width, height=page.height)
            if model:
                _draw_scan(pdf_page, upright)
            _draw_rules(pdf_page, upright, scale)
            _write_words(pdf_page, page)
            structure_page(pdf_page, page, table_format, model=model)
    except Exception:  # structure is a bonus: a failure must not cost the page its words
        log.warning("structure of OCR'd page %d failed", page.number, exc_info=True)


def _draw_scan(pdf_page: Any, image: Gray) -> None:
    """The pixels as the page's picture: the layout model's image features look at it."""
    height, width = image.shape[:2]
    pixmap = pymupdf.Pixmap(pymupdf.csGRAY, width, height,  # type: ignore[no-untyped-call]
                            np.ascontiguousarray(image).tobytes(), False)
    pdf_page.insert_image(pdf_page.rect, pixmap=pixmap)


def _draw_rules(pdf_page: Any, image: Gray, scale: float) -> None:
    """Long straight horizontal and vertical strokes in the scan, as vector lines."""
    for x0, y0, x1, y1 in ruling_lines(image)[:MAX_RULES]:
        pdf_page.draw_line((x0 * scale, y0 * scale), (x1 * scale, y1 * scale), width=0.5)


def ruling_lines(image: Gray) -> list[tuple[float, float, float, float]]:
    """Segments (pixels) of horizontal and vertical rules: ink that survives a long opening."""
    height, width = image.shape[:2]
    ink = (image < INK_THRESHOLD).astype(np.uint8)
    segments: list[tuple[float, float, float, float]] = []
    for horizontal in (True, False):
        length = max(int((width if horizontal else height) * RULE_FRACTION), 10)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
        opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
        for left, top, w, h, _area in stats[1:count]:
            if horizontal and h <= max(4, height // 200):
                segments.append((left, top + h / 2, left + w, top + h / 2))
            elif not horizontal and w <= max(4, width // 200):
                segments.append((left + w / 2, top, left + w / 2, top + h))
    return segments


def _write_words(pdf_page: Any, page: Page) -> None:
    """Each OCR word as invisible text filling its box, so the finders see words where they are."""
    writer: Any = pymupdf.TextWriter(pdf_page.rect)  # type: ignore[no-untyped-call]
    font: Any = pymupdf.Font(FONT)  # type: ignore[no-untyped-call]
    for line in page.lines():
        for word in line.words:
            x0, y0, x1, y1 = word.bbox
            height = max(y1 - y0, 1.0)
            unit = font.text_length(word.text, fontsize=1.0) or 1.0
            size = min(max((x1 - x0) / unit, 0.5 * height), 1.2 * height)
            writer.append((x0, y1 - 0.2 * height), word.text, font=font, fontsize=size)
    writer.write_text(pdf_page, render_mode=3)
