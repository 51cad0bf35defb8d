"""Size limits shared by every check: what is refused with 413 rather than processed."""

from __future__ import annotations

import resource

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


def cap_process_memory(megabytes: int) -> None:
    """Bound this process's heap so that a file needing more fails (MemoryError, then 413)
    instead of growing until the kernel kills a process, or a neighbour. 0: no cap.

    RLIMIT_DATA counts the private writable memory actually mapped, not address space
    reserved and never used (thread arenas, ONNX Runtime's pools), unlike RLIMIT_AS.
    """
    if megabytes <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
