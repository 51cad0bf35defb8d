"""The one internal document model: pages → blocks → lines → words, with boxes.

Every converter produces it; markdown, plain text, extraction and provenance
all read it. Coordinates are in points from the page's top-left corner, and a page's
`width`/`height` are in the same unit, so a box divided by them is a share of the page:
PDF points (1/72 inch) for PDFs; for images, pixels scaled to points by the image's own
resolution (72 dpi when it declares none: one pixel, one point); for formats without
geometry (office files, HTML, e-mail, text) an estimate on the same scale (`line_from_text`:
6 points a character, 12 a line). Clients see these units in `pages` and `fields[].bbox`
(docs/API.md, "Units of sizes and boxes").

Words stay in the frame they were read in, where lines run left to right, because layout
and extraction read geometry (a label left of or above its value). That frame is the page
as shown turned by `Page.rotation`: a PDF page's `/Rotate` (MuPDF gives its text layer
unrotated), or the quarter turn and deskew OCR applied. `Page.shown_box` turns a box back
onto the page as shown, which is what its page image draws and what clients get.
"""

from __future__ import annotations

import base64
import json
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

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
    markdown: list[list[str]] | None = None
    """The cells with inline markdown (links, emphasis) where the format carries it, shaped as
    `rows`; `rows` keep the plain text."""


@dataclass
class Block:
    kind: BlockKind
    lines: list[Line] = field(default_factory=list)
    bbox: BBox | None = None
    level: int = 0
    table: Table | None = None
    markdown: str | None = None
    """The text with inline markdown (links, emphasis, images) where the format carries it;
    the words keep the plain text."""

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
    label: str | None = None
    """What the page is within its file when not a numbered page: a sheet, a slide, an attachment."""
    rotation: float = 0.0
    """Degrees counter-clockwise the page as shown was turned into the frame of its words
    (`width`/`height` are that frame's): a PDF page's `/Rotate` for its text layer, the
    quarter turn and deskew for a page OCR read."""
    shown: tuple[float, float] | None = None
    """The page's width and height as shown (its page image), when `rotation` turned it;
    None for the frame's own size turned by the nearest quarter turn."""
    reader: str | None = None
    """The vision model that read the page (`source == "llm"`): with a provider chain, the
    link that answered."""

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks if block.text)

    def lines(self) -> list[Line]:
        return [line for block in self.blocks for line in block.lines]

    @property
    def shown_size(self) -> tuple[float, float]:
        if self.shown is not None:
            return self.shown
        sideways = round(self.rotation / 90) % 2 == 1
        return (self.height, self.width) if sideways else (self.width, self.height)

    def shown_box(self, box: BBox) -> BBox:
        """`box` (in the words' frame) on the page as shown: exact for quarter turns, the
        bounding box of the turned rectangle for other angles.

        Both frames share their centre (a turn keeps every pixel: `ocr.orientation.rotate`,
        MuPDF's rotation matrix), so the box is turned back about it.
        """
        if self.rotation % 360 == 0:
            return box
        angle = math.radians(self.rotation)
        cos, sin = _exact(math.cos(angle)), _exact(math.sin(angle))
        width, height = self.shown_size
        cx, cy, sx, sy = self.width / 2, self.height / 2, width / 2, height / 2
        xs, ys = [], []
        for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
            dx, dy = x - cx, y - cy
            # Clockwise by `rotation` with y pointing down: undoes the counter-clockwise turn.
            xs.append(sx + dx * cos - dy * sin)
            ys.append(sy + dx * sin + dy * cos)
        return (max(0.0, min(xs)), max(0.0, min(ys)), min(width, max(xs)), min(height, max(ys)))


@dataclass
class Document:
    pages: list[Page]
    file_type: str
    title: str | None = None
    warnings: list[str] = field(default_factory=list)
    """What was left out of an otherwise readable file (a damaged page), for the result's meta."""

    @property
    def plain_text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)

    @property
    def ocr_pages(self) -> int:
        return sum(1 for page in self.pages if page.source != "text")

    @property
    def words(self) -> list[Word]:
        return [word for page in self.pages for line in page.lines() for word in line.words]


def _exact(value: float) -> float:
    """Quarter turns exactly: cos(90°) is 6e-17 in floating point."""
    return float(round(value)) if abs(value - round(value)) < 1e-9 else value


def line_from_text(text: str, *, top: float = 0.0, height: float = 12.0) -> Line:
    """A line for formats without geometry: words get approximate horizontal boxes."""
    words: list[Word] = []
    x = 0.0
    for token in text.split():
        width = 6.0 * len(token)
        words.append(Word(token, (x, top, x + width, top + height)))
        x += width + 6.0
    return Line(words=words, bbox=(0.0, top, max(x - 6.0, 0.0), top + height), font_size=height)


def block_from_text(text: str, *, kind: BlockKind = "paragraph", level: int = 0, top: float = 0.0,
                    height: float = 12.0) -> Block:
    """A block for formats without geometry: one line per text line, stacked from `top`."""
    lines = [line_from_text(row, top=top + index * height * 1.2, height=height)
             for index, row in enumerate(row for row in text.splitlines() if row.strip())]
    boxes = [line.bbox for line in lines]
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)) if boxes else None
    return Block(kind=kind, lines=lines, bbox=bbox, level=level)


def table_block(rows: list[list[str]], *, lines: list[Line] | None = None, has_header: bool = True,
                bbox: BBox | None = None) -> Block:
    """A table block. `lines` are its words in place (PDF); without them, one line per row."""
    if lines is None:
        lines = [line_from_text(" ".join(cell for cell in row if cell)) for row in rows]
    return Block(kind="table", lines=[line for line in lines if line.words], bbox=bbox,
                 table=Table(rows=rows, bbox=bbox, has_header=has_header))


def document_to_json(document: Document) -> bytes:
    """The document as compact JSON that `document_from_json` reads back equal.

    Page-range parts of a long PDF travel through storage this way. Every number
    (boxes, sizes, confidences) goes into one float64 array, base64-encoded, in the
    order the structure is walked: exact, and several times faster to read than
    numbers spelled out in JSON.
    """
    numbers: array[float] = array("d")
    pages = [_encode_page(page, numbers) for page in document.pages]
    body = {"file_type": document.file_type, "title": document.title, "pages": pages,
            "warnings": document.warnings,
            "numbers": base64.b64encode(numbers.tobytes()).decode("ascii")}
    return json.dumps(body, separators=(",", ":")).encode()


def document_from_json(data: bytes) -> Document:
    body = json.loads(data)
    numbers: array[float] = array("d")
    numbers.frombytes(base64.b64decode(body["numbers"]))
    stream = iter(numbers.tolist())
    pages = [_decode_page(page, stream) for page in body["pages"]]
    return Document(pages=pages, file_type=body["file_type"], title=body["title"],
                    warnings=body.get("warnings", []))


def _encode_page(page: Page, numbers: array[float]) -> list[Any]:
    numbers.extend((page.width, page.height, page.rotation))
    encoded = [page.number, page.source, page.label, [_encode_block(b, numbers) for b in page.blocks]]
    return encoded if page.shown is None else [*encoded, list(page.shown)]


def _encode_block(block: Block, numbers: array[float]) -> list[Any]:
    has_box = _encode_box(block.bbox, numbers)  # in `_decode_block`'s order: box, table, lines
    table = None
    if block.table is not None:
        table = [block.table.rows, block.table.has_header, _encode_box(block.table.bbox, numbers)]
    lines = []
    for line in block.lines:
        numbers.extend((line.font_size, *line.bbox))
        for word in line.words:
            numbers.extend((*word.bbox, word.confidence))
        lines.append([line.bold, [word.text for word in line.words]])
    encoded = [block.kind, block.level, has_box, table, lines]
    return encoded if block.markdown is None else [*encoded, block.markdown]


def _encode_box(box: BBox | None, numbers: array[float]) -> bool:
    if box is not None:
        numbers.extend(box)
    return box is not None


def _decode_page(data: list[Any], numbers: Iterator[float]) -> Page:
    number, source, label, blocks, *shown = data
    width, height, rotation = next(numbers), next(numbers), next(numbers)
    return Page(number=number, width=width, height=height, source=source, label=label,
                rotation=rotation, blocks=[_decode_block(block, numbers) for block in blocks],
                shown=(float(shown[0][0]), float(shown[0][1])) if shown else None)


def _decode_block(data: list[Any], numbers: Iterator[float]) -> Block:
    kind, level, has_box, table, lines, *markdown = data
    bbox = _decode_box(has_box, numbers)
    decoded_table = None
    if table is not None:
        rows, has_header, table_box = table
        decoded_table = Table(rows=rows, bbox=_decode_box(table_box, numbers), has_header=has_header)
    decoded_lines = []
    n = numbers
    for bold, texts in lines:
        font_size, line_box = next(n), (next(n), next(n), next(n), next(n))
        # zip takes the text first, so it stops without reading past this line's numbers.
        words = [Word(text, (x0, y0, x1, y1), confidence)
                 for text, x0, y0, x1, y1, confidence in zip(texts, n, n, n, n, n, strict=False)]
        decoded_lines.append(Line(words=words, bbox=line_box, font_size=font_size, bold=bold))
    return Block(kind=kind, lines=decoded_lines, bbox=bbox, level=level, table=decoded_table,
                 markdown=markdown[0] if markdown else None)


def _decode_box(present: bool, numbers: Iterator[float]) -> BBox | None:
    n = numbers
    return (next(n), next(n), next(n), next(n)) if present else None
