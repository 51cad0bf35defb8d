"""DOCX → Document with python-docx: paragraphs and tables in body order, styles as structure.

The body is walked as XML (python-docx's objects cost an XPath query per paragraph
and run): content controls and text boxes are read where they stand, lists are
numbered from the numbering part, runs keep their links and emphasis, images
become placeholders with their alt text, and merged table cells repeat their text
in every cell they span. A one-cell table is a frame around content, not data: its
content is read as body.
"""

from __future__ import annotations

import io
import re
from typing import Any

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.inline import PLAIN, Inline, Style
from worker.pipeline.convert.ooxml import transitional
from worker.pipeline.document import Document

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)
_NESTED_LIST_STYLE = re.compile(r"^list(?: bullet| number| continue)? ([2-9])$", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_V = "{urn:schemas-microsoft-com:vml}"
_P, _TBL, _TC = f"{_W}p", f"{_W}tbl", f"{_W}tc"
# Elements whose children are the body's own blocks or a paragraph's own runs.
_BLOCK_WRAPPERS = {f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}txbxContent"}
_RUN_WRAPPERS = {f"{_W}sdt", f"{_W}sdtContent", f"{_W}smartTag", f"{_W}customXml", f"{_W}ins",
                 f"{_W}fldSimple", f"{_W}moveTo", f"{_M}oMathPara", f"{_M}oMath"}
_FALSE = {"0", "false", "off", "none"}
_NOT_NUMBERED = {"bullet", "none", ""}


def convert_docx(data: bytes) -> Document:
    package = docx.Document(io.BytesIO(transitional(data)))
    flow = FlowPage(1)
    _Reader(package).blocks(flow, package.element.body)
    title = package.core_properties.title or None
    return Document(pages=[flow.page()], file_type="docx", title=title)


class _Reader:
    def __init__(self, package: Any) -> None:
        self.package = package
        self.styles: dict[str | None, Any] = {}
        self.numbering = _Numbering(package)
        self.links = {rel_id: rel.target_ref for rel_id, rel in package.part.rels.items()
                      if rel.reltype == RELATIONSHIP_TYPE.HYPERLINK}

    def blocks(self, flow: FlowPage, container: Any) -> None:
        for child in container.iterchildren():
            if child.tag == _P:
                self.paragraph(flow, child)
            elif child.tag == _TBL:
                self.table(flow, child)
            elif child.tag in _BLOCK_WRAPPERS:
                self.blocks(flow, child)

    def paragraph(self, flow: FlowPage, p: Any) -> None:
        inline, boxes = Inline(), list[Any]()
        self.runs(inline, p, PLAIN, boxes)
        style = self.style(p)
        name = (style.name if style is not None else "") or ""
        heading = _HEADING_STYLE.match(name)
        numbering = self.numbering.number(p, style)
        if heading:
            inline.into(flow, kind="heading", level=int(heading.group(1)))
        elif name.lower() == "title":
            inline.into(flow, kind="heading", level=1)
        elif numbering is not None or name.lower().startswith("list"):
            inline.into(flow, kind="list_item", level=_list_level(numbering, name),
                        prefix=f"{numbering[1]}. " if numbering and numbering[1] else "")
        else:
            inline.into(flow)
        for box in boxes:
            self.blocks(flow, box)

    def style(self, p: Any) -> Any:
        """The paragraph's style, each looked up once (python-docx scans all styles per call)."""
        style_id = p.style
        if style_id not in self.styles:
            self.styles[style_id] = self.package.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
        return self.styles[style_id]

    def runs(self, inline: Inline, parent: Any, style: Style, boxes: list[Any]) -> None:
        for child in parent.iterchildren():
            tag = child.tag
            if tag == f"{_W}r":
                self.run(inline, child, style, boxes)
            elif tag == f"{_W}hyperlink":
                target = self.links.get(child.get(_R_ID) or "")
                anchor = child.get(f"{_W}anchor")
                link = target or (f"#{anchor}" if anchor else None)
                self.runs(inline, child, Style(style.bold, style.italic, style.strike, link), boxes)
            elif tag == f"{_M}r":
                inline.add("".join(t.text or "" for t in child.iter(f"{_M}t")), style)
            elif tag in _RUN_WRAPPERS or tag.startswith(_M):
                self.runs(inline, child, style, boxes)

    def run(self, inline: Inline, r: Any, style: Style, boxes: list[Any]) -> None:
        style = _run_style(r.find(f"{_W}rPr"), style)
        for child in r.iterchildren():
            tag = child.tag
            if tag == f"{_W}t":
                inline.add(child.text or "", style)
            elif tag == f"{_W}tab":
                inline.add("\t", style)
            elif tag in (f"{_W}br", f"{_W}cr"):
                inline.add("\n", style)
            elif tag == f"{_W}noBreakHyphen":
                inline.add("-", style)
            elif tag in (f"{_W}drawing", f"{_W}pict", f"{_MC}AlternateContent"):
                self.drawing(inline, _chosen(child), boxes)

    def drawing(self, inline: Inline, drawing: Any, boxes: list[Any]) -> None:
        """An image's placeholder, or a text box's content (read after the paragraph)."""
        found = list(drawing.iter(f"{_W}txbxContent"))
        if found:
            boxes += [box for box in found if not any(b in box.iterancestors() for b in found)]
            return
        for described in drawing.iter(f"{_WP}docPr", f"{_V}shape"):
            inline.image(described.get("descr") or described.get("title") or described.get("alt") or "")
            return


    def table(self, flow: FlowPage, tbl: Any) -> None:
        rows = _grid(tbl)
        if len(rows) == 1 and len(rows[0]) == 1 and rows[0][0] is not None:
            self.blocks(flow, rows[0][0])  # a frame around content
            return
        texts: dict[int, tuple[str, str]] = {}
        for tc in (tc for row in rows for tc in row if tc is not None and id(tc) not in texts):
            texts[id(tc)] = self.cell_text(tc)
        cells = [[texts[id(tc)] if tc is not None else ("", "") for tc in row] for row in rows]
        flow.add_table([[plain for plain, _ in row] for row in cells],
                       markdown=[[marked for _, marked in row] for row in cells])

    def cell_text(self, tc: Any) -> tuple[str, str]:
        """The cell's paragraphs (nested tables' included) on one line, list items marked: as
        plain text and with inline markdown."""
        plain, marked = [], []
        for p in tc.iter(_P):
            inline = Inline()
            self.runs(inline, p, PLAIN, [])
            numbering = self.numbering.number(p, self.style(p))
            marker = "" if numbering is None else f"{numbering[1]}. " if numbering[1] else "- "
            if inline.plain:
                plain.append(marker + inline.plain)
                marked.append(marker + inline.markdown.replace("\n", " "))
        return " ".join(plain), " ".join(marked)


class _Numbering:
    """List levels and running numbers from the numbering part (`numbering.xml`)."""

    def __init__(self, package: Any) -> None:
        self.formats: dict[tuple[str, int], str] = {}
        self.counters: dict[tuple[str, int], int] = {}
        try:
            root = package.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract = {a.get(f"{_W}abstractNumId"): a for a in root.iterchildren(f"{_W}abstractNum")}
        for num in root.iterchildren(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            levels = abstract.get(ref.get(f"{_W}val") if ref is not None else None)
            for level in levels.iterchildren(f"{_W}lvl") if levels is not None else []:
                fmt = level.find(f"{_W}numFmt")
                key = (num.get(f"{_W}numId") or "", int(level.get(f"{_W}ilvl") or 0))
                self.formats[key] = fmt.get(f"{_W}val") if fmt is not None else ""

    def number(self, p: Any, style: Any) -> tuple[int, int] | None:
        """(level, running number or 0 for bullets), or None when the paragraph is no list item."""
        num_pr = _num_pr(p.pPr) or (_num_pr(style.element.pPr) if style is not None else None)
        if num_pr is None or num_pr[0] == "0":
            return None
        num_id, level = num_pr
        fmt = self.formats.get((num_id, level), self.formats.get((num_id, 0), "bullet"))
        for deeper in [key for key in self.counters if key[0] == num_id and key[1] > level]:
            del self.counters[deeper]
        if fmt in _NOT_NUMBERED:
            return level, 0
        self.counters[(num_id, level)] = self.counters.get((num_id, level), 0) + 1
        return level, self.counters[(num_id, level)]


def _list_level(numbering: tuple[int, int] | None, style_name: str) -> int:
    """The numbering's level; Word's own "List Bullet 2"-style styles nest by their name
    instead (each has a list of its own, at level 0, indented further)."""
    level = numbering[0] if numbering else 0
    nested = _NESTED_LIST_STYLE.match(style_name)
    return int(nested.group(1)) - 1 if level == 0 and nested else level


def _num_pr(properties: Any) -> tuple[str, int] | None:
    num_pr = properties.find(f"{_W}numPr") if properties is not None else None
    if num_pr is None:
        return None
    num_id, level = num_pr.find(f"{_W}numId"), num_pr.find(f"{_W}ilvl")
    if num_id is None:
        return None
    return num_id.get(f"{_W}val") or "", int(level.get(f"{_W}val") or 0) if level is not None else 0


def _run_style(properties: Any, style: Style) -> Style:
    if properties is None:
        return style
    return Style(bold=style.bold or _on(properties, "b"), italic=style.italic or _on(properties, "i"),
                 strike=style.strike or _on(properties, "strike") or _on(properties, "dstrike"),
                 link=style.link)


def _on(properties: Any, name: str) -> bool:
    element = properties.find(f"{_W}{name}")
    return element is not None and (element.get(f"{_W}val") or "true").lower() not in _FALSE


def _chosen(element: Any) -> Any:
    """Markup compatibility: the first choice of an `mc:AlternateContent`, else the element."""
    if element.tag != f"{_MC}AlternateContent":
        return element
    for option in (element.find(f"{_MC}Choice"), element.find(f"{_MC}Fallback")):
        if option is not None:
            return option
    return element


def _grid(table: Any) -> list[list[Any]]:
    """The table's cells by row and grid column: a cell spanning columns appears in each, a
    vertically merged cell in each row it covers."""
    rows: list[list[Any]] = []
    for tr in _children(table, f"{_W}tr"):
        row: list[Any] = [None] * _span(tr.find(f"{_W}trPr"), "gridBefore")
        for tc in _children(tr, _TC):
            properties = tc.find(f"{_W}tcPr")
            merge = properties.find(f"{_W}vMerge") if properties is not None else None
            above = rows[-1][len(row)] if rows and len(rows[-1]) > len(row) else None
            source = above if merge is not None and merge.get(f"{_W}val") != "restart" else tc
            row += [source] * max(1, _span(properties, "gridSpan"))
        rows.append(row)
    return rows


def _children(parent: Any, tag: str) -> list[Any]:
    """`tag` children, also those wrapped in content controls."""
    found = []
    for child in parent.iterchildren():
        if child.tag == tag:
            found.append(child)
        elif child.tag in _BLOCK_WRAPPERS:
            found += _children(child, tag)
    return found


def _span(properties: Any, name: str) -> int:
    element = properties.find(f"{_W}{name}") if properties is not None else None
    value = element.get(f"{_W}val") if element is not None else None
    return min(int(value), 1000) if value and value.isdigit() else 0
