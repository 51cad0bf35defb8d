"""Tables with merged cells: one grid of spanning cells, as rows for markdown or as HTML.

Markdown pipe tables have no merged cells, so a merged cell's text is repeated in
every slot it covers (what readers and the reference conversions expect). With the
`table_format=html` request option a table that has merged cells is written as an
HTML `<table>` instead, with `rowspan`/`colspan`, so the structure survives. Any
converter that knows its cells' spans (PDF ruled tables here; DOCX, PPTX, ODF
tables likewise) builds `GridCell`s, makes its table block from `filled_rows` and
sets the block's `markdown` to `html_if_merged(cells, table_format)`: the markdown
renderer writes a table block's own `markdown`, when it has one, instead of a pipe table.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

TABLE_FORMATS = ("markdown", "html")


@dataclass(frozen=True)
class GridCell:
    """One cell at its top-left slot (0-based), covering `rowspan` × `colspan` slots."""

    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    header: bool = False


def has_merged_cells(cells: list[GridCell]) -> bool:
    return any(cell.rowspan > 1 or cell.colspan > 1 for cell in cells)


def filled_rows(cells: list[GridCell]) -> list[list[str]]:
    """Every slot's text: a merged cell's text repeated in each slot it covers."""
    if not cells:
        return []
    rows = max(cell.row + cell.rowspan for cell in cells)
    cols = max(cell.col + cell.colspan for cell in cells)
    grid = [[""] * cols for _ in range(rows)]
    for cell in cells:
        for row in range(cell.row, cell.row + cell.rowspan):
            for col in range(cell.col, cell.col + cell.colspan):
                grid[row][col] = cell.text
    return grid


def html_table(cells: list[GridCell]) -> str:
    """The grid as one HTML `<table>`: each cell once, at its top-left slot, with its spans."""
    by_row: dict[int, list[GridCell]] = {}
    for cell in cells:
        by_row.setdefault(cell.row, []).append(cell)
    rows = max((cell.row + cell.rowspan for cell in cells), default=0)
    out = ["<table>"]
    for row in range(rows):
        tags = []
        for cell in sorted(by_row.get(row, []), key=lambda c: c.col):
            tag = "th" if cell.header else "td"
            spans = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + (
                f' colspan="{cell.colspan}"' if cell.colspan > 1 else "")
            text = "<br>".join(escape(" ".join(line.split())) for line in cell.text.splitlines()
                               if line.strip())
            tags.append(f"<{tag}{spans}>{text}</{tag}>")
        out.append("<tr>" + "".join(tags) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def html_if_merged(cells: list[GridCell], table_format: str) -> str | None:
    """The HTML for a table with merged cells when `table_format` is `html`; else None
    (the table is written as a markdown pipe table from `filled_rows`)."""
    if table_format == "html" and has_merged_cells(cells):
        return html_table(cells)
    return None
