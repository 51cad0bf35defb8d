"""PDF → Document through PyMuPDF's text layer (words with boxes, font sizes)."""

from __future__ import annotations

from typing import Any

import pymupdf

from worker.pipeline.document import Block, Document, Line, Page, Word


def convert_pdf(data: bytes) -> Document:
    with pymupdf.open(stream=data, filetype="pdf") as pdf:  # type: ignore[no-untyped-call]
        pages = [_convert_page(page) for page in pdf]
        title = (pdf.metadata or {}).get("title") or None
    return Document(pages=pages, file_type="pdf", title=title)


def _convert_page(page: Any) -> Page:
    words_by_line: dict[tuple[int, int], list[Word]] = {}
    for x0, y0, x1, y1, text, block_no, line_no, _ in page.get_text("words", sort=True):
        words_by_line.setdefault((block_no, line_no), []).append(Word(text, (x0, y0, x1, y1)))
    sizes = _line_font_sizes(page)
    blocks: dict[int, Block] = {}
    for (block_no, line_no), words in words_by_line.items():
        size, bold = sizes.get((block_no, line_no), (0.0, False))
        line = Line(words=words, bbox=_union([w.bbox for w in words]), font_size=size, bold=bold)
        blocks.setdefault(block_no, Block(kind="paragraph")).lines.append(line)
    for block in blocks.values():
        block.bbox = _union([line.bbox for line in block.lines])
    rect = page.rect
    return Page(number=page.number + 1, width=rect.width, height=rect.height,
                blocks=list(blocks.values()))


def _line_font_sizes(page: Any) -> dict[tuple[int, int], tuple[float, bool]]:
    sizes: dict[tuple[int, int], tuple[float, bool]] = {}
    for block in page.get_text("dict")["blocks"]:
        for line_no, line in enumerate(block.get("lines", [])):
            spans = line.get("spans") or [{}]
            size = max(float(span.get("size", 0.0)) for span in spans)
            bold = all(int(span.get("flags", 0)) & 16 for span in spans)
            sizes[(block["number"], line_no)] = (size, bold)
    return sizes


def _union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
