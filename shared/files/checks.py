"""Cheap up-front checks on a file: what it is, whether it is safe to process."""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf

from shared.errors import InvalidFile, UnsupportedFileType

PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class FileInfo:
    """What a file is (`pdf`, `png`, …) and how many pages it will be billed as."""

    kind: str
    pages: int


def inspect_file(data: bytes, file_name: str, content_type: str | None) -> FileInfo:
    if data[:1024].find(PDF_MAGIC) != -1:
        return FileInfo(kind="pdf", pages=_check_pdf(data))
    if file_name.lower().endswith(".pdf") or (content_type or "").endswith("/pdf"):
        raise InvalidFile("Invalid PDF file signature. The file may be corrupted or renamed.")
    raise UnsupportedFileType("Unsupported file type. Supported: PDF.")


def _check_pdf(data: bytes) -> int:
    try:
        document = pymupdf.open(stream=data, filetype="pdf")  # type: ignore[no-untyped-call]
    except Exception as exc:  # PyMuPDF raises several types for broken files
        raise InvalidFile("Corrupted or invalid PDF file structure.") from exc
    with document:
        if document.needs_pass or document.is_encrypted:
            raise InvalidFile("Password protected PDFs are not supported.")
        if document.page_count < 1:
            raise InvalidFile("Corrupted or invalid PDF file structure.")
        return int(document.page_count)
