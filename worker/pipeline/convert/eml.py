"""E-mail (RFC 822) → Document: headers, body, then each attachment converted in turn."""

from __future__ import annotations

import logging
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from shared.errors import QuarryError
from shared.files.eml import message_attachments
from shared.files.failures import OutOfTime
from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.html import html_into
from worker.pipeline.document import Document

log = logging.getLogger(__name__)

HEADERS = ("From", "To", "Cc", "Date", "Subject")
# Converts one attachment (bytes, file name, content type) the way a whole upload would be.
AttachmentConverter = Callable[[bytes, str, str | None], Document]


def convert_eml(data: bytes, convert_attachment: AttachmentConverter) -> Document:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    flow = FlowPage(1, label="message")
    subject = str(message.get("Subject", "") or "").strip()
    if subject:
        flow.add_text(subject, kind="heading", level=1)
    for name in (name for name in HEADERS if message.get(name)):
        flow.add_text(f"{name}: {message[name]}")  # one paragraph each: one line each in markdown
    _body(flow, message)
    document = Document(pages=[flow.page()], file_type="eml", title=subject or None)
    for attachment in message_attachments(data):
        add_attachment(document, attachment.data, attachment.file_name, attachment.content_type,
                       convert_attachment)
    return document


def _body(flow: FlowPage, message: EmailMessage) -> None:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return
    content = body.get_content()
    if body.get_content_subtype() == "html":
        html_into(flow, str(content))
        return
    for paragraph in str(content).replace("\r\n", "\n").split("\n\n"):
        flow.add_text(paragraph)


def add_attachment(document: Document, payload: bytes, name: str, content_type: str,
                   convert_attachment: AttachmentConverter) -> None:
    """Add the attachment's pages to `document`, or a page saying why it was not converted."""
    first_number = len(document.pages) + 1
    try:
        attached = convert_attachment(payload, name, content_type)
    except QuarryError as exc:
        if isinstance(exc, OutOfTime):
            raise  # the job's time is spent: the other attachments cannot be converted either
        # One unreadable attachment must not cost the message its other content.
        log.info("attachment %s not converted: %s", name, exc.detail)
        flow = FlowPage(first_number, label=f"attachment: {name}")
        flow.add_text(f"Attachment {name} was not converted: {exc.detail}")
        document.pages.append(flow.page())
        return
    for offset, page in enumerate(attached.pages):
        page.number = first_number + offset
        page.label = f"attachment: {name}" + (f" ({page.label})" if page.label else "")
    document.pages += attached.pages
    document.warnings += [f"Attachment {name}: {warning}" for warning in attached.warnings]
