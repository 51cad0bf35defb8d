"""Page transcription by a vision LLM (BYOK `ocr_*` model) through the worker's LiteLLM client
(whose every request and redirect hop goes through the outbound guard, `shared.net.outbound`).

The model sees the rendered page and answers in markdown, which is read back
into the document model. Its words have layout-flow boxes, not measured ones.
"""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.text import markdown_into
from worker.pipeline.document import Page
from worker.pipeline.llm import complete_text, image_part, resolve_model, text_part
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
    """Reads pages with the job's vision model; `engine` names it in the result's meta."""

    def __init__(self, section: dict[str, Any]) -> None:
        config = resolve_model(section)
        assert config is not None  # a section with a provider model always resolves
        self.config: LLMConfig = config
        self.engine = f"llm:{config.model}"

    def read(self, image: Gray, *, number: int, scale: float) -> Page:
        messages: list[dict[str, Any]] = [{"role": "system", "content": PROMPT},
                    {"role": "user", "content": [text_part(f"Page {number}."),
                                                 image_part(_png(image))]}]
        reply = complete_text(self.config, messages)
        flow = FlowPage(number)
        markdown_into(flow, unfence(reply))
        page = flow.page()
        height, width = image.shape[:2]
        page.width, page.height, page.source = width * scale, height * scale, "llm"
        return page


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
