"""Generate the labeled extraction set: PDFs of varied layouts and their expected JSON.

Deterministic (fixed seed): `python -m bench.extraction.make_dataset` rewrites
bench/extraction/data/ identically. Layouts: invoices (label: value, label and value
in columns, labels above values, European formats), receipts, forms, a multi-page
invoice with line items, and one image-only (scanned) invoice.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pymupdf

DATA = Path(__file__).parent / "data"

INVOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string"},
        "invoice_date": {"type": "string", "format": "date"},
        "due_date": {"type": "string", "format": "date"},
        "vendor_name": {"type": "string", "description": "The company that issued the invoice"},
        "customer_name": {"type": "string", "description": "Who the invoice is billed to"},
        "subtotal": {"type": "number"},
        "tax": {"type": "number"},
        "total": {"type": "number"},
        "line_items": {"type": "array", "items": {"type": "object", "properties": {
            "description": {"type": "string"}, "quantity": {"type": "number"},
            "unit_price": {"type": "number"}, "amount": {"type": "number"}}}},
    },
    "required": ["invoice_number", "total"],
}
RECEIPT_SCHEMA: dict[str, Any] = {  # the shorthand form, as the second seed product sends it
    "merchantName": "string", "receiptNumber": "string", "date": "date", "tax": "number",
    "total": "number", "paymentMethod": ["cash", "credit card", "debit card"],
}
FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "full_name": {"type": "string", "title": "Full name"},
        "date_of_birth": {"type": "string", "format": "date"},
        "email": {"type": "string", "format": "email"},
        "phone": {"type": "string"},
        "marital_status": {"type": "string", "enum": ["single", "married", "divorced", "widowed"]},
        "employed": {"type": "boolean", "description": "Whether the applicant is currently employed"},
        "start_date": {"type": "string", "format": "date"},
    },
}

VENDORS = ["ACME SUPPLIES LTD", "Northwind Traders", "Globex Corporation", "Initech LLC",
           "Umbrella Office Co.", "Stark Industrial", "Lens & Light Co.", "Blue Harbor Foods",
           "Pinecrest Consulting", "Vertex Components"]
CUSTOMERS = ["Jane Cooper", "Wayne Enterprises", "Hooli Inc.", "Soylent Corp", "Dunder Mifflin",
             "Oscorp Labs", "Cyberdyne Systems", "Tyrell Corp"]
ITEMS = ["Printer paper A4", "Ink cartridge black", "Consulting hours", "USB-C cable",
         "Office chair", "Desk lamp", "Software license", "Shipping pallet", "Monitor 27in",
         "Keyboard wireless", "Toner magenta", "Network switch"]
NAMES = ["Maria Garcia", "John Smith", "Aiko Tanaka", "Omar Haddad", "Elena Petrova",
         "Lucas Silva", "Priya Patel", "Noah Williams"]
STORES = ["CORNER CAFE", "FRESH MART", "CITY HARDWARE", "BOOK NOOK", "QUICK FUEL", "GREEN GROCER",
          "PIXEL ELECTRONICS", "SUNRISE BAKERY"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


class Canvas:
    """A page builder: text at positions, with the layout's fonts."""

    def __init__(self, width: float = 595, height: float = 842) -> None:
        self.pdf = pymupdf.open()
        self.size = (width, height)
        self.page = self.pdf.new_page(width=width, height=height)

    def text(self, x: float, y: float, text: str, size: float = 10, bold: bool = False) -> None:
        self.page.insert_text((x, y), text, fontsize=size, fontname="hebo" if bold else "helv")

    def new_page(self) -> None:
        self.page = self.pdf.new_page(width=self.size[0], height=self.size[1])

    def bytes(self) -> bytes:
        data: bytes = self.pdf.tobytes(garbage=3, deflate=True)
        self.pdf.close()
        return data


def money(value: float, style: str) -> str:
    whole, cents = f"{value:,.2f}".split(".")
    if style == "eu":
        return whole.replace(",", ".") + "," + cents + " €"
    if style == "plain":
        return f"{value:.2f}"
    return f"${whole}.{cents}"


def date_text(iso: str, style: str) -> str:
    year, month, day = (int(p) for p in iso.split("-"))
    return {"iso": iso, "us": f"{month:02d}/{day:02d}/{year}", "eu": f"{day:02d}.{month:02d}.{year}",
            "long": f"{MONTHS[month - 1]} {day}, {year}",
            "short": f"{day} {MONTHS[month - 1][:3]} {year}"}[style]


def random_date(rng: random.Random) -> str:
    return f"{rng.randint(2021, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def invoice_values(rng: random.Random, lines: int) -> dict[str, Any]:
    items = []
    for _ in range(lines):
        qty = rng.randint(1, 12)
        price = round(rng.uniform(3, 400), 2)
        items.append({"description": rng.choice(ITEMS), "quantity": qty, "unit_price": price,
                      "amount": round(qty * price, 2)})
    subtotal = round(sum(i["amount"] for i in items), 2)
    tax = round(subtotal * rng.choice([0.05, 0.08, 0.1, 0.2]), 2)
    issued = random_date(rng)
    due = f"{issued[:8]}{min(28, int(issued[8:]) + rng.randint(0, 10)):02d}"
    return {"invoice_number": f"INV-{rng.randint(1000, 99999)}", "invoice_date": issued,
            "due_date": due, "vendor_name": rng.choice(VENDORS),
            "customer_name": rng.choice(CUSTOMERS), "subtotal": subtotal, "tax": tax,
            "total": round(subtotal + tax, 2), "line_items": items}


def draw_items(c: Canvas, y: float, items: list[dict[str, Any]], style: str,
               page_break_after: int | None = None) -> float:
    columns = [(72, "Description"), (300, "Qty"), (350, "Unit Price"), (450, "Amount")]

    def header(at: float) -> None:
        for x, label in columns:
            c.text(x, at, label, bold=True)

    header(y)
    y += 18
    for index, item in enumerate(items):
        if page_break_after is not None and index == page_break_after:
            c.new_page()
            y = 72
            header(y)
            y += 18
        c.text(72, y, item["description"])
        c.text(300, y, str(item["quantity"]))
        c.text(350, y, money(item["unit_price"], style))
        c.text(450, y, money(item["amount"], style))
        y += 16
    return y + 10


def draw_totals(c: Canvas, y: float, v: dict[str, Any], style: str, labels: tuple[str, str, str]) -> None:
    for label, key in zip(labels, ("subtotal", "tax", "total"), strict=True):
        c.text(350, y, label, bold=key == "total")
        c.text(450, y, money(v[key], style), bold=key == "total")
        y += 16


def invoice_colon(rng: random.Random, v: dict[str, Any]) -> bytes:
    c = Canvas()
    c.text(72, 60, v["vendor_name"], size=18, bold=True)
    c.text(72, 78, f"{rng.randint(10, 999)} Market Street, Springfield", size=9)
    c.text(400, 60, "INVOICE", size=16, bold=True)
    style = rng.choice(["iso", "us", "long"])
    number_label = rng.choice(["Invoice Number:", "Invoice No.:", "Invoice #:"])
    c.text(72, 120, f"{number_label} {v['invoice_number']}")
    c.text(72, 136, f"Invoice Date: {date_text(v['invoice_date'], style)}")
    c.text(72, 152, f"Due Date: {date_text(v['due_date'], style)}")
    c.text(330, 120, "Bill To:", bold=True)
    c.text(330, 136, v["customer_name"])
    y = draw_items(c, 200, v["line_items"], "us")
    draw_totals(c, y, v, "us", rng.choice([("Subtotal:", "Tax:", "Total:"),
                                            ("Subtotal", "Sales Tax", "Amount Due")]))
    return c.bytes()


def invoice_columns(rng: random.Random, v: dict[str, Any]) -> bytes:
    c = Canvas()
    c.text(72, 64, v["vendor_name"], size=20, bold=True)
    c.text(72, 100, "Tax Invoice", size=12)
    rows = [("Invoice No", v["invoice_number"]), ("Issue Date", date_text(v["invoice_date"], "short")),
            ("Payment Due", date_text(v["due_date"], "short")), ("Customer", v["customer_name"])]
    for i, (label, value) in enumerate(rows):
        c.text(72, 130 + 16 * i, label, bold=True)
        c.text(200, 130 + 16 * i, value)
    y = draw_items(c, 220, v["line_items"], "us")
    draw_totals(c, y, v, "us", ("Net Total", "VAT", "Balance Due"))
    return c.bytes()


def invoice_stacked(rng: random.Random, v: dict[str, Any]) -> bytes:
    c = Canvas()
    c.text(72, 60, v["vendor_name"], size=16, bold=True)
    c.text(430, 60, "INVOICE", size=14)
    for x, label, value in [(72, "Invoice #", v["invoice_number"]),
                            (220, "Date", date_text(v["invoice_date"], "us")),
                            (370, "Due Date", date_text(v["due_date"], "us"))]:
        c.text(x, 110, label, bold=True)
        c.text(x, 126, value)
    c.text(72, 160, "Billed To", bold=True)
    c.text(72, 176, v["customer_name"])
    y = draw_items(c, 220, v["line_items"], "us")
    draw_totals(c, y, v, "us", ("Subtotal", "Tax", "Total Due"))
    return c.bytes()


def invoice_european(rng: random.Random, v: dict[str, Any]) -> bytes:
    c = Canvas()
    c.text(72, 60, v["vendor_name"], size=17, bold=True)
    c.text(72, 76, "Hauptstrasse 12, 10115 Berlin", size=9)
    c.text(72, 120, f"Invoice No.: {v['invoice_number']}")
    c.text(72, 136, f"Date: {date_text(v['invoice_date'], 'eu')}")
    c.text(72, 152, f"Due: {date_text(v['due_date'], 'eu')}")
    c.text(330, 120, "Customer:")
    c.text(400, 120, v["customer_name"])
    y = draw_items(c, 200, v["line_items"], "eu")
    draw_totals(c, y, v, "eu", ("Net amount", "VAT 19%", "Total"))
    return c.bytes()


def receipt(rng: random.Random) -> tuple[bytes, dict[str, Any]]:
    c = Canvas(width=226, height=420)
    store = rng.choice(STORES)
    c.text(20, 30, store, size=14, bold=True)
    c.text(20, 46, f"{rng.randint(1, 300)} Oak Ave", size=8)
    date = random_date(rng)
    number = str(rng.randint(100000, 999999))
    shown = date_text(date, rng.choice(["us", "short", "iso"]))
    hour, minute = rng.randint(8, 20), rng.randint(10, 59)
    c.text(20, 70, f"Date: {shown}  {hour}:{minute}", size=9)
    c.text(20, 84, f"Receipt #: {number}", size=9)
    y, subtotal = 110.0, 0.0
    for _ in range(rng.randint(2, 6)):
        price = round(rng.uniform(1, 30), 2)
        subtotal += price
        c.text(20, y, rng.choice(["Coffee", "Bagel", "Milk 1L", "Batteries", "Notebook", "Apples",
                                  "Screws 50pk", "Sandwich"]), size=9)
        c.text(160, y, f"{price:.2f}", size=9)
        y += 13
    tax = round(subtotal * 0.07, 2)
    total = round(subtotal + tax, 2)
    method = rng.choice(["cash", "credit card", "debit card"])
    for label, value in [("SUBTOTAL", subtotal), ("TAX", tax), ("TOTAL", total)]:
        c.text(20, y + 8, label, size=9, bold=label == "TOTAL")
        c.text(160, y + 8, f"{value:.2f}", size=9, bold=label == "TOTAL")
        y += 13
    c.text(20, y + 20, f"Paid by: {method.title()}", size=9)
    c.text(20, y + 40, "Thank you for shopping!", size=8)
    expected = {"merchantName": store, "receiptNumber": number, "date": date,
                "tax": tax, "total": total, "paymentMethod": method}
    return c.bytes(), expected


def form(rng: random.Random, variant: int) -> tuple[bytes, dict[str, Any]]:
    c = Canvas()
    c.text(72, 60, "Application Form", size=16, bold=True)
    name = rng.choice(NAMES)
    born = f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    values = {"full_name": name, "date_of_birth": born,
              "email": name.lower().replace(" ", ".") + "@example.com",
              "phone": f"+1 555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
              "marital_status": rng.choice(["single", "married", "divorced", "widowed"]),
              "employed": rng.choice([True, False]), "start_date": random_date(rng)}
    style = rng.choice(["us", "long", "iso"])
    rows = [("Full Name", values["full_name"]), ("Date of Birth", date_text(values["date_of_birth"], style)),
            ("Email", values["email"]), ("Phone", values["phone"]),
            ("Marital Status", values["marital_status"].title()),
            ("Start Date", date_text(values["start_date"], style))]
    y = 110.0
    for label, value in rows:
        if variant % 2 == 0:
            c.text(72, y, f"{label}: {value}")
        else:
            c.text(72, y, label, bold=True)
            c.text(220, y, value)
        y += 22
    if variant % 3 == 0:
        c.text(72, y, f"Currently employed: {'Yes' if values['employed'] else 'No'}")
    else:
        c.text(72, y, "[X]" if values["employed"] else "[ ]")
        c.text(92, y, "Employed")
    c.text(72, y + 40, "Signature: ____________________", size=9)
    return c.bytes(), values


def multipage_invoice(rng: random.Random) -> tuple[bytes, dict[str, Any]]:
    v = invoice_values(rng, 40)
    c = Canvas()
    c.text(72, 60, v["vendor_name"], size=18, bold=True)
    c.text(72, 110, f"Invoice Number: {v['invoice_number']}")
    c.text(72, 126, f"Invoice Date: {date_text(v['invoice_date'], 'iso')}")
    c.text(72, 142, f"Due Date: {date_text(v['due_date'], 'iso')}")
    c.text(330, 110, "Bill To:")
    c.text(330, 126, v["customer_name"])
    y = draw_items(c, 180, v["line_items"], "us", page_break_after=34)
    draw_totals(c, y, v, "us", ("Subtotal:", "Tax:", "Total:"))
    return c.bytes(), v


def scanned(data: bytes) -> bytes:
    """The same page as an image only: what a scanner produces (no text layer)."""
    source = pymupdf.open(stream=data, filetype="pdf")
    out = pymupdf.open()
    for page in source:
        pix = page.get_pixmap(dpi=110, colorspace=pymupdf.csGRAY)
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=pix.tobytes("jpeg", jpg_quality=60))
    result: bytes = out.tobytes(garbage=3, deflate=True)
    return result


def build() -> list[dict[str, Any]]:
    rng = random.Random(20240531)
    docs: list[dict[str, Any]] = []

    def add(doc_id: str, kind: str, layout: str, data: bytes, schema: Any, expected: Any) -> None:
        (DATA / f"{doc_id}.pdf").write_bytes(data)
        entry = {"id": doc_id, "file": f"{doc_id}.pdf", "kind": kind, "layout": layout,
                 "schema": schema, "expected": expected}
        (DATA / f"{doc_id}.json").write_text(json.dumps(entry, indent=1) + "\n")
        docs.append(entry)

    layouts = [("colon", invoice_colon), ("columns", invoice_columns),
               ("stacked", invoice_stacked), ("european", invoice_european)]
    first_invoice = None
    for i in range(12):
        name, draw = layouts[i % 4]
        v = invoice_values(rng, rng.randint(2, 5))
        data = draw(rng, v)
        first_invoice = first_invoice or (data, v)
        add(f"invoice_{i:02d}", "invoice", name, data, INVOICE_SCHEMA, v)
    for i in range(9):
        data, expected = receipt(rng)
        add(f"receipt_{i:02d}", "receipt", "receipt", data, RECEIPT_SCHEMA, expected)
    for i in range(8):
        data, expected = form(rng, i)
        add(f"form_{i:02d}", "form", "inline" if i % 2 == 0 else "columns", data, FORM_SCHEMA, expected)
    data, expected = multipage_invoice(rng)
    add("invoice_multipage", "invoice", "multipage", data, INVOICE_SCHEMA, expected)
    assert first_invoice is not None
    add("invoice_scanned", "invoice", "scanned", scanned(first_invoice[0]), INVOICE_SCHEMA,
        first_invoice[1])
    return docs


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for old in DATA.glob("*"):
        old.unlink()
    docs = build()
    total = sum(p.stat().st_size for p in DATA.glob("*"))
    import sys

    sys.stdout.write(f"wrote {len(docs)} documents ({total // 1024} KiB) to {DATA}\n")


if __name__ == "__main__":
    main()
