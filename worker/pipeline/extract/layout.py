"""Visual rows and cells from word boxes, independent of how a converter grouped lines.

A PDF often draws a label and its value as separate text runs; grouping words by
vertical overlap and splitting each row at wide horizontal gaps gives the cells a
reader sees ("Invoice No." | "INV-001").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.pipeline.document import BBox, Page, Word
from worker.pipeline.extract.evidence import union_bbox


@dataclass
class Cell:
    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def bbox(self) -> BBox:
        return union_bbox([word.bbox for word in self.words])


@dataclass
class Row:
    words: list[Word]
    cells: list[Cell] = field(default_factory=list)

    @property
    def bbox(self) -> BBox:
        return union_bbox([word.bbox for word in self.words])

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


def page_rows(page: Page, *, gap_factor: float = 1.6) -> list[Row]:
    """The page's words as rows (top to bottom), each split into cells at wide gaps."""
    words = sorted((w for line in page.lines() for w in line.words if w.text.strip()),
                   key=lambda w: (_mid_y(w.bbox), w.bbox[0]))
    rows: list[list[Word]] = []
    for word in words:
        if rows and _same_row(rows[-1], word):
            rows[-1].append(word)
        else:
            rows.append([word])
    return [_row(sorted(ws, key=lambda w: w.bbox[0]), gap_factor) for ws in rows]


def _mid_y(box: BBox) -> float:
    return (box[1] + box[3]) / 2


def _same_row(row: list[Word], word: Word) -> bool:
    top = min(w.bbox[1] for w in row)
    bottom = max(w.bbox[3] for w in row)
    height = max(bottom - top, 1.0)
    return abs(_mid_y(word.bbox) - (top + bottom) / 2) < height * 0.45


def _row(words: list[Word], gap_factor: float) -> Row:
    cells: list[list[Word]] = [[words[0]]]
    for previous, word in zip(words, words[1:], strict=False):
        height = max(previous.bbox[3] - previous.bbox[1], 1.0)
        if word.bbox[0] - previous.bbox[2] > height * gap_factor:
            cells.append([word])
        else:
            cells[-1].append(word)
    return Row(words=words, cells=[Cell(ws) for ws in cells])


def overlaps_x(a: BBox, b: BBox, slack: float = 0.0) -> bool:
    return a[0] - slack < b[2] and b[0] - slack < a[2]
