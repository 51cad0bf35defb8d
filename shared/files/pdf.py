"""PDF integrity: parsable structure with a catalog, no encryption, a sane page count."""

from __future__ import annotations

from typing import Any

import pymupdf

from shared.errors import InvalidFile
from shared.files.failures import CORRUPTED_PDF, reading
from shared.files.limits import check_page_count

CORRUPTED = CORRUPTED_PDF
PASSWORD_PROTECTED = "Password protected PDFs are not supported."


def check_pdf(data: bytes, max_pages: int) -> int:
    """The page count of a PDF that is safe to convert; raises `InvalidFile` otherwise.

    Any encryption is refused, not only a user password: an owner password
    (permission restrictions, DRM) states terms the service cannot honour.
    A file MuPDF had to repair is accepted only if every page still parses.
    """
    document = open_pdf(data)
    with document, reading("pdf"):
        if document.needs_pass or document.is_encrypted or (document.metadata or {}).get("encryption"):
            raise InvalidFile(PASSWORD_PROTECTED)
        pages = int(document.page_count)
        if pages < 1 or document.pdf_catalog() <= 0:
            raise InvalidFile(CORRUPTED)
        check_page_count(pages, max_pages)
        if document.is_repaired:
            for page in document:
                page.get_text("text")
        return pages


def open_pdf(data: bytes) -> Any:
    """Open PDF bytes with PyMuPDF; unreadable ones become the documented 400."""
    with reading("pdf"):
        return pymupdf.open(stream=data, filetype="pdf")  # type: ignore[no-untyped-call]
