"""PDF → Document: PyMuPDF's text layer, its layout model where a page needs it, OCR where text is missing.

`ocr="never"` (`conversion_mode=fast`) is the text layer alone, in content order:
no layout model, no tables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pymupdf

from shared.errors import InvalidFile
from shared.files.failures import CORRUPTED_PDF, is_damage
from shared.files.pdf import open_pdf
from shared.settings import get_settings
from worker.pipeline.convert.layout import classify_blocks
from worker.pipeline.convert.ocr_layout import structure_ocr_page
from worker.pipeline.convert.pdf_layout import structure_page
from worker.pipeline.convert.pdf_text import text_layer_page
from worker.pipeline.document import Document, Page
from worker.pipeline.ocr import PageReader
from worker.pipeline.ocr.engine import Gray

log = logging.getLogger(__name__)

# Fewer letters and digits than this and the page counts as having no text layer.
MIN_TEXT_CHARS = 16
# Rendering for OCR never exceeds this many pixels, whatever the page size claims.
MAX_RENDER_PIXELS = 25_000_000


Progress = Callable[[int, int], None]


def convert_pdf(data: bytes, *, ocr: str = "auto", reader: PageReader | None = None,
                progress: Progress | None = None, table_format: str = "markdown") -> Document:
    """Convert every page; `ocr` is `auto`, `never` or `always` (see `ConversionRequest`);
    `table_format="html"` writes tables with merged cells as HTML (`tables_html`)."""
    with open_pdf(data) as pdf:
        document = _convert_pages(pdf, range(pdf.page_count), ocr, reader, progress,
                                  table_format)
    return _assembled(document)


def convert_pdf_range(data: bytes, start: int, stop: int, *, ocr: str = "auto",
                      reader: PageReader | None = None,
                      table_format: str = "markdown") -> Document:
    """Pages `start` to `stop` (0-based, `stop` excluded) as the whole file numbers them.

    Left unclassified: heading levels depend on every page's fonts, so the ranges are
    put together with `join_pdf_ranges`, which does what `convert_pdf` does last.
    """
    with open_pdf(data) as pdf:
        return _convert_pages(pdf, range(start, min(stop, pdf.page_count)), ocr, reader, None,
                              table_format)


def join_pdf_ranges(ranges: list[Document]) -> Document:
    """One document from ranges in page order, classified as `convert_pdf` classifies."""
    pages = [page for part in ranges for page in part.pages]
    warnings = [warning for part in ranges for warning in part.warnings]
    title = ranges[0].title if ranges else None
    return _assembled(Document(pages=pages, file_type="pdf", title=title, warnings=warnings))


def _convert_pages(pdf: Any, numbers: range, ocr: str, reader: PageReader | None,
                   progress: Progress | None, table_format: str) -> Document:
    """The pages in `numbers` (0-based); a page that cannot be read is left out with a warning.

    Only damage stays within its page: running out of time or memory, or a vision
    model's error, still ends the conversion.
    """
    document = Document(pages=[], file_type="pdf", title=_title(pdf))
    for done, index in enumerate(numbers, start=1):
        try:
            document.pages.append(_convert_page(pdf[index], ocr, reader, table_format))
        except Exception as exc:
            if not is_damage(exc):
                raise
            log.warning("page %d of a PDF left out: %s: %s", index + 1, type(exc).__name__, exc)
            document.warnings.append(f"Page {index + 1} could not be read and was left out.")
        if progress is not None:
            progress(done, len(numbers))
    return document


def _assembled(document: Document) -> Document:
    if not document.pages:  # the checks saw pages, but none of them could be read
        raise InvalidFile(CORRUPTED_PDF)
    classify_blocks(document)
    return document


def _title(pdf: Any) -> str | None:
    title = (pdf.metadata or {}).get("title")
    return title if isinstance(title, str) and title else None


def _convert_page(page: Any, ocr: str, reader: PageReader | None, table_format: str) -> Page:
    started = time.perf_counter()
    limit = get_settings().page_time_limit_s
    text_page = page.get_textpage()
    converted = text_layer_page(page, text_page)
    if reader is not None and _wants_reading(page, converted, ocr):
        image, scale = render_gray(page, get_settings().ocr_dpi)
        read = reader.read(image, number=converted.number, scale=scale)
        if read.rotation % 360:  # OCR turned the page as shown (drawn with its `/Rotate`)
            read.shown = (page.rect.width, page.rect.height)
        structure_ocr_page(read, image, scale, table_format, started=started)  # tables, columns
        return read
    if ocr == "never":
        return converted  # `fast`: the text layer alone
    in_time = time.perf_counter() - started < limit
    if not in_time:
        log.warning("page %d over its time budget: layout analysis skipped", converted.number)
    structure_page(page, converted, table_format, model=in_time)
    return converted


def _wants_reading(page: Any, converted: Page, ocr: str) -> bool:
    if ocr == "always":
        return True
    if _usable_chars(converted) >= MIN_TEXT_CHARS:
        return False
    # Without images or vector paths there is nothing an OCR pass could see.
    return bool(page.get_images(full=False)) or bool(page.get_cdrawings())


def _usable_chars(page: Page) -> int:
    return sum(1 for line in page.lines() for word in line.words for char in word.text
               if char.isalnum())


def render_gray(page: Any, dpi: int) -> tuple[Gray, float]:
    """The page as grayscale pixels, and the points-per-pixel scale of that rendering."""
    rect = page.rect
    zoom = dpi / 72
    area = max(rect.width * rect.height, 1.0)
    zoom = min(zoom, (MAX_RENDER_PIXELS / area) ** 0.5)
    matrix = pymupdf.Matrix(zoom, zoom)  # type: ignore[no-untyped-call]
    pixmap = page.get_pixmap(matrix=matrix, colorspace=pymupdf.csGRAY, alpha=False)
    image = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width)
    return image.copy(), 1 / zoom
