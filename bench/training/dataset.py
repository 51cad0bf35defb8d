"""One supplier's invoices, in a layout whose labels the generic local engine reads poorly.

"Ref. No." names the invoice number, "Dated" the invoice date (written day-first,
03/05/2024 meaning 3 May), the customer sits below "Consignee", "Sum" is the amount
payable and the line-item table's header reads "Goods | Pieces | Line value". Generated
deterministically (fixed seed), in memory: `make_examples(20)` gives the same 20 every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pymupdf

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string"},
        "invoice_date": {"type": "string", "format": "date"},
        "customer_name": {"type": "string"},
        "subtotal": {"type": "number"},
        "total": {"type": "number"},
        "line_items": {"type": "array", "items": {"type": "object", "properties": {
            "description": {"type": "string"}, "quantity": {"type": "number"},
            "amount": {"type": "number"}}}},
    },
}
CUSTOMERS = ["Wayne Enterprises", "Hooli Inc.", "Soylent Corp", "Dunder Mifflin", "Oscorp Labs",
             "Cyberdyne Systems", "Tyrell Corp", "Initech LLC", "Globex Corporation"]
GOODS = ["Hex bolts M8", "Bearing 6204", "Hydraulic hose 2m", "Gasket set", "Drive belt A42",
         "Steel bracket", "Pressure gauge", "Ball valve 1in", "Cable ties 200pk"]


@dataclass(frozen=True)
class Example:
    file_name: str
    data: bytes
    expected: dict[str, Any]


def _money(value: float) -> str:
    whole, cents = f"{value:,.2f}".split(".")
    return f"{whole.replace(',', ' ')}.{cents}"


def _values(rng: random.Random) -> dict[str, Any]:
    items = []
    for _ in range(rng.randint(2, 5)):
        qty = rng.randint(1, 20)
        price = round(rng.uniform(2, 250), 2)
        items.append({"description": rng.choice(GOODS), "quantity": qty,
                      "amount": round(qty * price, 2)})
    subtotal = round(sum(item["amount"] for item in items), 2)
    date = f"{rng.randint(2022, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return {"invoice_number": f"NP-{rng.randint(10000, 99999)}", "invoice_date": date,
            "customer_name": rng.choice(CUSTOMERS), "subtotal": subtotal,
            "total": round(subtotal * 1.25, 2), "line_items": items}


def render(values: dict[str, Any]) -> bytes:
    """The supplier's invoice as a text PDF."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=842)

    def text(x: float, y: float, content: str, size: float = 10, bold: bool = False) -> None:
        page.insert_text((x, y), content, fontsize=size, fontname="hebo" if bold else "helv")

    year, month, day = values["invoice_date"].split("-")
    text(72, 60, "NORDIC PARTS AB", size=18, bold=True)
    text(72, 76, "Industrivägen 4, 41705 Göteborg", size=9)
    text(72, 120, "Ref. No.", bold=True)
    text(170, 120, values["invoice_number"])
    text(72, 136, "Dated", bold=True)
    text(170, 136, f"{day}/{month}/{year}")
    text(360, 120, "Consignee", bold=True)
    text(360, 136, values["customer_name"])
    text(72, 200, "Goods", bold=True)
    text(300, 200, "Pieces", bold=True)
    text(450, 200, "Line value", bold=True)
    y = 218.0
    for item in values["line_items"]:
        text(72, y, item["description"])
        text(300, y, str(item["quantity"]))
        text(450, y, _money(item["amount"]))
        y += 16
    y += 50  # the totals stand apart from the table
    text(350, y, "Subtotal")
    text(450, y, _money(values["subtotal"]))
    text(350, y + 16, "Sum", bold=True)
    text(450, y + 16, _money(values["total"]), bold=True)
    data: bytes = pdf.tobytes(garbage=3, deflate=True)
    pdf.close()
    return data


def make_examples(count: int = 20, seed: int = 7) -> list[Example]:
    """`count` invoices of the one layout, with their expected JSON; same seed, same set."""
    rng = random.Random(seed)
    examples = []
    for index in range(count):
        values = _values(rng)
        examples.append(Example(f"nordic_{index:02d}.pdf", render(values), values))
    return examples
