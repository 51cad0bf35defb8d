"""Plain text and markdown → Document; also the decoding every text format shares."""

from __future__ import annotations

import re

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.document import Document

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*([-*+]|\d{1,3}[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def decode_text(data: bytes) -> str:
    """Text from bytes: BOM-marked UTF-16/8, else UTF-8, else Windows-1252, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def convert_text(data: bytes) -> Document:
    flow = FlowPage(1)
    for paragraph in re.split(r"\n\s*\n", decode_text(data).replace("\r\n", "\n")):
        flow.add_text(paragraph)
    return Document(pages=[flow.page()], file_type="text")


def convert_markdown(data: bytes) -> Document:
    """Markdown's own structure (headings, items, pipe tables) read into the model."""
    flow = FlowPage(1)
    markdown_into(flow, decode_text(data))
    return Document(pages=[flow.page()], file_type="markdown")


def markdown_into(flow: FlowPage, markdown: str) -> None:
    """Append markdown's blocks to `flow` (also used for vision-model transcriptions)."""
    paragraph: list[str] = []
    lines = markdown.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if _TABLE_RULE.match(lines[index + 1] if index + 1 < len(lines) else "") and "|" in line:
            _flush(flow, paragraph)
            index = _table(flow, lines, index)
            continue
        heading, item = _HEADING.match(line), _ITEM.match(line)
        if heading or item or not line.strip():
            _flush(flow, paragraph)
        if heading:
            flow.add_text(heading.group(2), kind="heading", level=len(heading.group(1)))
        elif item:
            flow.add_text(line.strip() if item.group(1)[0].isdigit() else item.group(2), kind="list_item")
        elif line.strip():
            paragraph.append(line.strip())
        index += 1
    _flush(flow, paragraph)


def _flush(flow: FlowPage, paragraph: list[str]) -> None:
    if paragraph:
        flow.add_text(" ".join(paragraph))
        paragraph.clear()


def _table(flow: FlowPage, lines: list[str], index: int) -> int:
    rows = [_cells(lines[index])]
    index += 2
    while index < len(lines) and "|" in lines[index] and lines[index].strip():
        rows.append(_cells(lines[index]))
        index += 1
    flow.add_table(rows)
    return index


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]
