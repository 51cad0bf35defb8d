"""What an XLSX sheet holds beside its cell values, read from the package's XML parts:
merged ranges, cell comments (notes and threaded comments), pictures and charts.

openpyxl's read-only mode (the one that streams large sheets) reads none of these, and
its full mode would build every cell as an object; these parts are small and read here
directly. Merged ranges sit at the end of the worksheet part, which is scanned as a
byte stream rather than parsed again.
"""

from __future__ import annotations

import logging
import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import TypeVar

from lxml import etree

from shared.files.failures import is_damage

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_THREADED = "{http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments}"
_DRAWING = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?\bref=\"([A-Z]{1,3}\d+):([A-Z]{1,3}\d+)\"")
_CELL = re.compile(r"([A-Z]{1,3})(\d+)")
_CHUNK = 1 << 20
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_CHART_KINDS = {"lineChart": "Line", "line3DChart": "Line", "barChart": "Bar", "bar3DChart": "Bar",
                "pieChart": "Pie", "pie3DChart": "Pie", "doughnutChart": "Doughnut",
                "areaChart": "Area", "area3DChart": "Area", "scatterChart": "Scatter",
                "bubbleChart": "Bubble", "radarChart": "Radar", "stockChart": "Stock",
                "surfaceChart": "Surface", "surface3DChart": "Surface", "ofPieChart": "Pie"}

MAX_MERGES = 100_000
"""Merged ranges read per sheet; more than a sheet of readable size would hold."""
MAX_POINTS = 10_000
"""A chart's data table is cut at this many rows, as a sheet is."""

Cell = tuple[int, int]
"""(row, column), 0-based."""
RangeReader = Callable[[str], list[str]]
"""The cell values a range formula (`'Sheet'!$A$2:$A$9`) names."""
_RANGE = re.compile(r"(?:'((?:[^']|'')+)'|([^'!]+))!(\$?[A-Z]{1,3}\$?\d+)(?::(\$?[A-Z]{1,3}\$?\d+))?")


@dataclass(frozen=True)
class Comment:
    cell: str
    author: str
    text: str
    time: str = ""


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    rows: list[list[str]]
    """Its data as cached in the chart: a header of series names, then one row per point."""


@dataclass(frozen=True)
class Drawing:
    """A picture (`chart` None) or a chart, anchored at `cell`."""

    cell: Cell
    alt: str = ""
    chart: Chart | None = None


@dataclass
class SheetParts:
    merged: list[tuple[Cell, Cell]] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    drawings: list[Drawing] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What could not be read ("comments", …)."""


def sheet_parts(archive: zipfile.ZipFile, sheet_path: str, cells: RangeReader = lambda _: []
                ) -> SheetParts:
    """Everything besides cell values that the worksheet part at `sheet_path` links to. A part
    that cannot be read (damaged XML, a missing target) is left out with a warning: the
    cells still convert. `cells` reads a chart's data range where the chart stores no copy."""
    parts = SheetParts()
    parts.merged = _guarded(parts, "merged cells", partial(_merged, archive, sheet_path))
    related = _guarded(parts, "relationships", partial(_relations, archive, sheet_path))
    threaded = [target for kind, target in related if kind.endswith("/threadedComment")]
    for kind, target in related:
        if kind.endswith("/comments"):
            parts.comments += _guarded(parts, "comments", partial(_notes, archive, target,
                                                                  skip_threads=bool(threaded)))
        elif kind.endswith("/drawing"):
            parts.drawings += _guarded(parts, "pictures and charts",
                                       partial(_drawings, archive, target, cells))
    for target in threaded:
        parts.comments += _guarded(parts, "comments", partial(_threaded, archive, target))
    return parts


def _guarded(parts: SheetParts, what: str, read: Callable[[], list[_T]]) -> list[_T]:
    try:
        return read()
    except Exception as exc:
        if not is_damage(exc):
            raise
        log.info("sheet %s skipped: %s: %s", what, type(exc).__name__, exc)
        parts.warnings.append(what)
        return []


def cell_index(reference: str) -> Cell:
    """`"B3"` → (2, 1)."""
    match = _CELL.fullmatch(reference)
    if match is None:
        raise ValueError(f"not a cell reference: {reference!r}")
    column = 0
    for letter in match.group(1):
        column = column * 26 + ord(letter) - ord("A") + 1
    return int(match.group(2)) - 1, column - 1


def _merged(archive: zipfile.ZipFile, sheet_path: str) -> list[tuple[Cell, Cell]]:
    found: list[tuple[Cell, Cell]] = []
    tail = b""
    with archive.open(sheet_path) as stream:
        while chunk := stream.read(_CHUNK):
            text = tail + chunk
            end = 0
            for match in _MERGE.finditer(text):
                found.append((cell_index(match.group(1).decode()), cell_index(match.group(2).decode())))
                end = match.end()
                if len(found) >= MAX_MERGES:
                    return found
            tail = text[max(end, len(text) - 256):]  # an element cut at the chunk's edge
    return found


def _relations(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str]]:
    """(type, target part) of a part's internal relationships."""
    return [(kind, target) for _, kind, target in _relationships(archive, part)]


def _relationships(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(id, type, target part) of a part's internal relationships."""
    folder, name = posixpath.split(part)
    rels = _xml(archive, posixpath.join(folder, "_rels", name + ".rels"))
    if rels is None:
        return []
    return [(rel.get("Id", ""), rel.get("Type", ""),
             posixpath.normpath(posixpath.join(folder, rel.get("Target", ""))))
            for rel in rels.iter(f"{_RELS}Relationship") if rel.get("TargetMode") != "External"]


def _xml(archive: zipfile.ZipFile, part: str) -> etree._Element | None:
    try:
        data = archive.read(part.lstrip("/"))
    except KeyError:
        return None
    return etree.fromstring(data, _PARSER)


def _notes(archive: zipfile.ZipFile, part: str, *, skip_threads: bool) -> list[Comment]:
    """Classic comments (notes). Excel also writes each threaded comment here as a plain-text
    copy for older readers, under an author `tc={id}`: left out when the threads are read."""
    root = _xml(archive, part)
    if root is None:
        return []
    authors = [" ".join(author.itertext()) for author in root.iter(f"{_MAIN}author")]
    comments = []
    for comment in root.iter(f"{_MAIN}comment"):
        index = int(comment.get("authorId") or 0)
        author = authors[index] if 0 <= index < len(authors) else ""
        if skip_threads and author.startswith("tc="):
            continue
        text = "".join(node.text or "" for node in comment.iter(f"{_MAIN}t"))
        comments.append(Comment(comment.get("ref", ""), author, " ".join(text.split())))
    return [comment for comment in comments if comment.text]


def _threaded(archive: zipfile.ZipFile, part: str) -> list[Comment]:
    root = _xml(archive, part)
    if root is None:
        return []
    people: dict[str, str] = {}
    for person_part in (name for name in archive.namelist() if name.startswith("xl/persons/")):
        persons = _xml(archive, person_part)
        if persons is not None:
            people |= {p.get("id", ""): p.get("displayName", "") for p in persons.iter(f"{_THREADED}person")}
    comments = []
    for comment in root.iter(f"{_THREADED}threadedComment"):
        text = " ".join("".join(node.text or "" for node in comment.iter(f"{_THREADED}text")).split())
        time = (comment.get("dT") or "").replace("T", " ")[:16]
        comments.append(Comment(comment.get("ref", ""), people.get(comment.get("personId", ""), ""),
                                text, time))
    return [comment for comment in comments if comment.text]


def _drawings(archive: zipfile.ZipFile, part: str, cells: RangeReader) -> list[Drawing]:
    root = _xml(archive, part)
    if root is None:
        return []
    charts = {rel_id: target for rel_id, _, target in _relationships(archive, part)}
    drawings = []
    for anchor in root:
        start = anchor.find(f"{_DRAWING}from")
        cell = (_int(start, "row"), _int(start, "col")) if start is not None else (0, 0)
        picture = anchor.find(f"{_DRAWING}pic")
        if picture is not None:
            described = picture.find(f"{_DRAWING}nvPicPr/{_DRAWING}cNvPr")
            alt = described.get("descr", "") if described is not None else ""
            drawings.append(Drawing(cell, alt=alt))
            continue
        reference = anchor.find(f".//{_C}chart")
        target = charts.get(reference.get(f"{_R}id", "")) if reference is not None else None
        chart = _chart(archive, target, cells) if target else None
        if chart is not None:
            drawings.append(Drawing(cell, chart=chart))
    return drawings


def _int(element: etree._Element, name: str) -> int:
    child = element.find(f"{_DRAWING}{name}")
    try:
        return int(child.text or 0) if child is not None else 0
    except ValueError:
        return 0


def _chart(archive: zipfile.ZipFile, part: str, cells: RangeReader) -> Chart | None:
    root = _xml(archive, part)
    plot = root.find(f".//{_C}plotArea") if root is not None else None
    if root is None or plot is None:
        return None
    kinds = [_CHART_KINDS[child.tag[len(_C):]] for child in plot
             if child.tag.startswith(_C) and child.tag[len(_C):] in _CHART_KINDS]
    series = list(plot.iter(f"{_C}ser"))
    names = [_points(s.find(f"{_C}tx"), cells).get(0, "") for s in series]
    title_element = root.find(f"{_C}chart/{_C}title")
    title = " ".join("".join(t.text or "" for t in title_element.iter(f"{_A}t", f"{_C}v")).split()) \
        if title_element is not None else ""
    return Chart(kind=kinds[0] if kinds else "", title=title or ", ".join(n for n in names if n),
                 rows=_chart_rows(series, names, cells))


def _chart_rows(series: list[etree._Element], names: list[str], cells: RangeReader
                ) -> list[list[str]]:
    """Categories (or x values) down the first column, one column per series."""
    if not series:
        return []
    first = series[0]
    categories = _points(first.find(f"{_C}cat"), cells) or _points(first.find(f"{_C}xVal"), cells)
    values = [_points(s.find(f"{_C}val"), cells) or _points(s.find(f"{_C}yVal"), cells)
              for s in series]
    count = min(MAX_POINTS, max([len(categories), *(max(v, default=-1) + 1 for v in values)]))
    rows = [["", *names]]
    for point in range(count):
        rows.append([categories.get(point, str(point + 1)), *(v.get(point, "") for v in values)])
    return rows


def _points(element: etree._Element | None, cells: RangeReader) -> dict[int, str]:
    """The points of a data reference by index: the chart's cached copy (`c:pt idx=…`), else
    the cells its formula (`c:f`) names."""
    if element is None:
        return {}
    points = {}
    for point in element.iter(f"{_C}pt"):
        value = point.find(f"{_C}v")
        try:
            points[int(point.get("idx") or 0)] = _number(value.text or "" if value is not None else "")
        except ValueError:
            continue
    formula = element.find(f".//{_C}f")
    if not points and formula is not None and formula.text:
        points = dict(enumerate(cells(formula.text)))
    return points


def range_reader(title: str, rows: list[list[str]]) -> RangeReader:
    """Reads `'Sheet'!$A$2:$B$3`-style ranges of the sheet `title` (its grid `rows`), cell by
    cell, row by row; ranges of other sheets read as empty."""

    def read(formula: str) -> list[str]:
        match = _RANGE.fullmatch(formula.strip())
        if match is None or (match.group(1) or match.group(2) or "").replace("''", "'") != title:
            return []
        top, left = cell_index(match.group(3).replace("$", ""))
        bottom, right = cell_index((match.group(4) or match.group(3)).replace("$", ""))
        # Within the grid read (a range may name a whole column), and at most MAX_POINTS.
        bottom, right = min(bottom, len(rows) - 1), min(right, max(map(len, rows), default=0) - 1)
        values = (rows[r][c] if c < len(rows[r]) else ""
                  for r in range(top, bottom + 1) for c in range(left, right + 1))
        return list(islice(values, MAX_POINTS))

    return read


def _number(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else text
