"""Generate the committed benchmark set: small PDFs and the markdown each should become.

Run `python -m bench.markdown.make_data` to rebuild `bench/markdown/data/`. The
references are written from the same content the PDFs are drawn from, so they
are exact ground truth, not another converter's output.
"""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
from PIL import Image

DATA = Path(__file__).parent / "data"
BODY = ("Quarry converts business documents into markdown and structured data. "
        "Each page is read once and every word keeps its position on the page.")


def _text(page: pymupdf.Page, y: float, text: str, size: float = 11, bold: bool = False) -> float:
    page.insert_textbox(pymupdf.Rect(72, y, 523, y + 200), text, fontsize=size,
                        fontname="hebo" if bold else "helv")
    lines = max(1, int(pymupdf.get_text_length(text, fontsize=size) // 440) + 1)
    return y + lines * size * 1.4 + size


def _table(page: pymupdf.Page, y: float, rows: list[list[str]]) -> float:
    width = 451 / len(rows[0])
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            rect = pymupdf.Rect(72 + c * width, y + r * 20, 72 + (c + 1) * width, y + (r + 1) * 20)
            page.draw_rect(rect, color=(0, 0, 0), width=0.7)
            page.insert_text((rect.x0 + 4, rect.y1 - 6), cell, fontsize=10)
    return y + len(rows) * 20 + 20


def _md_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])


def report() -> tuple[bytes, str]:
    doc = pymupdf.open()
    page = doc.new_page()
    y = _text(page, 60, "Annual Report 2024", 22, bold=True)
    y = _text(page, y, "Overview", 15, bold=True)
    y = _text(page, y, BODY)
    items = ["Revenue grew twelve percent", "Two new offices opened", "Customer churn fell"]
    for item in items:
        y = _text(page, y - 6, f"- {item}")
    y = _text(page, y, "Outlook", 15, bold=True)
    _text(page, y, "The coming year focuses on reliability and on new document formats.")
    md = ("# Annual Report 2024\n\n## Overview\n\n" + BODY + "\n\n"
          + "\n".join(f"- {i}" for i in items)
          + "\n\n## Outlook\n\nThe coming year focuses on reliability and on new document formats.\n")
    return doc.tobytes(), md


def tables() -> tuple[bytes, str]:
    doc = pymupdf.open()
    page = doc.new_page()
    sales = [["Region", "Q1", "Q2", "Q3"], ["North", "120", "135", "150"],
             ["South", "98", "101", "99"], ["West", "77", "90", "104"]]
    staff = [["Team", "Lead", "Size"], ["Platform", "Ada", "7"], ["Billing", "Grace", "4"]]
    y = _text(page, 60, "Quarterly Sales", 18, bold=True)
    y = _text(page, y, "Units sold per region and quarter are listed below.")
    y = _table(page, y, sales)
    y = _text(page, y, "Teams", 18, bold=True)
    _table(page, y, staff)
    md = ("# Quarterly Sales\n\nUnits sold per region and quarter are listed below.\n\n"
          + _md_table(sales) + "\n\n# Teams\n\n" + _md_table(staff) + "\n")
    return doc.tobytes(), md


def letters() -> tuple[bytes, str]:
    """Three pages with a running header and page-numbered footer (noise a reader should drop)."""
    doc = pymupdf.open()
    parts = []
    for number in range(1, 4):
        page = doc.new_page()
        page.insert_text((72, 40), "Northwind Traders - Internal", fontsize=9)
        y = _text(page, 90, f"Section {number}", 16, bold=True)
        text = f"Section {number} explains step {number} of the onboarding process. " + BODY
        _text(page, y, text)
        page.insert_text((270, 810), f"Page {number} of 3", fontsize=9)
        parts.append(f"## Section {number}\n\n{text}\n")
    return doc.tobytes(), "\n".join(parts)


def scanned() -> tuple[bytes, str]:
    """One image-only page: the report page as a 150 dpi grayscale scan."""
    source = pymupdf.open(stream=report()[0], filetype="pdf")
    pixmap = source[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
    image = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    doc = pymupdf.open()
    page = doc.new_page(width=source[0].rect.width, height=source[0].rect.height)
    page.insert_image(page.rect, stream=buffer.getvalue())
    md = report()[1]
    return doc.tobytes(garbage=3, deflate=True), md


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for name, build in {"report": report, "tables": tables, "letters": letters,
                        "scanned": scanned}.items():
        pdf, reference = build()
        (DATA / f"{name}.pdf").write_bytes(pdf)
        (DATA / f"{name}.md").write_text(reference)
        print(f"wrote {name}.pdf ({len(pdf)} bytes) and {name}.md")


if __name__ == "__main__":
    main()
