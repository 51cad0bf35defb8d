"""How deeply an HTML document nests, measured before anything builds its tree.

A few hundred kilobytes of `<div>` or `<table><tr><td>` nested tens of thousands deep cost
the converter minutes. The scan streams libxml2's HTML parser events (the parser the
converter uses, so implied end tags — `<p>`, `<li>`, `<td>` — close as they will there),
keeps no tree, and stops at the first element past the limit.
"""

from __future__ import annotations

import io

from lxml import etree

from shared.errors import InvalidFile


def check_html_depth(markup: bytes | str, max_depth: int) -> None:
    """400 `nesting_too_deep` when elements nest more than `max_depth` deep."""
    data = markup.encode() if isinstance(markup, str) else markup
    if data.count(b"<") <= max_depth:
        return  # too few tags to nest that deep
    if _deepest(data, max_depth) > max_depth:
        raise InvalidFile(f"The HTML nests elements more than {max_depth} deep.",
                          code="nesting_too_deep")


def _deepest(data: bytes, stop_past: int) -> int:
    """The deepest nesting seen, scanning no further than one past `stop_past`."""
    depth = deepest = 0
    # huge_tree: libxml2's own depth cap (256) would end the scan early without saying so.
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), html=True,
                             huge_tree=True, recover=True, no_network=True)
    try:
        for event, element in events:
            if event == "end":
                depth -= 1
                _forget(element)
                continue
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_past:
                break
    except etree.LxmlError:
        pass  # what parsed so far is what the converter would see too
    return deepest


def _forget(element: etree._Element) -> None:
    """Drop a finished element and its earlier siblings, so the scan holds no tree."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]
