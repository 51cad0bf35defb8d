"""Page transcription by a vision LLM (BYOK `ocr_*` model, else the server's `ocr_chain`)
through the worker's LiteLLM client (whose every request and redirect hop goes through the
outbound guard, `shared.net.outbound`).

The model sees the rendered page and answers in markdown, which is read back
into the document model. Its words have layout-flow boxes, not measured ones.
"""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image

from shared.errors import AllProvidersFailed
from shared.settings import get_settings
from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.text import markdown_into
from worker.pipeline.document import Page
from worker.pipeline.llm import complete, image_part, resolve_model, text_part
from worker.pipeline.llm.config import LLMConfig
from worker.pipeline.ocr.engine import Gray

# Vision models downscale anyway; sending more only costs upload time and tokens.
MAX_SIDE_PX = 2000
PROMPT = (
    "Transcribe this document page into GitHub-flavoured markdown. Keep the reading order, "
    "headings (#), lists and tables (pipe tables). Output only the page content, no comments."
)
_FENCE = re.compile(r"^\s*```(?:markdown|md)?\s*\n(.*?)\n\s*```\s*$", re.S)


class VisionLlmReader:
    """Reads pages with the job's vision model (BYOK section) or, without one, the server's
    OCR chain; `engine` names the model that read the latest page, for the result's meta.

    When every link of the server chain failed and `llm_chain_local_last` is on, local OCR
    reads the page: the chain's last link is the local engine. A BYOK model's failure stays
    the caller's error (or, opted in, falls back to the server chain inside `complete`).
    """

    def __init__(self, section: dict[str, Any] | None, *, local_language: str | None = None) -> None:
        config = resolve_model(section, "ocr")
        if config is None:
            raise ValueError("no vision model: no BYOK section and no ocr_chain configured")
        self.config: LLMConfig = config
        self.engine = f"llm:{config.model}"
        self._local_last = section is None and get_settings().llm_chain_local_last
        self._local_language = local_language

    def read(self, image: Gray, *, number: int, scale: float) -> Page:
        messages: list[dict[str, Any]] = [{"role": "system", "content": PROMPT},
                    {"role": "user", "content": [text_part(f"Page {number}."),
                                                 image_part(_png(image))]}]
        try:
            reply = complete(self.config, messages)
        except AllProvidersFailed:
            if not self._local_last:
                raise
            return self._read_locally(image, number=number, scale=scale)
        self.engine = f"llm:{reply.model}"
        flow = FlowPage(number)
        markdown_into(flow, unfence(reply.text))
        page = flow.page()
        height, width = image.shape[:2]
        page.width, page.height, page.source = width * scale, height * scale, "llm"
        page.reader = reply.model
        return page


    def _read_locally(self, image: Gray, *, number: int, scale: float) -> Page:
        # Imported here: the local OCR models load only when the chain actually failed.
        from worker.pipeline.ocr import LocalOcr

        local = LocalOcr(self._local_language)
        self.engine = local.engine
        return local.read(image, number=number, scale=scale)


def unfence(reply: str) -> str:
    """Models often wrap the whole answer in a ```markdown fence; the content is inside."""
    match = _FENCE.match(reply)
    return match.group(1) if match else reply


def _png(image: Gray) -> bytes:
    picture = Image.fromarray(image)
    picture.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
