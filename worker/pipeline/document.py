"""The one internal document model: pages → blocks → lines → words, with boxes.

Every converter produces it; markdown, plain text, extraction and provenance
all read it. Coordinates are in points from the page's top-left corner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BBox = tuple[float, float, float, float]
BlockKind = Literal["paragraph", "heading", "list_item", "table", "code"]


@dataclass
class Word:
    text: str
    bbox: BBox
    confidence: float = 1.0


@dataclass
class Line:
    words: list[Word]
    bbox: BBox
    font_size: float = 0.0
    bold: bool = False

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


@dataclass
class Table:
    """Cells by row; the first row is the header when `has_header`."""

    rows: list[list[str]]
    bbox: BBox | None = None
    has_header: bool = True


@dataclass
class Block:
    kind: BlockKind
    lines: list[Line] = field(default_factory=list)
    bbox: BBox | None = None
    level: int = 0
    table: Table | None = None

    @property
    def text(self) -> str:
        if self.table is not None:
            return "\n".join("\t".join(row) for row in self.table.rows)
        return "\n".join(line.text for line in self.lines)


@dataclass
class Page:
    number: int
    width: float
    height: float
    blocks: list[Block] = field(default_factory=list)
    source: Literal["text", "ocr", "llm"] = "text"

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks if block.text)

    def lines(self) -> list[Line]:
        return [line for block in self.blocks for line in block.lines]


@dataclass
class Document:
    pages: list[Page]
    file_type: str
    title: str | None = None

    @property
    def plain_text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)

    @property
    def ocr_pages(self) -> int:
        return sum(1 for page in self.pages if page.source != "text")


def line_from_text(text: str, *, top: float = 0.0, height: float = 12.0) -> Line:
    """A line for formats without geometry: words get approximate horizontal boxes."""
    words: list[Word] = []
    x = 0.0
    for token in text.split():
        width = 6.0 * len(token)
        words.append(Word(token, (x, top, x + width, top + height)))
        x += width + 6.0
    return Line(words=words, bbox=(0.0, top, max(x - 6.0, 0.0), top + height), font_size=height)
