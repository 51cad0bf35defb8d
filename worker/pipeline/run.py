"""The pipeline entry point a task calls: one job's bytes and typed options → its result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from shared.files.checks import inspect_file
from shared.files.failures import reading
from shared.jobs.options import ExtractOptions, MarkdownOptions, selected_pages
from shared.jobs.outcomes import Finished
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.convert.pdf import Progress, convert_pdf_range, join_pdf_ranges
from worker.pipeline.document import Document, Page
from worker.pipeline.extract import extract_document
from worker.pipeline.markdown import PAGE_SEPARATOR, render_markdown
from worker.pipeline.ocr import page_reader_for

PipelineResult = Finished
"""What the pipeline hands back: the result payload, its status, and the pages processed."""


@dataclass(frozen=True)
class JobInput:
    options: ExtractOptions | MarkdownOptions
    data: bytes
    file_name: str
    content_type: str | None
    progress: Progress | None = None
    """Told (pages done, pages total) as pages are converted; may raise to stop the job."""
    checkpoint: Callable[[], None] | None = None
    """Called between steps; raises to stop a job that was canceled."""


def run_pipeline(job: JobInput) -> PipelineResult:
    started = time.perf_counter()
    request = conversion_request(job)
    if job.options.reads_twice:
        # Robust mode reads the document twice (text layer where present, and OCR of every
        # page) so that the extractor can cross-check the two readings.
        document = convert_pages(replace(request, ocr=job.options.first_reading,
                                         progress=_checked_pages(job)), job)
        _checkpoint(job)
        alternate = convert_pages(request, job)
        _checkpoint(job)
        return _extracted(document, job.options, alternate)
    document = convert_pages(request, job)
    _checkpoint(job)
    return complete_pipeline(document, job.options, started)


def convert_pages(request: ConversionRequest, job: JobInput) -> Document:
    """The file converted, only the pages of `page_range` when it has one.

    A PDF converts just those pages (as ranges, joined like page-range parts); other
    paged formats (slides, sheets, frames) convert whole and keep the selected pages.
    """
    spec = job.options.page_range
    if spec is None:
        return convert_document(request)
    info = inspect_file(request.data, request.file_name, request.content_type)
    wanted = selected_pages(spec, info.pages)
    if info.kind == "pdf":
        reader = page_reader_for(request.ocr, request.ocr_model, request.ocr_lang)
        with reading(info.kind):  # a parser's error is the documented 400/413, as whole
            return join_pdf_ranges([convert_pdf_range(request.data, start, stop,
                                                      ocr=request.ocr, reader=reader,
                                                      table_format=request.table_format)
                                    for start, stop in _runs(wanted)])
    document = convert_document(request)
    # The up-front count and the converter should agree; when they do not (a part the count
    # took for a page), the range is checked again against the pages really converted, so
    # a page past them is the documented 400, never an empty result or a 500.
    selected_pages(spec, len(document.pages))
    keep = set(wanted)
    return replace(document, pages=[page for index, page in enumerate(document.pages)
                                    if index in keep])


def _runs(pages: list[int]) -> list[tuple[int, int]]:
    """Sorted 0-based pages as (start, stop) runs of consecutive pages."""
    runs: list[tuple[int, int]] = []
    for page in pages:
        if runs and runs[-1][1] == page:
            runs[-1] = (runs[-1][0], page + 1)
        else:
            runs.append((page, page + 1))
    return runs


def _checkpoint(job: JobInput) -> None:
    if job.checkpoint is not None:
        job.checkpoint()


def _checked_pages(job: JobInput) -> Progress | None:
    """For a reading whose progress is not shown: only the stop check, between pages."""
    checkpoint = job.checkpoint
    if checkpoint is None:
        return None
    return lambda done, total: checkpoint()


def conversion_request(job: JobInput) -> ConversionRequest:
    """How the job's options say its file is read (OCR policy, vision model, language and
    table format for the converters)."""
    options = job.options
    return ConversionRequest(
        data=job.data, file_name=job.file_name, content_type=job.content_type,
        ocr=options.ocr_policy, ocr_model=options.vision_model, progress=job.progress,
        ocr_lang=options.ocr_lang, table_format=options.table_format,
    )


def complete_pipeline(document: Document, options: ExtractOptions | MarkdownOptions,
                      started: float) -> PipelineResult:
    """Everything after a single conversion: the markdown payload, or the extraction."""
    if isinstance(options, MarkdownOptions):
        return _to_markdown(document, options, started)
    return _extracted(document, options, None)


def _extracted(document: Document, options: ExtractOptions | MarkdownOptions,
               alternate: Document | None) -> PipelineResult:
    assert isinstance(options, ExtractOptions)
    outcome = extract_document(document, options, alternate)
    return PipelineResult(status="partial" if outcome.partial else "succeeded",
                          payload=outcome.payload, pages=outcome.pages_done(len(document.pages)))


def _to_markdown(document: Document, options: MarkdownOptions, started: float) -> PipelineResult:
    meta: dict[str, Any] = {
        "pages": len(document.pages), "ocr_pages": document.ocr_pages,
        "conversion_mode": options.conversion_mode,
        "engine": _engine(document, options), "file_type": document.file_type,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if options.page_range is not None:
        meta["page_range"] = options.page_range
    if document.warnings:
        meta["warnings"] = document.warnings
    markdown = render_markdown(document)
    payload = {"markdown": markdown, "plain_text": document.plain_text,
               "pages": page_results(document, markdown), "meta": meta}
    return PipelineResult(status="succeeded", payload=payload, pages=len(document.pages))


def page_results(document: Document, markdown: str) -> list[dict[str, Any]]:
    """Each page's number, markdown and size (`width`/`height` in the unit of its boxes).

    The page's markdown is its share of the whole document's, cut at the page markers,
    so running headers and footers left out of the whole are left out here too.
    """
    starts = []
    position = 0
    for page in document.pages:
        marker = PAGE_SEPARATOR.format(number=page.number).strip()
        found = markdown.find(marker, position)
        starts.append((found, len(marker)) if found >= 0 else (position, 0))
        position = max(position, found + len(marker)) if found >= 0 else position
    ends = [start for start, _ in starts[1:]] + [len(markdown)] if starts else []
    return [_page_result(page, markdown[start + skip:end].strip())
            for page, (start, skip), end in zip(document.pages, starts, ends, strict=True)]


def _page_result(page: Page, markdown: str) -> dict[str, Any]:
    width, height = page.shown_size  # as its page image is drawn, not the words' turned frame
    return {"page": page.number, "markdown": markdown, "width": round(width, 2),
            "height": round(height, 2)}


PARSERS = {"pdf": "pymupdf", "docx": "python-docx", "xlsx": "openpyxl", "pptx": "python-pptx",
           "html": "beautifulsoup", "eml": "email", "csv": "csv", "text": "text",
           "markdown": "text"}


def _engine(document: Document, options: ExtractOptions | MarkdownOptions) -> str:
    """What read the document: its parser, plus the OCR engine or vision model that read pages."""
    names = [PARSERS[document.file_type]] if document.file_type in PARSERS else []
    sources = {page.source for page in document.pages}
    if "ocr" in sources:
        names.append("rapidocr")
    if "llm" in sources:
        section = options.ocr or options.llm  # the vision model (`vision_model`)
        readers = sorted({page.reader for page in document.pages
                          if page.source == "llm" and page.reader is not None})
        names.extend(f"llm:{reader}" for reader in readers or
                     [str(section.provider_model if section else None)])
    return "+".join(names) or "none"
