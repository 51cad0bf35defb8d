"""Reading page images: local OCR (RapidOCR 3) or a vision LLM, behind one interface.

Converters render a page (or decode an image) to grayscale pixels and hand it
to a `PageReader`; what comes back is a `Page` whose words carry boxes and
confidences. `page_reader_for` picks the reader a conversion asks for.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from shared.jobs.ocr_lang import ocr_language
from shared.metrics import OCR_SECONDS
from shared.settings import get_settings
from worker.pipeline.document import Page
from worker.pipeline.ocr.engine import Gray
from worker.pipeline.ocr.languages import DEFAULT_LANGUAGE
from worker.pipeline.ocr.orientation import read_upright
from worker.pipeline.ocr.page import page_from_reading


class PageReader(Protocol):
    engine: str

    def read(self, image: Gray, *, number: int, scale: float) -> Page:
        """Read one page image; `scale` converts its pixels to points."""
        ...


class LocalOcr:
    """RapidOCR 3 with a page-orientation classifier and skew handling; models ship in the wheels.

    `language` picks the shipped models (`languages.py`); an unsupported one is a 400
    here too, for jobs that were queued before the API's list changed.
    """

    engine = "rapidocr"

    def __init__(self, language: str | None = None) -> None:
        self.language = ocr_language(language) if language else DEFAULT_LANGUAGE

    def read(self, image: Gray, *, number: int, scale: float) -> Page:
        started = time.perf_counter()
        page = page_from_reading(read_upright(image, self.language), number=number, scale=scale)
        if page.rotation % 360:  # boxes are turned back onto the image as given (`Page.shown`)
            page.shown = (image.shape[1] * scale, image.shape[0] * scale)
        OCR_SECONDS.labels(self.engine).inc(time.perf_counter() - started)
        return page


def page_reader_for(ocr: str, ocr_model: dict[str, Any] | None,
                    ocr_lang: str | None = None) -> PageReader | None:
    """The reader for pages that need one: the vision model when configured, else local OCR.

    `ocr="never"` without a model means no reader at all (text layer only). `ocr_lang`
    only concerns local OCR (a vision model reads whatever it reads).
    """
    if ocr_model and ocr_model.get("provider_model"):
        # Imported here: the LLM client is only loaded by jobs that use a vision model.
        from worker.pipeline.ocr.vision import VisionLlmReader

        reader: PageReader = VisionLlmReader(ocr_model)
        return reader
    if ocr == "never":
        return None
    if get_settings().ocr_chain:  # the server's vision chain reads pages (docs/providers.md)
        from worker.pipeline.ocr.vision import VisionLlmReader

        return VisionLlmReader(None, local_language=ocr_lang)
    return LocalOcr(ocr_lang)
