"""Document → markdown. Pages are separated by a marker line a client can split on."""

from __future__ import annotations

from worker.pipeline.document import Block, Document, Table

PAGE_SEPARATOR = "\n\n<!-- page {number} -->\n\n"


def render_markdown(document: Document) -> str:
    parts: list[str] = []
    for page in document.pages:
        body = "\n\n".join(filter(None, (_render_block(block) for block in page.blocks)))
        parts.append(PAGE_SEPARATOR.format(number=page.number).lstrip("\n") + body)
    return "\n\n".join(parts).strip() + "\n"


def _render_block(block: Block) -> str:
    if block.table is not None:
        return render_table(block.table)
    text = " ".join(line.text for line in block.lines).strip()
    if not text:
        return ""
    if block.kind == "heading":
        return "#" * max(1, min(block.level, 6)) + " " + text
    if block.kind == "list_item":
        return "- " + text
    return text


def render_table(table: Table) -> str:
    if not table.rows:
        return ""
    width = max(len(row) for row in table.rows)
    rows = [[_cell(c) for c in row] + [""] * (width - len(row)) for row in table.rows]
    header = rows[0] if table.has_header else [""] * width
    body = rows[1:] if table.has_header else rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
