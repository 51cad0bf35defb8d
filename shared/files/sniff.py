"""What the bytes say a file is: magic numbers, and the parts list inside ZIP containers."""

from __future__ import annotations

import io
import re
import zipfile
import zlib

import olefile

PDF_MAGIC = b"%PDF-"
# Readers (Acrobat included) accept up to 1 KiB of junk before the PDF header.
PDF_HEADER_WINDOW = 1024
TEXT_SAMPLE = 64 * 1024

_OFFICE_PARTS = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"),
                 ("ppt/presentation.xml", "pptx"))
# An OpenDocument package names its type in a first, stored entry called `mimetype`.
_ODF_TYPES = {b"application/vnd.oasis.opendocument.text": "odt",
              b"application/vnd.oasis.opendocument.spreadsheet": "ods",
              b"application/vnd.oasis.opendocument.presentation": "odp"}
# Every Outlook message (and only one) keeps its property table at the root under this name.
_MSG_PROPERTIES = "__properties_version1.0"
_DIB_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_HEADER_LINE = re.compile(rb"^[A-Za-z0-9-]{2,40}:[ \t]")
_MAIL_HEADERS = (b"from:", b"to:", b"subject:", b"date:", b"received:", b"message-id:",
                 b"mime-version:", b"return-path:", b"delivered-to:", b"x-")


def sniff_binary_kind(data: bytes) -> str | None:
    """The binary kind whose signature `data` carries, or None.

    Besides the supported kinds this may say `zip` (a ZIP that is no office
    document) or `ole` (legacy Office or an encrypted OOXML package, but not an Outlook
    message: that is `msg`).
    """
    head = data[:16]
    if data[:PDF_HEADER_WINDOW].find(PDF_MAGIC) != -1:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _DIB_HEADER_SIZES:
        return "bmp"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(data)
    if head[:4] == b"PK\x03\x04":
        return _office_kind(data)
    return None


def _office_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names:
                return next((kind for part, kind in _OFFICE_PARTS if part in names), "zip")
            entry = archive.getinfo("mimetype") if "mimetype" in names else None
            if entry is not None and entry.file_size <= 100:
                return _ODF_TYPES.get(archive.read(entry).strip(), "zip")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error):
        return None  # truncated or damaged: its central directory cannot be read
    return "zip"


def _ole_kind(data: bytes) -> str:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as container:
            return "msg" if container.exists(_MSG_PROPERTIES) else "ole"
    except (OSError, ValueError, IndexError, KeyError):
        return "ole"  # a damaged container: no more can be told


def looks_like_text(data: bytes) -> bool:
    """Whether `data` reads as text: a Unicode BOM, or no NUL and few control bytes."""
    sample = data[:TEXT_SAMPLE]
    if sample.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in sample:
        return False
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13, 27))
    return controls <= len(sample) // 100


def sniff_text_kind(data: bytes) -> str:
    """For text with no declared type: `html`, `eml` or plain `text`."""
    sample = data[:TEXT_SAMPLE].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(sample):
        return "html"
    if _looks_like_mail(sample):
        return "eml"
    return "text"


def _looks_like_mail(sample: bytes) -> bool:
    lines = sample.splitlines()[:30]
    headers = [line for line in lines if _HEADER_LINE.match(line)]
    known = sum(1 for line in headers if line.lower().startswith(_MAIL_HEADERS))
    return bool(lines) and _HEADER_LINE.match(lines[0]) is not None and known >= 2
