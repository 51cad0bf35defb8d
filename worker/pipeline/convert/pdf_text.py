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

from worker.pipeline.convert.layout import BULLETS
from worker.pipeline.document import BBox, Block, Line, Page, Word

_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_STRONG_LTR = re.compile(r"[^\W\d_]")
# A list marker set on its own: a bullet glyph (a symbol font's private-use one, a Courier
# `o`) or an enumerator. Word processors draw it as its own line beside the item's text.
_GLYPHS = "".join(sorted(BULLETS)) + "➢➤►▶✓✔❖◆◇★☐☑→⇒"
_MARKER = re.compile("^(?:[" + re.escape(_GLYPHS) + "\ue000-\uf8ff]|o|"
                     r"(?:\d{1,3}|[A-Za-z]|[ivxlc]{1,5})[.)]|\d{1,3}(?:\.\d{1,3})+\.?)$")
MARKER_GAP = 3.0
"""At most this many line heights between a marker and its item's text."""
MAX_ITEM_LINE_HEIGHT = 200
"""Taller line boxes (rotated or broken text) are never an item's text."""
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
    _attach_markers(list(blocks.values()))
    kept = [block for block in blocks.values() if block.lines]
    for block in kept:
        block.bbox = union([line.bbox for line in block.lines])
    # MuPDF gives the words of a page with `/Rotate` unrotated: the page is that frame,
    # and remembers how it is shown (the page image is drawn rotated, as viewers show it).
    shown = page.rect
    frame = shown * page.derotation_matrix
    turn = float(page.rotation % 360)
    return Page(number=page.number + 1, width=frame.width, height=frame.height,
                blocks=kept, rotation=turn, shown=(shown.width, shown.height) if turn else None)


def _attach_markers(blocks: list[Block]) -> None:
    """Put each list marker drawn as its own line at the start of the text line beside it.

    Left apart, the marker reads as text beside text (a table or columns to the
    layout trigger) and the item is not recognised as one. A glyph becomes `•`:
    symbol fonts map bullets to private-use code points.
    """
    if not any(len(line.words) == 1 and is_marker(line.words[0].text)
               for block in blocks for line in block.lines):
        return
    rows: dict[int, list[Line]] = {}  # lines by the whole points of height they cover
    for line in (line for block in blocks for line in block.lines):
        if line.bbox[3] - line.bbox[1] <= MAX_ITEM_LINE_HEIGHT:
            for y in range(int(line.bbox[1]), int(line.bbox[3]) + 1):
                rows.setdefault(y, []).append(line)
    merged: set[int] = set()
    for block in blocks:
        for marker in list(block.lines):
            if len(marker.words) != 1 or not is_marker(marker.words[0].text):
                continue
            centre = (marker.bbox[1] + marker.bbox[3]) / 2
            target = _item_text_beside(marker, rows.get(int(centre), []), merged)
            if target is None:
                continue
            word = marker.words[0]
            if word.text == "o" or not word.text[:1].isalnum():
                word = Word("•", word.bbox, word.confidence)
            target.words.insert(0, word)
            target.bbox = union([target.bbox, marker.bbox])
            block.lines.remove(marker)
            merged.add(id(marker))


def is_marker(text: str) -> bool:
    """Whether `text` is a list marker: a bullet glyph or an enumerator (`1.`, `a)`, `2.3`)."""
    return _MARKER.match(text) is not None


def _item_text_beside(marker: Line, lines: list[Line], merged: set[int]) -> Line | None:
    """The nearest line to the right of `marker` that holds its vertical centre."""
    x0, y0, x1, y1 = marker.bbox
    centre, height = (y0 + y1) / 2, max(y1 - y0, 1.0)
    best: Line | None = None
    for line in lines:
        if line is marker or id(line) in merged or not line.words:
            continue
        lx0, ly0, _, ly1 = line.bbox
        if ly0 <= centre <= ly1 and x1 - 1 <= lx0 <= x1 + MARKER_GAP * height \
                and (best is None or lx0 < best.bbox[0]) \
                and not (len(line.words) == 1 and is_marker(line.words[0].text)):
            best = line
    return best


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
