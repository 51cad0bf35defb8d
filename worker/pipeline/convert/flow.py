"""Page building for formats without geometry (DOCX, HTML, CSV, e-mail, text).

Blocks are stacked top to bottom on a notional letter-size page, so every word
gets a distinct box and reading order equals document order.
"""

from __future__ import annotations

from worker.pipeline.document import Block, BlockKind, Line, Page, line_from_text, table_block

PAGE_WIDTH = 612.0
LINE_HEIGHT = 12.0
HEADING_SIZES = {1: 24.0, 2: 20.0, 3: 16.0, 4: 14.0, 5: 13.0, 6: 12.0}


class FlowPage:
    """Accumulates blocks in order and hands back one `Page`."""

    def __init__(self, number: int, *, label: str | None = None) -> None:
        self.number = number
        self.label = label
        self.blocks: list[Block] = []
        self._top = 0.0

    def add_text(self, text: str, *, kind: BlockKind = "paragraph", level: int = 0,
                 markdown: str | None = None) -> None:
        size = HEADING_SIZES.get(level, LINE_HEIGHT) if kind == "heading" else LINE_HEIGHT
        lines = [self._line(row, size) for row in text.splitlines() if row.strip()]
        if lines:
            bold = kind == "heading"
            for line in lines:
                line.bold = bold
            self.blocks.append(Block(kind=kind, lines=lines, bbox=_union(lines), level=level,
                                     markdown=markdown))
            self._top += size * 0.5

    def add_table(self, rows: list[list[str]], *, has_header: bool = True,
                  markdown: list[list[str]] | None = None) -> None:
        """A table of plain cells; `markdown`, shaped as `rows`, the same cells with inline marks."""
        kept = [i for i, row in enumerate(markdown or rows) if any(cell.strip() for cell in row)]
        rows = [[" ".join(cell.split()) for cell in rows[i]] for i in kept]
        if not rows:
            return
        lines = [self._line("  ".join(cell for cell in row if cell), LINE_HEIGHT) for row in rows]
        block = table_block(rows, lines=lines, has_header=has_header, bbox=_union(lines))
        if markdown is not None and block.table is not None:
            marked = [[" ".join(cell.split()) for cell in markdown[i]] for i in kept]
            block.table.markdown = marked if marked != rows else None
        self.blocks.append(block)
        self._top += LINE_HEIGHT * 0.5

    def add_block(self, block: Block) -> None:
        self.blocks.append(block)

    def page(self) -> Page:
        return Page(number=self.number, width=PAGE_WIDTH, height=max(self._top, LINE_HEIGHT),
                    blocks=self.blocks, label=self.label)

    def _line(self, text: str, size: float) -> Line:
        line = line_from_text(text, top=self._top, height=size)
        line.font_size = size
        self._top += size * 1.2
        return line


def _union(lines: list[Line]) -> tuple[float, float, float, float]:
    return (min(line.bbox[0] for line in lines), min(line.bbox[1] for line in lines),
            max(line.bbox[2] for line in lines), max(line.bbox[3] for line in lines))
