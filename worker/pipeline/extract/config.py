"""The local engine's knowledge as data: label synonyms, value positions, table columns.

Everything the engine "knows" about documents lives here, not in code, so that a
trained pipeline can start from `DEFAULT_CONFIG` and learn per-document-type
aliases, position preferences and column mappings (`LocalConfig.merged`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# Each group lists the phrases that name one concept on paper. A field whose name, title
# or description names any phrase of a group is looked for under all of them.
SYNONYMS: dict[str, list[str]] = {
    "invoice_number": ["invoice number", "invoice no", "invoice id", "invoice ref", "inv number",
                       "bill number", "invoice reference"],
    "receipt_number": ["receipt number", "receipt no", "transaction id", "transaction number",
                       "trans id", "ticket number"],
    "order_number": ["order number", "order no", "order id", "purchase order", "po number", "po"],
    "total": ["total", "amount due", "balance due", "total due", "grand total", "total amount",
              "amount payable", "total payable", "invoice total", "total to pay", "amount total",
              "total incl vat", "total inc tax", "total eur", "total usd"],
    "subtotal": ["subtotal", "sub total", "net total", "net amount", "total before tax", "net"],
    "tax": ["tax", "vat", "sales tax", "gst", "tax amount", "vat amount", "tax total"],
    "invoice_date": ["invoice date", "date of issue", "issue date", "issued", "date issued",
                     "billing date", "date"],
    "due_date": ["due date", "payment due", "due by", "pay by", "payment due date", "due"],
    "date": ["date", "transaction date", "purchase date", "sale date"],
    "vendor_name": ["vendor", "seller", "supplier", "merchant", "from", "sold by", "company",
                    "store", "issued by", "vendor name", "company name", "merchant name",
                    "store name", "supplier name", "business name"],
    "customer_name": ["customer", "bill to", "billed to", "client", "buyer", "sold to",
                      "customer name", "client name", "invoice to"],
    "email": ["email", "e mail", "email address", "mail"],
    "phone": ["phone", "telephone", "tel", "phone number", "mobile", "contact number"],
    "full_name": ["full name", "name", "applicant name", "applicant", "employee name"],
    "date_of_birth": ["date of birth", "dob", "birth date", "born"],
    "payment_method": ["payment method", "paid by", "payment", "tender", "payment type",
                       "card type", "method of payment"],
    "currency": ["currency", "currency code"],
    "account_number": ["account number", "account no", "acct no", "customer number",
                       "customer id", "account"],
    "address": ["address", "street address", "mailing address", "home address"],
    "status": ["status", "payment status"],
    "department": ["department", "dept"],
    "start_date": ["start date", "starting date", "commencement date", "from date"],
    "employed": ["employed", "currently employed", "employment status"],
}

# Column header phrases for line-item tables, by the item property's concept.
COLUMNS: dict[str, list[str]] = {
    "description": ["description", "item", "items", "product", "service", "details", "article",
                    "particulars", "item description", "name"],
    "quantity": ["quantity", "qty", "units", "hours", "hrs", "count", "pcs"],
    "unit_price": ["unit price", "price", "rate", "unit cost", "each", "price each", "cost"],
    "amount": ["amount", "total", "line total", "ext price", "extended", "subtotal", "sum",
               "net amount", "value"],
    "sku": ["sku", "item code", "code", "part number", "product code", "article number", "ref"],
    "tax_rate": ["tax rate", "vat rate", "tax", "vat"],
}

# Abbreviations read as the word they stand for, on both label and alias side.
TOKEN_EQUIVALENTS: dict[str, str] = {
    "no": "number", "nr": "number", "num": "number", "#": "number", "n°": "number",
    "qty": "quantity", "amt": "amount", "inv": "invoice", "dt": "date", "ref": "reference",
    "tel": "phone", "e-mail": "email", "acct": "account", "addr": "address",
}

# Rows whose first cell starts with one of these end a line-item table ("VAT 19%", "Total due").
TABLE_STOPS = ["subtotal", "sub total", "total", "tax", "vat", "balance", "amount due",
               "grand total", "net total", "net amount", "sales tax"]
# …and rows whose first cell is exactly one of these.
TABLE_STOP_LINES = ["notes", "payment", "thank you", "shipping", "discount", "terms"]


@dataclass(frozen=True)
class LocalConfig:
    """Tunable knowledge of the local engine; defaults suit invoices, receipts and forms."""

    synonyms: dict[str, list[str]] = field(default_factory=lambda: dict(SYNONYMS))
    columns: dict[str, list[str]] = field(default_factory=lambda: dict(COLUMNS))
    token_equivalents: dict[str, str] = field(default_factory=lambda: dict(TOKEN_EQUIVALENTS))
    table_stops: list[str] = field(default_factory=lambda: list(TABLE_STOPS))
    table_stop_lines: list[str] = field(default_factory=lambda: list(TABLE_STOP_LINES))
    # Learned per field name (trained pipelines): extra label phrases, exact column headers.
    field_aliases: dict[str, list[str]] = field(default_factory=dict)
    # Where a value sits relative to its label, and how much each place is trusted.
    position_weights: dict[str, float] = field(
        default_factory=lambda: {"inline": 1.0, "right": 0.95, "below": 0.85})
    # Concepts read from the top of the first page when no label names them.
    top_of_page_concepts: tuple[str, ...] = ("vendor_name",)
    # Concepts whose last labelled occurrence wins (totals come after the lines they sum).
    prefer_last: tuple[str, ...] = ("total", "subtotal", "tax")
    day_first: bool = False
    below_max_rows: int = 2
    # Read only the words under a label from a wider cell below it: a header row of short
    # labels over values that sit too close to split into cells ("Date  Due  N°BC" over
    # "25/01/2015 09/02/2015 PO019817"). Off by default; training switches it on with the
    # aliases it learned that way.
    below_words: bool = False
    min_score: float = 0.35

    def merged(self, overrides: dict[str, Any]) -> LocalConfig:
        """This config with a trained artifact's overrides (unknown keys are ignored)."""
        known = {k: v for k, v in overrides.items() if k in self.__dataclass_fields__}
        return replace(self, **known)


DEFAULT_CONFIG = LocalConfig()
