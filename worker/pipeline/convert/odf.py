"""OpenDocument (ODT, ODS, ODP) → Document with odfpy.

ODT as one flowing page like DOCX: headings by outline level, lists with their
numbering, tables, links, emphasis and image placeholders. ODS as one page per
sheet like XLSX: the sheet's name as heading, each block of connected cells a
table. ODP as one page per slide like PPTX: the title frame as heading, then the
frames in order, then the speaker notes.
"""

from __future__ import annotations

import io
from typing import Any

from odf.namespaces import (
    DRAWNS,
    FONS,
    OFFICENS,
    PRESENTATIONNS,
    STYLENS,
    SVGNS,
    TABLENS,
    TEXTNS,
    XLINKNS,
)
from odf.opendocument import load

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.inline import PLAIN, Inline, Style
from worker.pipeline.convert.xlsx import MAX_COLUMNS, MAX_ROWS, regions
from worker.pipeline.document import Document

_TEXT_NODE = 3
_CONTAINERS = {(TEXTNS, "section"), (TEXTNS, "list-header"), (TEXTNS, "index-body"),
               (TEXTNS, "table-of-content"), (DRAWNS, "text-box"), (DRAWNS, "frame"), (DRAWNS, "g"),
               (DRAWNS, "custom-shape"), (PRESENTATIONNS, "notes"),
               (TABLENS, "table-header-rows"), (TABLENS, "table-rows"), (TABLENS, "table-row-group")}
_ROW_GROUPS = {(TABLENS, "table-header-rows"), (TABLENS, "table-rows"), (TABLENS, "table-row-group")}
_CELLS = {(TABLENS, "table-cell"), (TABLENS, "covered-table-cell")}


def convert_odf(data: bytes, kind: str) -> Document:
    package = load(io.BytesIO(data))
    reader = _Reader(package)
    if kind == "ods":
        return Document(pages=[reader.sheet(n, t) for n, t in enumerate(_sheets(package), 1)],
                        file_type=kind)
    if kind == "odp":
        return Document(pages=[reader.slide(n, p) for n, p in enumerate(_slides(package), 1)],
                        file_type=kind)
    flow = FlowPage(1)
    reader.blocks(flow, package.text, 0)
    return Document(pages=[flow.page()], file_type=kind)


def _sheets(package: Any) -> list[Any]:
    return [node for node in package.spreadsheet.childNodes if node.qname == (TABLENS, "table")]


def _slides(package: Any) -> list[Any]:
    return [node for node in package.presentation.childNodes if node.qname == (DRAWNS, "page")]


class _Reader:
    def __init__(self, package: Any) -> None:
        self.text_styles: dict[str, Style] = {}
        self.ordered: dict[str, bool] = {}
        for styles in (package.styles, package.automaticstyles):
            for style in styles.childNodes:
                self._style(style)

    def _style(self, style: Any) -> None:
        name = _attr(style, STYLENS, "name")
        if style.qname == (STYLENS, "style"):
            for props in style.childNodes:
                if props.qname == (STYLENS, "text-properties"):
                    self.text_styles[name] = Style(
                        bold=_attr(props, FONS, "font-weight") in ("bold", "600", "700", "800", "900"),
                        italic=_attr(props, FONS, "font-style") in ("italic", "oblique"))
        elif style.qname == (TEXTNS, "list-style"):
            levels = [child.qname[1] for child in style.childNodes]
            self.ordered[name] = bool(levels) and levels[0] == "list-level-style-number"

    def blocks(self, flow: FlowPage, container: Any, level: int) -> None:
        for node in container.childNodes:
            name = node.qname if node.nodeType != _TEXT_NODE else None
            if name == (TEXTNS, "h"):
                outline = _attr(node, TEXTNS, "outline-level")
                self.inline(node).into(flow, kind="heading", level=int(outline) if outline.isdigit() else 1)
            elif name == (TEXTNS, "p"):
                self.paragraph(flow, node)
            elif name == (TEXTNS, "list"):
                self.items(flow, node, level, self.ordered.get(_attr(node, TEXTNS, "style-name"), False))
            elif name == (TABLENS, "table"):
                cells = self.table_cells(node)
                flow.add_table([[plain for plain, _ in row] for row in cells],
                               markdown=[[marked for _, marked in row] for row in cells])
            elif name in _CONTAINERS:
                self.blocks(flow, node, level)

    def paragraph(self, flow: FlowPage, node: Any) -> None:
        boxes: list[Any] = []
        self.inline(node, boxes).into(flow)
        for box in boxes:
            self.blocks(flow, box, 0)

    def items(self, flow: FlowPage, node: Any, level: int, ordered: bool) -> None:
        number = 0
        for item in node.childNodes:
            if item.qname != (TEXTNS, "list-item"):
                continue
            number += 1
            for child in item.childNodes:
                if child.qname == (TEXTNS, "list"):
                    self.items(flow, child, level + 1, self.ordered.get(
                        _attr(child, TEXTNS, "style-name"), ordered))
                elif child.qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                    self.inline(child).into(flow, kind="list_item", level=level,
                                            prefix=f"{number}. " if ordered else "")

    def inline(self, node: Any, boxes: list[Any] | None = None) -> Inline:
        inline = Inline()
        self._runs(inline, node, PLAIN, boxes if boxes is not None else [])
        return inline

    def _runs(self, inline: Inline, node: Any, style: Style, boxes: list[Any]) -> None:
        for child in node.childNodes:
            if child.nodeType == _TEXT_NODE:
                inline.add(child.data, style)
                continue
            name = child.qname
            if name == (TEXTNS, "s"):
                inline.add(" ", style)
            elif name == (TEXTNS, "tab"):
                inline.add("\t", style)
            elif name == (TEXTNS, "line-break"):
                inline.add("\n", style)
            elif name == (TEXTNS, "a"):
                link = _attr(child, XLINKNS, "href") or None
                self._runs(inline, child, Style(style.bold, style.italic, style.strike, link), boxes)
            elif name == (TEXTNS, "span"):
                span = self.text_styles.get(_attr(child, TEXTNS, "style-name"), PLAIN)
                self._runs(inline, child, Style(style.bold or span.bold, style.italic or span.italic,
                                                style.strike, style.link), boxes)
            elif name == (DRAWNS, "frame"):
                self._frame(inline, child, boxes)
            elif name not in ((TEXTNS, "note"), (OFFICENS, "annotation")):
                self._runs(inline, child, style, boxes)

    def _frame(self, inline: Inline, frame: Any, boxes: list[Any]) -> None:
        """A frame in a paragraph: its text box is read after the paragraph, an image is a
        placeholder with its description."""
        for child in frame.childNodes:
            if child.qname == (DRAWNS, "text-box"):
                boxes.append(child)
                return
        if any(child.qname == (DRAWNS, "image") for child in frame.childNodes):
            inline.image(_described(frame))

    def table_rows(self, table: Any) -> list[list[str]]:
        return [[plain for plain, _ in row] for row in self.table_cells(table)]

    def table_cells(self, table: Any) -> list[list[tuple[str, str]]]:
        """Each cell as (plain text, text with inline markdown), by row."""
        rows: list[list[tuple[str, str]]] = []
        for row in _rows(table):
            repeat = _count(row, "number-rows-repeated", MAX_ROWS - len(rows))
            cells: list[tuple[str, str]] = []
            for cell in row.childNodes:
                if cell.qname in _CELLS:
                    text = self.cell_text(cell)
                    cells += [text] * _count(cell, "number-columns-repeated", MAX_COLUMNS - len(cells))
            # A long run of blank rows (a sheet's unused tail) is one row, not a million.
            rows += [cells] * (repeat if any(plain for plain, _ in cells) else min(repeat, 1))
            if len(rows) >= MAX_ROWS:
                break
        return rows

    def cell_text(self, cell: Any) -> tuple[str, str]:
        inlines = []
        for child in cell.childNodes:
            if child.qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                inlines.append(("", self.inline(child)))
            elif child.qname == (TEXTNS, "list"):
                inlines += [("- ", self.inline(p)) for p in _descendants(child, (TEXTNS, "p"))]
        kept = [(marker, inline) for marker, inline in inlines if inline.plain]
        return (" ".join(inline.plain for _, inline in kept),
                " ".join(marker + inline.markdown.replace("\n", " ") for marker, inline in kept))

    def sheet(self, number: int, table: Any) -> Any:
        name = _attr(table, TABLENS, "name") or f"Sheet {number}"
        flow = FlowPage(number, label=name)
        flow.add_text(name, kind="heading", level=2)
        for block in regions(self.table_rows(table)):
            flow.add_table(block)
        return flow.page()

    def slide(self, number: int, page: Any) -> Any:
        flow = FlowPage(number, label=f"slide {number}")
        for frame in page.childNodes:
            if _attr(frame, PRESENTATIONNS, "class") == "title":
                self.inline(frame).into(flow, kind="heading", level=1)
            elif frame.qname == (DRAWNS, "frame") and any(
                    child.qname == (DRAWNS, "image") for child in frame.childNodes):
                inline = Inline()
                inline.image(_described(frame))
                inline.into(flow)
            elif frame.qname in _CONTAINERS and frame.qname != (PRESENTATIONNS, "notes"):
                self.blocks(flow, frame, 0)
        for notes in (node for node in page.childNodes if node.qname == (PRESENTATIONNS, "notes")):
            if any(self.inline(p).plain for p in _descendants(notes, (TEXTNS, "p"))):
                flow.add_text("Notes", kind="heading", level=3)
                self.blocks(flow, notes, 0)
        return flow.page()


def _rows(table: Any) -> list[Any]:
    rows = []
    for child in table.childNodes:
        if child.qname == (TABLENS, "table-row"):
            rows.append(child)
        elif child.qname in _ROW_GROUPS:
            rows += _rows(child)
    return rows


def _descendants(node: Any, qname: tuple[str, str]) -> list[Any]:
    found = []
    for child in node.childNodes:
        if child.nodeType == _TEXT_NODE:
            continue
        if child.qname == qname:
            found.append(child)
        found += _descendants(child, qname)
    return found


def _described(frame: Any) -> str:
    for child in frame.childNodes:
        if child.qname in ((SVGNS, "desc"), (SVGNS, "title")):
            text = "".join(node.data for node in child.childNodes if node.nodeType == _TEXT_NODE)
            if text.strip():
                return text
    return ""


def _attr(node: Any, namespace: str, name: str) -> str:
    if node.nodeType == _TEXT_NODE:
        return ""
    return str(node.attributes.get((namespace, name), "") or "")


def _count(node: Any, name: str, room: int) -> int:
    value = _attr(node, TABLENS, name)
    return max(0, min(int(value) if value.isdigit() else 1, room))
