"""HTML → Document with BeautifulSoup (lxml): headings, paragraphs, lists, tables, code.

Links, emphasis and images (as placeholders with their alt text) are kept as inline
markdown; nested lists keep their level and ordered lists their numbers; a cell
spanning rows or columns repeats its text in each cell it covers.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.inline import PLAIN, Inline, Style
from worker.pipeline.convert.text import decode_text
from worker.pipeline.document import Document

_DROP = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object")
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_TEXT_BLOCKS = frozenset({"p", "blockquote", "address", "figcaption", "caption", "dt", "dd", "summary"})
_INLINE = frozenset({"a", "span", "b", "strong", "i", "em", "u", "code", "small", "sub", "sup", "abbr",
                     "mark", "time", "label", "font", "s", "q", "cite", "img", "del", "ins", "strike",
                     "br", "kbd", "var", "samp", "bdi", "bdo", "data", "dfn", "tt", "big", "wbr"})
_BOLD, _ITALIC, _STRIKE = {"b", "strong"}, {"i", "em", "cite", "dfn", "var"}, {"s", "del", "strike"}
_CODE = {"code", "kbd", "samp", "tt"}
_LISTS = ("ul", "ol")
MAX_SPAN = 1000


def convert_html(data: bytes) -> Document:
    flow = FlowPage(1)
    title = html_into(flow, decode_text(data))
    return Document(pages=[flow.page()], file_type="html", title=title)


def html_into(flow: FlowPage, markup: str) -> str | None:
    """Append the HTML's content to `flow`; returns the document title, if any."""
    soup = BeautifulSoup(markup, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(_DROP):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.name not in _INLINE:
            # Block boundaries separate words; inline ones (<b>x</b>.) must not. The spaces go
            # inside the tag: `insert_before` looks the tag up among its siblings, which made
            # a list of n items cost n² (a code block keeps its first line's indentation).
            if tag.name != "pre":
                tag.insert(0, " ")
            tag.append(" ")
    _walk(flow, soup.body or soup)
    return title or None


def _walk(flow: FlowPage, container: Tag) -> None:
    pending = Inline()
    for child in container.children:
        if isinstance(child, Tag) and child.name not in _INLINE:
            pending.into(flow)
            pending = Inline()
            _element(flow, child)
        else:
            _inline(pending, child, PLAIN)
    pending.into(flow)


def _element(flow: FlowPage, tag: Tag) -> None:
    name = tag.name
    if name in _HEADINGS:
        _inline_of(tag).into(flow, kind="heading", level=_HEADINGS[name])
    elif name == "table":
        plain, marked = _table_rows(tag)
        flow.add_table(plain, markdown=marked)
    elif name in _LISTS:
        _list(flow, tag, 0)
    elif name == "pre":
        flow.add_text(tag.get_text(), kind="code")
    elif name in _TEXT_BLOCKS:
        _inline_of(tag).into(flow)
    else:
        _walk(flow, tag)


def _list(flow: FlowPage, tag: Tag, level: int) -> None:
    start = tag.get("start")
    number = int(start) if isinstance(start, str) and start.isdigit() else 1
    for item in tag.find_all("li", recursive=False):
        inline, nested = Inline(), []
        for child in item.children:
            if isinstance(child, Tag) and child.name in _LISTS:
                nested.append(child)
            else:
                _inline(inline, child, PLAIN)
        inline.into(flow, kind="list_item", level=level, prefix=f"{number}. " if tag.name == "ol" else "")
        number += 1
        for child in nested:
            _list(flow, child, level + 1)


def _inline_of(tag: Tag) -> Inline:
    inline = Inline()
    for child in tag.children:
        _inline(inline, child, PLAIN)
    return inline


def _inline(inline: Inline, node: object, style: Style) -> None:
    if isinstance(node, NavigableString):
        if not isinstance(node, PreformattedString):  # comments, doctypes, CDATA
            inline.add(_spaced(str(node)), style)
        return
    if not isinstance(node, Tag):
        return
    name = node.name
    if name == "br":
        inline.add("\n", style)
        return
    if name == "img":
        inline.image(str(node.get("alt") or node.get("title") or ""))
        return
    if name in _LISTS:  # a list inside a table cell: its items marked on the cell's one line
        number = 0
        for child in node.children:
            if isinstance(child, Tag) and child.name == "li":
                number += 1
                inline.add(f" {number}. " if name == "ol" else " - ", PLAIN)
            _inline(inline, child, style)
        return
    href = node.get("href") if name == "a" else None
    style = Style(bold=style.bold or name in _BOLD, italic=style.italic or name in _ITALIC,
                  strike=style.strike or name in _STRIKE,
                  link=href if isinstance(href, str) and href.strip() else style.link,
                  code=style.code or name in _CODE)
    for child in node.children:
        _inline(inline, child, style)


def _spaced(text: str) -> str:
    """Inner whitespace collapsed, one space kept at each end that had any."""
    core = " ".join(text.split())
    if not core:
        return " " if text else ""
    return (" " if text[:1].isspace() else "") + core + (" " if text[-1:].isspace() else "")


def _table_rows(table: Tag) -> tuple[list[list[str]], list[list[str]]]:
    """The cells' plain text and the same cells with inline markdown, by row."""
    rows: list[list[tuple[str, str]]] = []
    pending: dict[int, tuple[tuple[str, str], int]] = {}  # column → (cell, rows still covered)
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue  # a nested table's rows belong to its cell's text
        cells: list[tuple[str, str]] = []
        for cell in row.find_all(["th", "td"], recursive=False):
            _fill_spanned(cells, pending)
            text = " ".join(cell.get_text().split())
            inline = _inline_of(cell)
            content = (text, inline.markdown.replace("\n", " "))
            columns, down = _span(cell, "colspan"), _span(cell, "rowspan")
            for _ in range(columns):
                if down > 1:
                    pending[len(cells)] = (content, down - 1)
                cells.append(content)
        _fill_spanned(cells, pending, to_end=True)
        rows.append(cells)
    return [[plain for plain, _ in row] for row in rows], [[marked for _, marked in row] for row in rows]


def _fill_spanned(cells: list[tuple[str, str]], pending: dict[int, tuple[tuple[str, str], int]],
                  to_end: bool = False) -> None:
    while len(cells) in pending or (to_end and any(column >= len(cells) for column in pending)):
        column = len(cells)
        text, left = pending.pop(column, (("", ""), 0))
        if left > 1:
            pending[column] = (text, left - 1)
        cells.append(text)


def _span(cell: Tag, name: str) -> int:
    value = cell.get(name)
    return max(1, min(int(value), MAX_SPAN)) if isinstance(value, str) and value.isdigit() else 1
