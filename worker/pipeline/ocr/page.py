"""OCR lines → the document model: words with boxes and confidences, lines grouped into blocks."""

from __future__ import annotations

from worker.pipeline.document import Block, Line, Page, Word
from worker.pipeline.ocr.engine import OcrLine
from worker.pipeline.ocr.orientation import Reading

# Type size is about 0.75 of a line box's height for Latin text.
FONT_TO_BOX = 0.75


def page_from_reading(reading: Reading, *, number: int, scale: float) -> Page:
    """A page in points; `scale` converts the read image's pixels to points."""
    height_px, width_px = reading.image.shape[:2]
    lines = _rows([_line(ocr_line, scale) for ocr_line in reading.lines])
    return Page(number=number, width=width_px * scale, height=height_px * scale,
                blocks=_blocks(lines), source="ocr", rotation=reading.rotation % 360)


def _line(ocr_line: OcrLine, scale: float) -> Line:
    words = [Word(text=w.text, bbox=_scaled(w.box, scale), confidence=round(w.confidence, 4))
             for w in ocr_line.words]
    bbox = _scaled(ocr_line.box, scale)
    return Line(words=words, bbox=bbox, font_size=round((bbox[3] - bbox[1]) * FONT_TO_BOX, 1))


def _rows(lines: list[Line]) -> list[Line]:
    """Reading order: top to bottom by line centre, then left to right within a row."""
    lines = [line for line in lines if line.words]
    lines.sort(key=lambda line: (line.bbox[1] + line.bbox[3]) / 2)
    ordered: list[Line] = []
    row: list[Line] = []
    for line in lines:
        if row and _centre(line) - _centre(row[0]) > 0.5 * _height(row[0]):
            ordered += sorted(row, key=lambda item: item.bbox[0])
            row = []
        row.append(line)
    return ordered + sorted(row, key=lambda item: item.bbox[0])


def _blocks(lines: list[Line]) -> list[Block]:
    """A new block where the vertical gap exceeds most of a line's height."""
    blocks: list[Block] = []
    for line in lines:
        current = blocks[-1] if blocks else None
        if current is not None and current.bbox is not None and \
                line.bbox[1] - current.bbox[3] < 0.8 * _height(line):
            current.lines.append(line)
            current.bbox = _union(current.bbox, line.bbox)
        else:
            blocks.append(Block(kind="paragraph", lines=[line], bbox=line.bbox))
    return blocks


def _scaled(box: tuple[float, float, float, float], scale: float) -> tuple[float, float, float, float]:
    return (round(box[0] * scale, 2), round(box[1] * scale, 2),
            round(box[2] * scale, 2), round(box[3] * scale, 2))


def _centre(line: Line) -> float:
    return (line.bbox[1] + line.bbox[3]) / 2


def _height(line: Line) -> float:
    return max(line.bbox[3] - line.bbox[1], 1.0)


def _union(a: tuple[float, float, float, float],
           b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
