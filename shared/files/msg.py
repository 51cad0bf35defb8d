"""Outlook messages (`.msg`, an OLE compound file) read with python-oxmsg.

The attachments as the converter reads them, so that a message's pages can be counted
before any conversion (`shared.files.checks`), as for e-mail (`shared.files.eml`).
"""

from __future__ import annotations

from collections.abc import Iterator

from oxmsg import Message

from shared.files.eml import Attachment


def read_message(data: bytes) -> Message:
    return Message.load(data)


def msg_attachments(message: Message) -> Iterator[Attachment]:
    """Each non-empty attachment stored in the message (links to files elsewhere are not)."""
    for attachment in message.attachments:
        payload = attachment.file_bytes
        if payload:
            yield Attachment(payload, attachment.file_name or "attachment",
                             attachment.mime_type or "application/octet-stream")
