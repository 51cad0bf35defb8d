"""Image integrity: the header must parse, and no frame may exceed the pixel limit."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from shared.errors import InvalidFile, PayloadTooLarge
from shared.files.limits import check_page_count, check_pixels

CORRUPTED = "Corrupted or invalid image file."


def check_image(data: bytes, kind: str, max_pixels: int, max_pages: int) -> int:
    """How many pages the image is (TIFF frames; one for everything else).

    Only headers are read here: no pixel is decoded, so a bomb costs nothing.
    Animated GIF and WEBP are one picture: only their first frame is converted.
    """
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning; our explicit limit below is what decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                check_pixels(image.width, image.height, max_pixels)
                if kind != "tiff":
                    return 1
                return _tiff_frames(image, max_pixels, max_pages)
    except Image.DecompressionBombError as exc:
        # Pillow's own hard stop (twice its default limit) fires before ours can look.
        raise PayloadTooLarge(f"The image exceeds the limit of {max_pixels} pixels.",
                              code="image_too_large") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidFile(CORRUPTED) from exc


def _tiff_frames(image: Image.Image, max_pixels: int, max_pages: int) -> int:
    frames = 0
    while True:
        frames += 1
        check_page_count(frames, max_pages)
        check_pixels(image.width, image.height, max_pixels)
        try:
            image.seek(frames)
        except EOFError:
            return frames


DEFAULT_DPI = 72.0


def image_dpi(image: Image.Image) -> float:
    """The resolution an image declares, as every reader of it takes it: 72 dpi (one pixel,
    one point) when it declares none or an absurd one. Boxes on images are in these points."""
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else DEFAULT_DPI
    except (TypeError, ValueError, IndexError):
        value = DEFAULT_DPI
    return value if 20 <= value <= 2400 else DEFAULT_DPI

