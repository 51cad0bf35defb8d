"""PPTX → Document with python-pptx: one page per slide, shapes in reading order.

The slide title is a `#` heading; bulleted and numbered paragraphs are list items (their
bullets may be inherited from the slide layout and master, as a body placeholder's are);
runs keep their links and emphasis; pictures become placeholders with their alt text;
merged table cells repeat their text; the speaker notes follow the slide's content.
Shapes are read in rows, top to bottom, and left to right within a row.

A shape python-pptx cannot read (a type it does not know, a damaged part) is
skipped, and a slide that cannot be read at all is left out with a warning:
the rest of the presentation still converts.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from pptx import Presentation
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.shapes.group import GroupShape
from pptx.shapes.picture import Picture
from pptx.text.text import _Run

from shared.files.failures import is_damage
from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.inline import Inline, Style
from worker.pipeline.document import BlockKind, Document, Page

log = logging.getLogger(__name__)

_TITLES = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE}
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_BODIES = {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.SUBTITLE}
ROW_TOLERANCE = 91_440
"""EMU (0.1 inch): shapes whose tops are this close are one row of the slide."""


def convert_pptx(data: bytes) -> Document:
    presentation = Presentation(io.BytesIO(data))
    document = Document(pages=[], file_type="pptx")
    for number, slide in enumerate(presentation.slides, start=1):
        try:
            document.pages.append(_slide(number, slide))
        except Exception as exc:
            if not is_damage(exc):
                raise
            log.warning("slide %d left out: %s: %s", number, type(exc).__name__, exc)
            document.warnings.append(f"Slide {number} could not be read and was left out.")
    return document


def _slide(number: int, slide: Any) -> Page:
    flow = FlowPage(number, label=f"slide {number}")
    for shape in _reading_order(slide.shapes):
        _shape(flow, shape)
    notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    if notes is not None and notes.text.strip():
        flow.add_text("Notes", kind="heading", level=3)
        for paragraph in notes.paragraphs:
            _runs(paragraph).into(flow)
    return flow.page()


def _reading_order(shapes: Any) -> list[Any]:
    """Shapes in rows (tops within `ROW_TOLERANCE` of the row's first), each row left to right:
    text boxes laid out side by side are placed a few points apart vertically by hand."""
    rows: list[list[Any]] = []
    for shape in sorted(shapes, key=lambda shape: (_emu(shape.top), _emu(shape.left))):
        if rows and _emu(shape.top) - _emu(rows[-1][0].top) <= ROW_TOLERANCE:
            rows[-1].append(shape)
        else:
            rows.append([shape])
    return [shape for row in rows for shape in sorted(row, key=lambda shape: _emu(shape.left))]


def _emu(value: Any) -> int:
    return int(value or 0)


def _shape(flow: FlowPage, shape: Any) -> None:
    try:
        _read_shape(flow, shape)
    except Exception as exc:
        if not is_damage(exc):
            raise
        log.info("shape %r skipped: %s: %s", getattr(shape, "name", "?"), type(exc).__name__, exc)


def _read_shape(flow: FlowPage, shape: Any) -> None:
    # `shape.shape_type` raises for shapes python-pptx does not recognise: not asked here.
    if isinstance(shape, GroupShape):
        for child in _reading_order(shape.shapes):
            _shape(flow, child)
    elif isinstance(shape, Picture):
        inline = Inline()
        inline.image(shape._element._nvXxPr.cNvPr.get("descr") or "")
        inline.into(flow)
    elif getattr(shape, "has_table", False) and shape.has_table:
        cells = _table_cells(shape.table)
        flow.add_table([[plain for plain, _ in row] for row in cells],
                       markdown=[[marked for _, marked in row] for row in cells])
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        if _is_title(shape):
            _runs(*shape.text_frame.paragraphs, emphasis=False).into(flow, kind="heading", level=1)
            return
        numbers: dict[int, int] = {}
        styles = list_styles(shape)
        for paragraph in shape.text_frame.paragraphs:
            _paragraph(flow, paragraph, numbers, styles)


def _paragraph(flow: FlowPage, paragraph: Any, numbers: dict[int, int],
               styles: list[Any]) -> None:
    """A paragraph; bulleted (`a:buChar`) or numbered (`a:buAutoNum`) ones are list items."""
    level = paragraph.level
    bullet = bullet_of(paragraph._p.pPr, level, styles)
    numbered, bulleted = bullet == "number", bullet == "bullet"
    for deeper in [key for key in numbers if key > level]:
        del numbers[deeper]
    if numbered:
        numbers[level] = numbers.get(level, 0) + 1
    else:
        numbers.pop(level, None)
    kind: BlockKind = "list_item" if numbered or bulleted or level > 0 else "paragraph"
    _runs(paragraph).into(flow, kind=kind, level=level,
                          prefix=f"{numbers[level]}. " if numbered else "")


def bullet_of(properties: Any, level: int, styles: list[Any]) -> str | None:
    """"bullet", "number" or None (no bullet) for a paragraph at `level` (0-based): its own
    `a:pPr` decides, else the first list style, nearest first, that sets one for the level."""
    for candidate in [properties, *(style.find(f"{_A}lvl{level + 1}pPr") for style in styles)]:
        if candidate is None:
            continue
        if candidate.find(f"{_A}buNone") is not None:
            return None
        if candidate.find(f"{_A}buAutoNum") is not None:
            return "number"
        if candidate.find(f"{_A}buChar") is not None or candidate.find(f"{_A}buBlip") is not None:
            return "bullet"
    return None


def list_styles(shape: Any) -> list[Any]:
    """The list styles a shape's paragraphs inherit from, nearest first: its own, then for a
    placeholder the layout's and the master's placeholder and the master's text style (body
    text of a content placeholder is bulleted there, not in the slide)."""
    styles = [shape.text_frame._txBody.find(f"{_A}lstStyle")]
    if shape.is_placeholder:
        base = shape
        while (base := getattr(base, "_base_placeholder", None)) is not None:
            styles.append(base._element.find(f"{_P}txBody/{_A}lstStyle"))
        master = shape.part.slide.slide_layout.slide_master._element
        styles.append(master.find(f"{_P}txStyles/{_P}{_master_style(shape)}"))
    return [style for style in styles if style is not None]


def _master_style(shape: Any) -> str:
    kind = shape._element.ph_type
    if kind in _TITLES:
        return "titleStyle"
    if kind in _BODIES:
        return "bodyStyle"
    return "otherStyle"


def _runs(*paragraphs: Any, emphasis: bool = True) -> Inline:
    """The paragraphs' runs, line breaks and fields as one inline text."""
    inline = Inline()
    for index, paragraph in enumerate(paragraphs):
        if index:
            inline.add("\n")
        for child in paragraph._p.iterchildren(f"{_A}r", f"{_A}br", f"{_A}fld"):
            if child.tag == f"{_A}br":
                inline.add("\n")
                continue
            run = _Run(child, paragraph)
            link = run.hyperlink.address if child.find(f"{_A}rPr/{_A}hlinkClick") is not None else None
            inline.add(run.text, Style(bold=emphasis and bool(run.font.bold),
                                       italic=emphasis and bool(run.font.italic), link=link or None))
    return inline


def _table_cells(table: Any) -> list[list[tuple[str, str]]]:
    """Cells by row as (plain text, text with inline markdown); a merged cell's text in every
    cell it covers."""
    rows = [[_cell(cell) for cell in row.cells] for row in table.rows]
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            if cell.is_merge_origin:
                for dr in range(cell.span_height):
                    for dc in range(cell.span_width):
                        if r + dr < len(rows) and c + dc < len(rows[r + dr]):
                            rows[r + dr][c + dc] = rows[r][c]
    return rows


def _cell(cell: Any) -> tuple[str, str]:
    inline = _runs(*cell.text_frame.paragraphs)
    return cell.text, inline.markdown.replace("\n", " ")


def _is_title(shape: Any) -> bool:
    return bool(shape.is_placeholder and shape.placeholder_format.type in _TITLES)
