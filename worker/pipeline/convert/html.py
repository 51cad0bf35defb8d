"""HTML → Document with BeautifulSoup (lxml): headings, paragraphs, lists, tables, code."""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.convert.text import decode_text
from worker.pipeline.document import Document

_DROP = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object")
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_TEXT_BLOCKS = frozenset({"p", "blockquote", "address", "figcaption", "caption", "dt", "dd", "summary"})


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
        if not _is_inline(tag):
            # Block boundaries separate words; inline ones (<b>x</b>.) must not.
            tag.insert_before(" ")
            tag.append(" ")
    _walk(flow, soup.body or soup)
    return title or None


def _walk(flow: FlowPage, container: Tag) -> None:
    pending: list[str] = []
    for child in container.children:
        if isinstance(child, NavigableString):
            pending.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        if child.name in ("br",):
            pending.append("\n")
            continue
        if _is_inline(child):
            pending.append(child.get_text())
            continue
        _flush(flow, pending)
        _element(flow, child)
    _flush(flow, pending)


def _element(flow: FlowPage, tag: Tag) -> None:
    name = tag.name
    if name in _HEADINGS:
        flow.add_text(_text(tag), kind="heading", level=_HEADINGS[name])
    elif name == "table":
        flow.add_table(_table_rows(tag))
    elif name in ("ul", "ol"):
        for number, item in enumerate(tag.find_all("li", recursive=False), start=1):
            prefix = f"{number}. " if name == "ol" else ""
            flow.add_text(prefix + _text(item), kind="list_item")
    elif name == "pre":
        flow.add_text(tag.get_text(), kind="code")
    elif name in _TEXT_BLOCKS:
        flow.add_text(_text(tag))
    else:
        _walk(flow, tag)


def _table_rows(table: Tag) -> list[list[str]]:
    rows = []
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue  # a nested table's rows belong to its cell's text
        rows.append([_text(cell) for cell in row.find_all(["th", "td"], recursive=False)])
    return rows


def _is_inline(tag: Tag) -> bool:
    return tag.name in ("a", "span", "b", "strong", "i", "em", "u", "code", "small", "sub", "sup",
                        "abbr", "mark", "time", "label", "font", "s", "q", "cite", "img")


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text().split())


def _flush(flow: FlowPage, pending: list[str]) -> None:
    text = " ".join("".join(pending).split())
    if text:
        flow.add_text(text)
    pending.clear()
