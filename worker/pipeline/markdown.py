"""Document → markdown. Pages are separated by a marker line a client can split on.

Headings, list items, tables and code come from the block kinds converters set.
Running headers and footers (the same text in the top or bottom margin of most
pages, page numbers normalised) are left out of the markdown; they stay in the
document model, so extraction and provenance still see them.
"""

from __future__ import annotations

import re
from collections import Counter

from shared.files.kinds import IMAGE_KINDS
from worker.pipeline.document import Block, Document, Page, Table

PAGE_SEPARATOR = "\n\n<!-- page {number} -->\n\n"
MARGIN = 0.1
"""Share of the page height at the top and bottom where running headers and footers live."""
MIN_REPEATS = 3
PAGED_TYPES = frozenset({"pdf", *IMAGE_KINDS})
LIST_INDENT = "    "
"""Per nesting level: four spaces nest an item under a bulleted or a numbered one alike."""
_DIGITS = re.compile(r"\d+")
_BULLET = re.compile(r"^[•◦▪▫●○■□‣⁃·]\s*")
_ORDERED = re.compile(r"^\d{1,3}[.)]\s")


def render_markdown(document: Document) -> str:
    running = running_margins(document)
    parts: list[str] = []
    for page in document.pages:
        blocks = [block for block in page.blocks if _margin_key(page, block) not in running]
        body = _render_blocks(blocks)
        parts.append(PAGE_SEPARATOR.format(number=page.number).lstrip("\n") + body)
    return "\n\n".join(parts).strip() + "\n"


def running_margins(document: Document) -> set[str]:
    """Normalised texts of margin blocks repeated on at least half the pages (and 3 of them)."""
    if len(document.pages) < MIN_REPEATS or document.file_type not in PAGED_TYPES:
        return set()  # sheets and slides have no margins: a heading on each is content
    seen: Counter[str] = Counter()
    for page in document.pages:
        seen.update({key for block in page.blocks if (key := _margin_key(page, block))})
    needed = max(MIN_REPEATS, len(document.pages) // 2)
    return {key for key, count in seen.items() if count >= needed}


def _margin_key(page: Page, block: Block) -> str:
    """A block's identity as a possible running header/footer; empty when it is body text."""
    if block.bbox is None or block.table is not None or page.height <= 0 or page.source == "llm":
        return ""
    top, bottom = block.bbox[1] / page.height, block.bbox[3] / page.height
    if MARGIN < top and bottom < 1 - MARGIN:
        return ""
    edge = "top" if top <= MARGIN else "bottom"
    return edge + ":" + _DIGITS.sub("#", " ".join(block.text.lower().split()))


def _render_blocks(blocks: list[Block]) -> str:
    out: list[str] = []
    previous: Block | None = None
    depth = 0  # nesting of the list item just written
    for block in blocks:
        text = _render_block(block)
        if not text:
            continue
        # Consecutive list items form one list: no blank line between them.
        in_list = previous is not None and previous.kind == block.kind == "list_item"
        if block.kind == "list_item":
            # A level deeper than the item above can only nest one step under it.
            depth = min(block.level, depth + 1) if in_list else 0
            text = LIST_INDENT * depth + text
        out.append((("\n" if in_list else "\n\n") if out else "") + text)
        previous = block
    return "".join(out)


def _render_block(block: Block) -> str:
    if block.table is not None:
        # A table's own markdown is its HTML form (merged cells, `table_format=html`).
        return block.markdown if block.markdown else render_table(block.table)
    if block.kind == "code":
        return "```\n" + "\n".join(line.text for line in block.lines) + "\n```"
    text = (block.markdown or " ".join(line.text for line in block.lines)).strip()
    if not text:
        return ""
    if block.kind == "heading":
        return "#" * max(1, min(block.level, 6)) + " " + text
    if block.kind == "list_item":
        text = _BULLET.sub("", text)
        return text if _ORDERED.match(text) else "- " + text
    return text


def render_table(table: Table) -> str:
    if not table.rows:
        return ""
    width = max(len(row) for row in table.rows)
    cells = table.markdown if table.markdown and len(table.markdown) == len(table.rows) else table.rows
    rows = [[_cell(c) for c in row] + [""] * (width - len(row)) for row in cells]
    header = rows[0] if table.has_header else [""] * width
    body = rows[1:] if table.has_header else rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
