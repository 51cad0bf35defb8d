"""Converters: file bytes → `Document`, one module per family of formats.

`convert_document` is the single entry the pipeline calls. It re-runs the
up-front file checks first: files uploaded by presigned URL never passed the
API's, and a worker must not trust bytes it did not inspect. Whatever a parser
raises on a file that passed them becomes the documented 400 or 413 through the
same mapping the checks use (`shared.files.failures.reading`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidFile
from shared.files.checks import inspect_file
from shared.files.failures import reading
from shared.files.kinds import IMAGE_KINDS
from worker.pipeline.convert.delimited import convert_csv
from worker.pipeline.convert.docx import convert_docx
from worker.pipeline.convert.eml import convert_eml
from worker.pipeline.convert.html import convert_html
from worker.pipeline.convert.image import convert_image
from worker.pipeline.convert.msg import convert_msg
from worker.pipeline.convert.odf import convert_odf
from worker.pipeline.convert.pdf import Progress, convert_pdf
from worker.pipeline.convert.pptx import convert_pptx
from worker.pipeline.convert.text import convert_markdown, convert_text
from worker.pipeline.convert.xlsx import convert_xlsx
from worker.pipeline.document import Document
from worker.pipeline.ocr import PageReader, page_reader_for

# An e-mail attached to an e-mail attached to …: deeper than this is refused.
MAX_NESTING = 3


@dataclass(frozen=True)
class ConversionRequest:
    data: bytes
    file_name: str
    content_type: str | None
    ocr: str = "auto"
    """`auto`: OCR pages without a text layer; `never`: text layer only; `always`: OCR every page."""
    ocr_model: dict[str, Any] | None = None
    """A vision LLM (job options' `ocr`, else `llm`, else the server default) to transcribe pages."""
    progress: Progress | None = None
    """Told (pages done, pages total) as pages of a paged document are converted."""
    table_format: str = "markdown"
    """`html`: tables with merged cells as HTML `<table>`s with spans (`tables_html`)."""
    ocr_lang: str | None = None
    """The language local OCR reads (`shared.jobs.ocr_lang`); None: the default model."""


def convert_document(request: ConversionRequest) -> Document:
    reader = page_reader_for(request.ocr, request.ocr_model, request.ocr_lang)
    return _convert(request.data, request.file_name, request.content_type, request.ocr, reader, 0,
                    request.progress, request.table_format)


def _convert(data: bytes, file_name: str, content_type: str | None, ocr: str,
             reader: PageReader | None, depth: int, progress: Progress | None = None,
             table_format: str = "markdown") -> Document:
    info = inspect_file(data, file_name, content_type)
    with reading(info.kind):
        return _parsed(data, info.kind, ocr, reader, depth, progress, table_format)


def _parsed(data: bytes, kind: str, ocr: str, reader: PageReader | None, depth: int,
            progress: Progress | None, table_format: str) -> Document:
    if kind == "pdf":
        return convert_pdf(data, ocr=ocr, reader=reader, progress=progress,
                           table_format=table_format)
    if kind in IMAGE_KINDS:
        return convert_image(data, kind, reader=reader, table_format=table_format)
    if kind in ("eml", "msg"):
        if depth >= MAX_NESTING:
            raise InvalidFile("E-mail attachments are nested too deeply.", code="nesting_too_deep")
        convert_message = convert_eml if kind == "eml" else convert_msg
        return convert_message(data, lambda payload, name, media: _convert(
            payload, name, media, ocr, reader, depth + 1, None, table_format))
    return SIMPLE[kind](data)


SIMPLE: dict[str, Callable[[bytes], Document]] = {
    "docx": convert_docx, "xlsx": convert_xlsx, "pptx": convert_pptx, "csv": convert_csv,
    "html": convert_html, "markdown": convert_markdown, "text": convert_text,
    "odt": lambda data: convert_odf(data, "odt"), "ods": lambda data: convert_odf(data, "ods"),
    "odp": lambda data: convert_odf(data, "odp"),
}
