"""Outlook message (`.msg`) → Document with python-oxmsg: as an e-mail (`convert.eml`), the
headers and body on the first page, then each attachment converted in turn."""

from __future__ import annotations

from shared.files.msg import msg_attachments, read_message
from worker.pipeline.convert.eml import AttachmentConverter, add_attachment
from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.html import html_into
from worker.pipeline.document import Document


def convert_msg(data: bytes, convert_attachment: AttachmentConverter) -> Document:
    message = read_message(data)
    flow = FlowPage(1, label="message")
    subject = (message.subject or "").strip()
    if subject:
        flow.add_text(subject, kind="heading", level=1)
    recipients = ", ".join(r.email_address or r.name for r in message.recipients
                           if r.email_address or r.name)
    headers = {"From": message.sender, "To": recipients,
               "Date": message.sent_date.isoformat() if message.sent_date else None,
               "Subject": subject}
    for name, value in headers.items():
        if value:
            flow.add_text(f"{name}: {value}")  # one paragraph each: one line each in markdown
    if message.body:
        for paragraph in message.body.replace("\r\n", "\n").split("\n\n"):
            flow.add_text(paragraph)
    elif message.html_body:
        html_into(flow, message.html_body)
    document = Document(pages=[flow.page()], file_type="msg", title=subject or None)
    for attachment in msg_attachments(message):
        add_attachment(document, attachment.data, attachment.file_name, attachment.content_type,
                       convert_attachment)
    return document
