"""Cheap up-front checks on a file: what it is, whether it is safe to process.

The API runs them before a job is queued and the worker runs them again before
converting (files uploaded by presigned URL never passed the API).
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from shared.errors import BadRequest, InvalidFile, QuarryError, UnsupportedFileType
from shared.files.archives import ArchiveLimits, check_archive
from shared.files.eml import MAX_NESTING, Attachment, message_attachments
from shared.files.failures import reading
from shared.files.html import check_html_depth
from shared.files.images import check_image
from shared.files.kinds import (
    BY_NAME,
    IMAGE_KINDS,
    OFFICE_KINDS,
    SUPPORTED_MESSAGE,
    FileKind,
    kind_for_file_name,
    kind_for_media_type,
)
from shared.files.limits import check_page_count
from shared.files.msg import msg_attachments, read_message
from shared.files.pdf import check_pdf
from shared.files.sheets import xlsx_pages
from shared.files.sniff import looks_like_text, sniff_binary_kind, sniff_text_kind
from shared.settings import Settings, get_settings

_SLIDE = re.compile(r"^ppt/slides/slide\d+\.xml$")
_SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
# OpenDocument keeps every sheet or slide in `content.xml`: one converted page each.
_ODF_PAGES = {"ods": re.compile(rb"<table:table[\s>]"), "odp": re.compile(rb"<draw:page[\s>]")}


@dataclass(frozen=True)
class FileInfo:
    """What a file is (`pdf`, `png`, …) and how many pages it will be billed as."""

    kind: str
    pages: int

    @property
    def label(self) -> str:
        return BY_NAME[self.kind].label


def inspect_file(data: bytes, file_name: str, content_type: str | None) -> FileInfo:
    """Detect the type from the bytes, check it against the claims, and check its integrity.

    Whatever a parser raises on the way is the documented 400 or 413 (`reading`).
    """
    kind = detect_file_type(data, file_name, content_type)
    with reading(kind):
        return FileInfo(kind=kind, pages=_checked_pages(data, kind, get_settings()))


def detect_file_type(data: bytes, file_name: str, content_type: str | None) -> str:
    """The supported kind of `data`; the name and declared type must not claim another."""
    if not data:
        raise BadRequest("The file is empty.", code="empty_file")
    claims = [claim for claim in (kind_for_file_name(file_name), kind_for_media_type(content_type))
              if claim is not None]
    sniffed = sniff_binary_kind(data)
    if sniffed in BY_NAME:
        _require_claims(claims, lambda claim: claim.name == sniffed)
        return str(sniffed)
    if sniffed is None and looks_like_text(data):
        _require_claims(claims, lambda claim: claim.textual)
        return claims[0].name if claims else sniff_text_kind(data)
    _require_claims(claims, lambda claim: False)
    raise UnsupportedFileType(SUPPORTED_MESSAGE)


def signature_message(kind: FileKind) -> str:
    return f"Invalid {kind.label} file signature. The file may be corrupted or renamed."


def _require_claims(claims: list[FileKind], holds: Callable[[FileKind], bool]) -> None:
    for claim in claims:
        if not holds(claim):
            raise InvalidFile(signature_message(claim))


def _checked_pages(data: bytes, kind: str, settings: Settings) -> int:
    if kind == "pdf":
        return check_pdf(data, settings.max_pages)
    if kind in IMAGE_KINDS:
        return check_image(data, kind, settings.max_image_pixels, settings.max_pages)
    if kind in OFFICE_KINDS:
        return _office_pages(data, kind, settings)
    if kind in ("eml", "msg"):
        check_html_depth(_message_html(data, kind), settings.max_html_depth)
        pages = _message_pages(data, settings, depth=0, kind=kind)
        check_page_count(pages, settings.max_pages)
        return pages
    if kind == "html":
        check_html_depth(data, settings.max_html_depth)
    return 1


def _message_html(data: bytes, kind: str) -> str:
    """The HTML body the converter reads when a message has no plain-text one (else "")."""
    if kind == "msg":
        message = read_message(data)
        return "" if message.body else str(message.html_body or "")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    body = parsed.get_body(("plain", "html")) if isinstance(parsed, EmailMessage) else None
    if body is None or body.get_content_subtype() != "html":
        return ""
    try:
        return str(body.get_content())
    except (LookupError, ValueError, KeyError, AttributeError):
        return ""  # a body the converter cannot decode either


def _message_pages(data: bytes, settings: Settings, *, depth: int, kind: str = "eml") -> int:
    """An e-mail's page plus its attachments' pages, as the converter will produce them."""
    attachments = message_attachments(data) if kind == "eml" else msg_attachments(read_message(data))
    return 1 + sum(_attachment_pages(attachment, settings, depth=depth + 1)
                   for attachment in attachments)


def _attachment_pages(attachment: Attachment, settings: Settings, *, depth: int) -> int:
    try:
        kind = detect_file_type(attachment.data, attachment.file_name, attachment.content_type)
        if kind not in ("eml", "msg"):
            with reading(kind):
                return _checked_pages(attachment.data, kind, settings)
        if depth >= MAX_NESTING:
            return 1
        with reading(kind):
            return _message_pages(attachment.data, settings, depth=depth, kind=kind)
    except QuarryError:
        return 1  # the converter keeps a note page for an attachment it cannot read


def _office_pages(data: bytes, kind: str, settings: Settings) -> int:
    limits = ArchiveLimits(max_entries=settings.max_archive_entries,
                           max_uncompressed_bytes=settings.max_archive_uncompressed_bytes,
                           max_ratio=settings.max_archive_compression_ratio,
                           max_xml_part_bytes=settings.max_office_xml_part_bytes)
    try:
        names = check_archive(data, limits, streamed=lambda name: _streamed_part(kind, name))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidFile(signature_message(BY_NAME[kind])) from exc
    pattern = {"pptx": _SLIDE, "xlsx": _SHEET}.get(kind)
    pages = max(1, sum(1 for name in names if pattern.match(name))) if pattern else 1
    if kind == "xlsx":
        # Hidden sheets are not converted, so they are neither pages nor billed.
        pages = xlsx_pages(data) or pages
    if kind in _ODF_PAGES:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            pages = max(1, len(_ODF_PAGES[kind].findall(archive.read("content.xml"))))
    check_page_count(pages, settings.max_pages)
    return pages


def _streamed_part(kind: str, name: str) -> bool:
    """openpyxl reads worksheets as a stream in read-only mode (and stops at its row cap)."""
    return kind == "xlsx" and _SHEET.match(name) is not None
