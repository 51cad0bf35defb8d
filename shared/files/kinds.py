"""The file kinds Quarry accepts: their names, extensions and media types.

One table, read by detection (what a file claims to be) and by error messages
(which formats are supported), so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileKind:
    name: str
    """Internal name (`pdf`, `docx`, …), also `FileInfo.kind` and `Document.file_type`."""
    label: str
    """How error messages name it (`PDF`, `DOCX`, …)."""
    extensions: tuple[str, ...]
    media_types: tuple[str, ...]
    textual: bool = False
    """Text formats have no magic number: the bytes only tell that they are text."""


KINDS: tuple[FileKind, ...] = (
    FileKind("pdf", "PDF", (".pdf",), ("application/pdf", "application/x-pdf")),
    FileKind("png", "PNG", (".png",), ("image/png",)),
    FileKind("jpeg", "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif"), ("image/jpeg", "image/jpg", "image/pjpeg")),
    FileKind("tiff", "TIFF", (".tif", ".tiff"), ("image/tiff", "image/tif")),
    FileKind("webp", "WEBP", (".webp",), ("image/webp",)),
    FileKind("bmp", "BMP", (".bmp",), ("image/bmp", "image/x-bmp", "image/x-ms-bmp")),
    FileKind("gif", "GIF", (".gif",), ("image/gif",)),
    FileKind("docx", "DOCX", (".docx",),
             ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)),
    FileKind("xlsx", "XLSX", (".xlsx",),
             ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)),
    FileKind("pptx", "PPTX", (".pptx",),
             ("application/vnd.openxmlformats-officedocument.presentationml.presentation",)),
    FileKind("odt", "ODT", (".odt",), ("application/vnd.oasis.opendocument.text",)),
    FileKind("ods", "ODS", (".ods",), ("application/vnd.oasis.opendocument.spreadsheet",)),
    FileKind("odp", "ODP", (".odp",), ("application/vnd.oasis.opendocument.presentation",)),
    FileKind("msg", "MSG", (".msg",), ("application/vnd.ms-outlook", "application/x-msg")),
    FileKind("csv", "CSV", (".csv",), ("text/csv", "application/csv", "text/x-csv"), textual=True),
    FileKind("eml", "EML", (".eml",), ("message/rfc822",), textual=True),
    FileKind("html", "HTML", (".html", ".htm", ".xhtml"), ("text/html", "application/xhtml+xml"),
             textual=True),
    FileKind("markdown", "Markdown", (".md", ".markdown"), ("text/markdown", "text/x-markdown"),
             textual=True),
    FileKind("text", "TXT", (".txt", ".text", ".log"), ("text/plain",), textual=True),
)

BY_NAME = {kind.name: kind for kind in KINDS}
IMAGE_KINDS = frozenset({"png", "jpeg", "tiff", "webp", "bmp", "gif"})
OFFICE_KINDS = frozenset({"docx", "xlsx", "pptx", "odt", "ods", "odp"})
"""ZIP packages: their archives are checked for bombs, their pages counted from their parts."""
SUPPORTED_MESSAGE = (
    "Unsupported file type. Supported: PDF; images (PNG, JPEG, TIFF, WEBP, BMP, GIF); "
    "DOCX, XLSX, PPTX; ODT, ODS, ODP; CSV; EML, MSG; HTML; plain text and markdown."
)

# Declared types that say nothing about the content: ignored rather than checked.
GENERIC_MEDIA_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream",
                                 "application/binary", "application/unknown"})


def kind_for_file_name(file_name: str) -> FileKind | None:
    """The supported kind the name's extension claims; None for unknown or no extension."""
    lowered = file_name.lower().strip()
    for kind in KINDS:
        if lowered.endswith(kind.extensions):
            return kind
    return None


def kind_for_media_type(content_type: str | None) -> FileKind | None:
    """The supported kind a declared content type claims (parameters like charset ignored)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in GENERIC_MEDIA_TYPES:
        return None
    for kind in KINDS:
        if media_type in kind.media_types:
            return kind
    return None
