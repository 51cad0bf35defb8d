"""Converters: file bytes → `Document`, one module per family of formats.

`convert_document` is the single entry the pipeline calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.pipeline.convert.pdf import convert_pdf
from worker.pipeline.document import Document


@dataclass(frozen=True)
class ConversionRequest:
    data: bytes
    file_name: str
    content_type: str | None
    ocr: str = "auto"
    """`auto`: OCR pages without a text layer; `never`: text layer only; `always`: OCR every page."""
    ocr_model: dict[str, Any] | None = None
    """A vision LLM (job options' `ocr`, else `llm`, else the server default) to transcribe pages."""


def convert_document(request: ConversionRequest) -> Document:
    return convert_pdf(request.data)
