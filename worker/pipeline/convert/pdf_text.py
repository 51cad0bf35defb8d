"""A PDF page's text layer as a `Page`: words, line fonts, right-to-left lines in logical order.

MuPDF keeps the order the content stream wrote, and producers write Arabic and
Hebrew either in logical order or already laid out (visual order, left to
right). Lines with right-to-left letters are therefore rebuilt from their
characters' positions: visual order first, then the bidi reversal, so both kinds
of file give the same, logical text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from worker.pipeline.document import BBox, Block, Line, Page, Word

_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_STRONG_LTR = re.compile(r"[^\W\d_]")
T = TypeVar("T")


def text_layer_page(page: Any, text_page: Any) -> Page:
    """Blocks as MuPDF groups them, one `Line` per text line, in content order."""
    words_by_line: dict[tuple[int, int], list[Word]] = {}
    for x0, y0, x1, y1, text, block_no, line_no, _ in page.get_text("words", textpage=text_page):
        words_by_line.setdefault((block_no, line_no), []).append(Word(text, (x0, y0, x1, y1)))
    spans = page.get_text("rawdict" if _has_rtl(words_by_line) else "dict", textpage=text_page)
    fonts = _line_fonts(spans)
    blocks: dict[int, Block] = {}
    for (block_no, line_no), words in words_by_line.items():
        size, bold, chars = fonts.get((block_no, line_no), (0.0, False, None))
        if chars is not None:
            words = logical_words(chars) or words
        line = Line(words=words, bbox=union([w.bbox for w in words]), font_size=size, bold=bold)
        blocks.setdefault(block_no, Block(kind="paragraph")).lines.append(line)
    for block in blocks.values():
        block.bbox = union([line.bbox for line in block.lines])
    rect = page.rect
    return Page(number=page.number + 1, width=rect.width, height=rect.height,
                blocks=list(blocks.values()))


def _has_rtl(words_by_line: dict[tuple[int, int], list[Word]]) -> bool:
    return any(_RTL.search(word.text) for words in words_by_line.values() for word in words)


Chars = list[tuple[str, BBox]]


def _line_fonts(page_dict: dict[str, Any]) -> dict[tuple[int, int], tuple[float, bool, Chars | None]]:
    """Per line: largest font size, whether all of it is bold, and its characters where RTL."""
    fonts: dict[tuple[int, int], tuple[float, bool, Chars | None]] = {}
    for block in page_dict["blocks"]:
        for line_no, line in enumerate(block.get("lines", [])):
            spans = line.get("spans", [])
            chars = [(c["c"], tuple(c["bbox"])) for s in spans for c in s.get("chars", ())]
            texts = [s.get("text") or "".join(c for c, _ in chars) for s in spans]
            visible = [s for s, t in zip(spans, texts, strict=True) if t.strip()] or [{}]
            size = max(float(span.get("size", 0.0)) for span in visible)
            bold = all(int(span.get("flags", 0)) & 16 or "bold" in str(span.get("font", "")).lower()
                       for span in visible)
            rtl = any(_RTL.match(c) for c, _ in chars)
            fonts[(block["number"], line_no)] = (round(size, 1), bool(bold), chars if rtl else None)
    return fonts


def logical_words(chars: Chars) -> list[Word]:
    """Words of one line in logical order, from its characters wherever the stream put them."""
    visual: list[list[tuple[str, BBox]]] = [[]]
    previous: BBox | None = None
    for char, box in sorted(chars, key=lambda item: (item[1][0] + item[1][2]) / 2):
        gap = previous is not None and box[0] - previous[2] > 0.25 * (box[3] - box[1])
        if char.isspace() or gap:
            visual.append([])
        if not char.isspace():
            visual[-1].append((char, box))
        previous = box
    words = [Word(_logical("".join(c for c, _ in run)), union([b for _, b in run]))
             for run in visual if run]
    rtl_base = sum(1 for w in words if _RTL.search(w.text)) >= sum(
        1 for w in words if _STRONG_LTR.search(w.text) and not _RTL.search(w.text))
    return _reordered(words, rtl_base, lambda word: bool(_RTL.search(word.text)))


def _logical(visual: str) -> str:
    """One visual-order word: right-to-left letters reversed, runs of digits or Latin kept."""
    if not _RTL.search(visual):
        return visual
    return "".join(_reordered(list(visual), True, lambda char: bool(_RTL.match(char))))


def _reordered(items: list[T], rtl_base: bool, is_rtl: Callable[[T], bool]) -> list[T]:
    """The bidi reversal, simplified: reverse the line (RTL base) and restore its LTR runs,
    or in an LTR line reverse each run of RTL items."""
    if rtl_base:
        items = items[::-1]
    out: list[T] = []
    run: list[T] = []
    for item in items:
        if is_rtl(item) != rtl_base:
            run.append(item)
            continue
        out += run[::-1]
        run = []
        out.append(item)
    return out + run[::-1]


def union(boxes: list[BBox]) -> BBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
