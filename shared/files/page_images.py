"""One page of a document as a PNG, with the page's size in the unit of its boxes.

Extraction boxes (`fields[].bbox`) and page sizes are in points from the top-left corner
(worker/pipeline/document.py): PDF points for PDFs, and for images pixels scaled by the
image's own resolution (72 dpi when it declares none). A picture drawn here carries that
size, so a box divided by it is a share of the picture, whatever its pixel size.
A page is drawn as it is shown: a PDF page turned by its `/Rotate`, an image as stored
(upright per EXIF). Boxes are on that page too, even where the worker read the words in
another frame (`Page.shown_box`), so the picture never needs turning to match them.
Formats without drawn pages (office files, HTML, e-mail, text) have no picture.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import pymupdf
from PIL import Image, ImageOps, PngImagePlugin

from shared.errors import InvalidFile, NotFound
from shared.files.images import CORRUPTED, image_dpi
from shared.files.kinds import IMAGE_KINDS
from shared.files.pdf import open_pdf

RENDER_DPI = 144
"""PDF pages are drawn at twice their size in points: sharp on a high-density screen."""
MAX_PIXELS = 4_000_000
"""No picture is larger (about 2000 × 2000): a huge page or photo is scaled down."""
SCALABLE_MODES = frozenset({"RGB", "RGBA", "L", "LA", "CMYK"})
"""Modes Pillow shrinks smoothly (transparency premultiplied), so before going on white."""
SIZE_KEY = "quarry-page-size"
"""The PNG text chunk holding the page's size in box units, so a cached picture carries it."""


class PageImageUnavailable(NotFound):
    """The file's type has no pages to draw (office files, HTML, e-mail, text)."""

    code = "page_image_unavailable"


class PageNotFound(NotFound):
    """The page number is not one of the file's pages."""

    code = "page_not_found"


@dataclass(frozen=True)
class PageImage:
    """A PNG of one page, and the page's width and height in the unit of its boxes."""

    png: bytes
    width: float
    height: float


def has_page_images(kind: str) -> bool:
    return kind == "pdf" or kind in IMAGE_KINDS


def render_page(data: bytes, kind: str, number: int) -> PageImage:
    """Page `number` (1-based) of a checked file as a bounded PNG."""
    if not has_page_images(kind):
        raise PageImageUnavailable(f"{kind.upper()} files have no page images: only PDFs and "
                                   "images are drawn as pages.")
    return _render_pdf(data, number) if kind == "pdf" else _render_image(data, kind, number)


def read_page_image(png: bytes) -> PageImage:
    """A picture made by `render_page` (from the cache), with the size it carries."""
    with Image.open(io.BytesIO(png)) as image:
        width, height = (float(part) for part in str(image.info[SIZE_KEY]).split())
    return PageImage(png=png, width=width, height=height)


def _render_pdf(data: bytes, number: int) -> PageImage:
    with open_pdf(data) as document:
        if not 1 <= number <= document.page_count:
            raise _no_page(number, document.page_count)
        page = document[number - 1]
        rect = page.rect
        zoom = min(RENDER_DPI / 72, (MAX_PIXELS / max(rect.width * rect.height, 1.0)) ** 0.5)
        matrix = pymupdf.Matrix(zoom, zoom)  # type: ignore[no-untyped-call]
        pixmap = page.get_pixmap(matrix=matrix, alpha=False)
        image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
        return _png(image, rect.width, rect.height)


def _render_image(data: bytes, kind: str, number: int) -> PageImage:
    """As the worker reads it (`worker/pipeline/convert/image.py`): the frame upright per
    EXIF, transparency on white, sized in points by the image's resolution (of the whole
    image, though a JPEG is decoded at the smallest scale still over the bound, and others
    are shrunk before being copied onto white: a 100 MP image fits the drawing's heap cap)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as source:
                frames = getattr(source, "n_frames", 1) if kind == "tiff" else 1
                if not 1 <= number <= frames:
                    raise _no_page(number, frames)
                source.seek(number - 1)
                scale = 72.0 / image_dpi(source)
                stored = source.size
                source.draft("RGB", _bounded(*stored))  # JPEG only; others ignore it
                if source.mode in SCALABLE_MODES:
                    source.thumbnail(_bounded(*stored))
                upright = ImageOps.exif_transpose(source) or source
                turned = upright.size != source.size
                upright = _on_white(upright)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise InvalidFile(CORRUPTED) from exc
    width, height = (stored[1], stored[0]) if turned else stored
    upright.thumbnail(_bounded(width, height))
    return _png(upright, width * scale, height * scale)


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def _bounded(width: int, height: int) -> tuple[int, int]:
    shrink = min(1.0, (MAX_PIXELS / max(width * height, 1)) ** 0.5)
    return max(1, int(width * shrink)), max(1, int(height * shrink))


def _png(image: Image.Image, width: float, height: float) -> PageImage:
    info = PngImagePlugin.PngInfo()
    info.add_text(SIZE_KEY, f"{width:.2f} {height:.2f}")
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=False)
    return PageImage(png=out.getvalue(), width=round(width, 2), height=round(height, 2))


def _no_page(number: int, pages: int) -> PageNotFound:
    return PageNotFound(f"Page {number} does not exist: the file has {pages} "
                        f"page{'s' if pages != 1 else ''}.")
