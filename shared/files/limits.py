"""Size limits shared by every check: what is refused with 413 rather than processed."""

from __future__ import annotations

from shared.errors import PayloadTooLarge


def check_page_count(pages: int, max_pages: int) -> None:
    if pages > max_pages:
        raise PayloadTooLarge(f"The document has {pages} pages; the limit is {max_pages}.",
                              code="too_many_pages")


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse decompression bombs: tiny files that declare enormous images."""
    if width <= 0 or height <= 0:
        return
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"Image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels.",
            code="image_too_large")
