"""The pipeline entry point a task calls: one job's bytes and options → its result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from shared.jobs.states import Operation
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.convert.pdf import Progress
from worker.pipeline.document import Document
from worker.pipeline.extract import extract_document
from worker.pipeline.markdown import render_markdown


@dataclass(frozen=True)
class JobInput:
    operation: str
    data: bytes
    file_name: str
    content_type: str | None
    options: dict[str, Any] = field(default_factory=dict)
    progress: Progress | None = None
    """Told (pages done, pages total) as pages are converted; may raise to stop the job."""
    checkpoint: Callable[[], None] | None = None
    """Called between steps; raises to stop a job that was canceled."""


@dataclass(frozen=True)
class PipelineResult:
    status: Literal["succeeded", "partial"]
    payload: dict[str, Any]
    pages: int


OCR_POLICY = {"fast": "never", "standard": "auto", "robust": "always", "default": "auto"}


def run_pipeline(job: JobInput) -> PipelineResult:
    started = time.perf_counter()
    request = conversion_request(job)
    if reads_twice(job):
        # Robust mode reads the document twice (text layer where present, and OCR of every
        # page) so that the extractor can cross-check the two readings.
        document = convert_document(replace(request, ocr="auto", progress=_checked_pages(job)))
        _checkpoint(job)
        alternate = convert_document(request)
        _checkpoint(job)
        return _extracted(document, job, alternate)
    document = convert_document(request)
    _checkpoint(job)
    return complete_pipeline(document, job, started)


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
    """How the job's options say its file is read (OCR policy, vision model)."""
    return ConversionRequest(
        data=job.data, file_name=job.file_name, content_type=job.content_type,
        ocr=OCR_POLICY.get(_mode(job), "auto"),
        ocr_model=job.options.get("ocr") or job.options.get("llm"), progress=job.progress,
    )


def reads_twice(job: JobInput) -> bool:
    """Robust extraction converts the file twice; every other job converts it once."""
    return job.operation != Operation.TO_MARKDOWN and _mode(job) == "robust"


def complete_pipeline(document: Document, job: JobInput, started: float) -> PipelineResult:
    """Everything after a single conversion: the markdown payload, or the extraction.

    `job.data` is not read here, so a job converted in page ranges passes none.
    """
    if job.operation == Operation.TO_MARKDOWN:
        return _to_markdown(document, job, started)
    return _extracted(document, job, None)


def _mode(job: JobInput) -> str:
    if job.operation == Operation.TO_MARKDOWN:
        return str(job.options.get("conversion_mode", "default"))
    return str(job.options.get("mode", "standard"))


def _extracted(document: Document, job: JobInput, alternate: Document | None) -> PipelineResult:
    outcome = extract_document(document, job.options, alternate)
    return PipelineResult(status="partial" if outcome.partial else "succeeded",
                          payload=outcome.payload, pages=len(document.pages))


def _to_markdown(document: Document, job: JobInput, started: float) -> PipelineResult:
    meta = {
        "pages": len(document.pages), "ocr_pages": document.ocr_pages,
        "conversion_mode": job.options.get("conversion_mode", "default"),
        "engine": _engine(document, job.options), "file_type": document.file_type,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if document.warnings:
        meta["warnings"] = document.warnings
    payload = {"markdown": render_markdown(document), "plain_text": document.plain_text,
               "meta": meta}
    return PipelineResult(status="succeeded", payload=payload, pages=len(document.pages))


PARSERS = {"pdf": "pymupdf", "docx": "python-docx", "xlsx": "openpyxl", "pptx": "python-pptx",
           "html": "beautifulsoup", "eml": "email", "csv": "csv", "text": "text",
           "markdown": "text"}


def _engine(document: Document, options: dict[str, Any]) -> str:
    """What read the document: its parser, plus the OCR engine or vision model that read pages."""
    names = [PARSERS[document.file_type]] if document.file_type in PARSERS else []
    sources = {page.source for page in document.pages}
    if "ocr" in sources:
        names.append("rapidocr")
    if "llm" in sources:
        model = (options.get("ocr") or options.get("llm") or {}).get("provider_model")
        names.append(f"llm:{model}")
    return "+".join(names) or "none"
