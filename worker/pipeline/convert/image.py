"""Images → Document: every page (TIFF frames; the first frame of animations) read by OCR.

Pixel limits were checked on the header before any decoding (`shared.files.images`).
"""

from __future__ import annotations

import io
import time
import warnings

import numpy as np
from PIL import Image, ImageOps

from shared.errors import InvalidFile
from shared.files.images import CORRUPTED, image_dpi
from worker.pipeline.convert.layout import classify_blocks
from worker.pipeline.convert.ocr_layout import structure_ocr_page
from worker.pipeline.document import Document, Page
from worker.pipeline.ocr import PageReader
from worker.pipeline.ocr.engine import Gray

# Images are measured as if printed at this resolution when they carry none.


def convert_image(data: bytes, kind: str, *, reader: PageReader | None,
                  table_format: str = "markdown") -> Document:
    """One page per frame; without a reader (`fast` mode) the pages carry no words.

    Pages read by local OCR get the tables and column order text pages get (`ocr_layout`).
    """
    pages: list[Page] = []
    for number, (image, scale) in enumerate(decode_frames(data, kind), start=1):
        if reader is None:
            height, width = image.shape[:2]
            pages.append(Page(number=number, width=width * scale, height=height * scale))
        else:
            started = time.perf_counter()
            page = reader.read(image, number=number, scale=scale)
            structure_ocr_page(page, image, scale, table_format, started=started)
            pages.append(page)
    document = Document(pages=pages, file_type=kind)
    if reader is not None:
        classify_blocks(document)  # headings and list items by type size, as for PDF pages
    return document


def decode_frames(data: bytes, kind: str) -> list[tuple[Gray, float]]:
    """Grayscale pixels of each page, upright per EXIF, with their points-per-pixel scale."""
    frames: list[tuple[Gray, float]] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                count = getattr(image, "n_frames", 1) if kind == "tiff" else 1
                for index in range(count):
                    image.seek(index)
                    frames.append((_gray(image), 72.0 / image_dpi(image)))
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise InvalidFile(CORRUPTED) from exc
    return frames


def _gray(image: Image.Image) -> Gray:
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        # Transparent pixels are paper, not black.
        background = Image.new("RGBA", upright.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(background, upright.convert("RGBA"))
    return np.asarray(upright.convert("L"), dtype=np.uint8).copy()


