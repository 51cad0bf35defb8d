"""The attachments of an e-mail, as the converter reads them, so that its pages can be
counted before any conversion (`shared.files.checks`): a message is billed as its own
page plus every attachment's pages.

Mirrors `worker.pipeline.convert.eml`: an attached message (`message/rfc822`) is taken
whole, an empty payload adds nothing, an attachment that cannot be read becomes one note
page, and e-mails nested deeper than `MAX_NESTING` are one note page each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

MAX_NESTING = 3
"""The converter's limit (`worker.pipeline.convert.MAX_NESTING`)."""


@dataclass(frozen=True)
class Attachment:
    data: bytes
    file_name: str
    content_type: str


def message_attachments(data: bytes) -> Iterator[Attachment]:
    """Each non-empty attachment of the e-mail in `data`, decoded."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(message, EmailMessage):
        return
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        payload = part.get_payload(decode=True)
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            payload, name = inner[0].as_bytes(), part.get_filename() or "message.eml"
        if isinstance(payload, bytes) and payload:
            yield Attachment(payload, name, part.get_content_type())
