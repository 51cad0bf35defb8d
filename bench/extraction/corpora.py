"""Real-document corpora for the extraction benchmark: loaders, fixed schemas, an OCR cache.

A corpus is a folder of page images (or PDFs) with one label file each: `NNN.json`
(SROIE receipts: company, date, address, total as printed) or `NAME.xml` (scanned
invoices: supplier, number, dates, currency, address, totals, line items). The
schema per corpus type is fixed and written as a user would write it; labels are
mapped onto it once here, so scoring never sees the label format.

Converting a scan runs OCR (seconds a page), so each converted `Document` is cached
under `QUARRY_OCR_CACHE` (default /tmp/quarry-ocr-cache), keyed by the file's hash and
the converter's fingerprint (the OCR packages' versions and the conversion code), so the
extractor can be re-run over a corpus in seconds, and a new OCR engine is never scored
on an old engine's output.
"""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.document import Document, document_from_json, document_to_json
from worker.pipeline.extract.values import parse_date, parse_number

CACHE = Path(os.environ.get("QUARRY_OCR_CACHE", "/tmp/quarry-ocr-cache"))
_OCR_PACKAGES = ("rapidocr", "rapidocr-onnxruntime", "onnxruntime", "opencv-python",
                 "opencv-python-headless", "pymupdf")
_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".pdf")

RECEIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "company": {"type": "string", "description": "Name of the shop or company that issued the receipt"},
        "date": {"type": "string", "format": "date", "description": "Date of the purchase"},
        "address": {"type": "string", "description": "Address of the shop"},
        "total": {"type": "number", "description": "Total amount paid"},
    },
}

INVOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "supplier": {"type": "string", "description": "Company that issued the invoice (the seller)"},
        "invoice_number": {"type": "string", "description": "The invoice number"},
        "invoice_date": {"type": "string", "format": "date", "description": "Date of the invoice"},
        "currency": {"type": "string", "description": "Currency as a three-letter ISO code"},
        "total": {"type": "number", "description": "Total amount to pay, taxes included"},
        "address": {"type": "string", "description": "Postal address of the company that issued the invoice"},
        "line_items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "quantity": {"type": "number"},
                    "unit_price": {"type": "number"},
                    "amount": {"type": "number", "description": "Line total"},
                },
            },
        },
    },
}


def string_typed(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as a hurried user writes it: every top-level scalar field the shorthand
    `"string"` (no type, format or description), arrays of objects kept as they are."""
    return {name: spec if spec.get("type") in ("array", "object") else "string"
            for name, spec in schema["properties"].items()}


@dataclass(frozen=True)
class LabeledDocument:
    """One corpus file: what it is, the schema to extract with, and the expected values."""

    id: str
    kind: str  # "receipt" | "invoice"
    path: Path
    schema: dict[str, Any]
    expected: dict[str, Any]


def load_corpus(folder: Path) -> list[LabeledDocument]:
    """Every document in `folder` that has a label file next to it, in name order."""
    found = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES):
        if path.with_suffix(".json").exists():
            label = json.loads(path.with_suffix(".json").read_text())
            found.append(LabeledDocument(path.stem, "receipt", path, RECEIPT_SCHEMA,
                                         _receipt_expected(label)))
        elif path.with_suffix(".xml").exists():
            root = ElementTree.parse(path.with_suffix(".xml")).getroot()
            found.append(LabeledDocument(path.stem, "invoice", path, INVOICE_SCHEMA,
                                         _invoice_expected(root)))
    return found


def _receipt_expected(label: dict[str, Any]) -> dict[str, Any]:
    # Receipts here are Malaysian/Singaporean: dates as printed are day-first.
    date = label.get("date")
    total = label.get("total")
    return {"company": label.get("company"), "address": label.get("address"),
            "date": parse_date(date, day_first=True) if date else None,
            "total": parse_number(total) if total else None}


def _invoice_expected(root: ElementTree.Element) -> dict[str, Any]:
    def text(tag: str) -> str | None:
        value = (root.findtext(tag) or "").strip()
        return value or None

    def number(tag: str) -> float | None:
        value = text(tag)
        return float(value) if value is not None else None

    untaxed, tax = number("total_untaxed"), number("tax_amount")
    # The labels' `total_amount` repeats `tax_amount`; the printed amount to pay is the sum.
    total = round(untaxed + tax, 2) if untaxed is not None and tax is not None else None
    date = text("invoice_date")
    if date and date.isdigit() and len(date) == 8:
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    items = [{"description": (line.findtext("description") or "").strip() or None,
              "quantity": _float(line.findtext("quantity")),
              "unit_price": _float(line.findtext("price")),
              "amount": _float(line.findtext("sub_total"))}
             for line in root.iter("line")]
    return {"supplier": text("supplier"), "invoice_number": text("invoice_number"),
            "invoice_date": parse_date(date, day_first=False) if date else None,
            "currency": text("currency_id"), "total": total, "address": text("address"),
            "line_items": items}


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


@lru_cache(maxsize=1)
def converter_fingerprint() -> str:
    """What conversion output depends on: OCR package versions and the conversion code."""
    digest = hashlib.sha256()
    for package in _OCR_PACKAGES:
        try:
            digest.update(f"{package}={metadata.version(package)};".encode())
        except metadata.PackageNotFoundError:
            continue
    root = Path(__file__).resolve().parents[2] / "worker" / "pipeline"
    for source in sorted([*root.glob("ocr/*.py"), *root.glob("convert/*.py")]):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()[:12]


def converted(path: Path) -> Document:
    """The file converted as the worker converts it (OCR for scans), cached by content hash
    and converter fingerprint."""
    data = path.read_bytes()
    key = f"{hashlib.sha256(data).hexdigest()[:24]}-{converter_fingerprint()}"
    cached = CACHE / f"{key}.json"
    if cached.exists():
        return document_from_json(cached.read_bytes())
    document = convert_document(ConversionRequest(data, path.name, None))
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(document_to_json(document))
    return document
