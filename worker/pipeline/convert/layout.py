"""Headings and list items for documents whose structure is only visual (PDF, OCR).

Headings: blocks the layout model calls titles or section headers, levelled by
size among the others; and lines set clearly larger than the body text (the size that carries
most characters), levelled by size; short all-bold lines a step below them.
Lists: lines that open with a bullet glyph or an enumerator start an item.
"""

from __future__ import annotations

import re
from collections import Counter

from worker.pipeline.document import Block, BlockKind, Document, Line, Page

BULLETS = frozenset("•◦▪▫●○■□–-*·‣⁃")
ENUMERATOR = re.compile(r"^(\d{1,3}|[a-z])[.)]$")
HEADING_RATIO = 1.15
MAX_HEADING_LINES = 3
MAX_HEADING_CHARS = 200


def classify_blocks(document: Document) -> None:
    """Mark headings and split list items, in place."""
    body = body_font_size(document)
    if body <= 0:
        return
    sizes = sorted({_size(block) for page in document.pages for block in page.blocks
                    if _is_heading_like(block, body)}, reverse=True)[:5]
    for page in document.pages:
        _split_lists(page)
        for block in page.blocks:
            if block.kind == "heading" and block.level == 0:  # the layout model's, unlevelled
                block.level = _level(sizes, _size(block)) if _size(block) in sizes else \
                    min(len(sizes) + 1, 6)
            elif block.kind == "paragraph" and _is_heading_like(block, body):
                block.kind, block.level = "heading", _level(sizes, _size(block))
            elif block.kind == "paragraph" and _is_bold_title(block):
                block.kind, block.level = "heading", min(len(sizes) + 1, 6)


def _level(sizes: list[float], size: float) -> int:
    """Levels by size among the five largest heading sizes; smaller ones share the fifth."""
    return sizes.index(size) + 1 if size in sizes else len(sizes)


def body_font_size(document: Document) -> float:
    weights: Counter[float] = Counter()
    for page in document.pages:
        for block in page.blocks:
            for line in block.lines:
                if line.font_size > 0:
                    weights[round(line.font_size)] += len(line.text)
    return float(weights.most_common(1)[0][0]) if weights else 0.0


def _size(block: Block) -> float:
    return round(min(line.font_size for line in block.lines))


def _is_heading_like(block: Block, body: float) -> bool:
    if block.kind != "paragraph" or not block.lines or len(block.lines) > MAX_HEADING_LINES:
        return False
    text = block.text
    return (len(text) <= MAX_HEADING_CHARS and any(c.isalpha() for c in text)
            and _size(block) >= round(body * HEADING_RATIO))


def _is_bold_title(block: Block) -> bool:
    text = block.text.strip()
    return (len(block.lines) == 1 and block.lines[0].bold and 0 < len(text) <= 80
            and any(c.isalpha() for c in text) and not text.endswith((".", ",", ";", ":"))
            and len(text.split()) <= 10)


def _split_lists(page: Page) -> None:
    blocks: list[Block] = []
    for block in page.blocks:
        if block.kind != "paragraph" or not any(_opens_item(line) for line in block.lines):
            blocks.append(block)
            continue
        blocks += _items(block)
    page.blocks = blocks


def _items(block: Block) -> list[Block]:
    items: list[Block] = []
    for line in block.lines:
        if _opens_item(line) or not items:
            kind: BlockKind = "list_item" if _opens_item(line) else "paragraph"
            if line.words and line.words[0].text in BULLETS:
                line.words = line.words[1:]  # the glyph is layout, not content
            items.append(Block(kind=kind, lines=[line], bbox=line.bbox))
        else:
            items[-1].lines.append(line)
            items[-1].bbox = _union(items[-1].bbox, line.bbox)
    return [item for item in items if item.lines and any(line.words for line in item.lines)]


def _opens_item(line: Line) -> bool:
    if not line.words:
        return False
    first = line.words[0].text
    return (first in BULLETS and len(line.words) > 1) or (first[:1] in "•◦▪●■‣⁃" and len(first) > 1) \
        or (ENUMERATOR.match(first) is not None and len(line.words) > 1)


def _union(a: tuple[float, float, float, float] | None,
           b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    if a is None:
        return b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
