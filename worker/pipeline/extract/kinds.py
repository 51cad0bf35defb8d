"""What a plain-string field holds, read from the schema's own words.

A field typed only as `"string"` still says what it is through its name, title and
description: `date`, `invoiceDate`, `fecha_emision`, "Date of the purchase" is a date;
`total`, `amount_due` is an amount. The local engine reads such a field as that kind
(candidates must be valid calendar dates or amounts, so label text next to a date is
never the answer) and hands the value back as a string: a date as ISO `YYYY-MM-DD`, an
amount as a plain decimal (`"9.00"`). A value that does not have the kind's shape is
not returned. A description that asks for text as printed ("as printed", "as written",
"verbatim", "raw") keeps the field a plain string.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from worker.pipeline.extract.labels import split_name
from worker.pipeline.extract.values import schema_type
from worker.pipeline.extract.vocabulary import DATE_WORDS, squash

Kind = Literal["date", "amount"]

# Date words beyond vocabulary.DATE_WORDS that only a field's own name would use.
_DATE_NAME_WORDS = {*DATE_WORDS, "due", "dob", "dt", "day", "fechas", "datum", "dátum", "tarih",
                    "issue", "expiry", "expires", "birthday"}
# Words that make a name with a date word something else ("date format", "update").
_NOT_DATE = {"format", "formats", "type", "range", "count", "source", "sources", "time", "times",
             "timezone", "zone", "number", "id", "ids", "set", "base", "file", "files"}
_AMOUNT_WORDS = {"total", "amount", "price", "subtotal", "sum", "summe", "betrag", "montant",
                 "importe", "jumlah", "prix", "cost", "fee", "balance", "tax", "vat", "tva",
                 "gst", "tip", "discount", "totale", "importo", "bedrag", "valor", "paid"}
_NOT_AMOUNT = {"name", "names", "description", "label", "currency", "code", "number", "no",
               "id", "text", "date", "words", "type", "method", "status", "account"}
_VERBATIM = re.compile(r"\b(as printed|as written|as shown|verbatim|raw text|original text)\b",
                       re.IGNORECASE)


def string_kind(name: str, spec: dict[str, Any], concept: str | None) -> Kind | None:
    """The kind a plain-string field names, or None for free text."""
    if schema_type(spec) != "string" or any(k in spec for k in ("format", "enum", "const",
                                                                "pattern")):
        return None
    description = str(spec.get("description") or "")
    if _VERBATIM.search(description):
        return None
    if concept is not None and (concept == "date" or concept.endswith("_date")
                                or concept == "date_of_birth"):
        return "date"
    if concept == "total" or concept in ("subtotal", "tax"):
        return "amount"
    if concept is not None:
        return None  # a known non-date, non-amount concept (invoice number, vendor, address)
    own = split_name(name) + split_name(str(spec.get("title") or ""))
    kind = _kind_of(own)
    if kind is not None:
        return kind
    # The description only counts where it opens with the kind ("Date of the purchase").
    return _kind_of([squash(w) for w in description.split()[:2]])


def _kind_of(words: list[str]) -> Kind | None:
    words = [squash(w) for w in words if squash(w)]
    if not words:
        return None
    # German compounds: Rechnungsdatum, Lieferdatum.
    if (any(w in _DATE_NAME_WORDS or w.endswith("datum") for w in words)
            and not any(w in _NOT_DATE for w in words)):
        return "date"
    if any(w in _AMOUNT_WORDS for w in words) and not any(w in _NOT_AMOUNT for w in words):
        return "amount"
    return None


def reading_spec(spec: dict[str, Any], kind: Kind | None) -> dict[str, Any]:
    """The spec the engine reads the field with: a date or a number instead of free text."""
    if kind == "date":
        return {**spec, "format": "date"}
    if kind == "amount":
        return {**spec, "type": "number"}
    return spec


def as_string(value: Any, kind: Kind | None) -> Any:
    """The value handed back for a plain-string field read as `kind`; None when it does not fit."""
    if kind == "date":
        text = str(value)
        return text if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    if kind == "amount":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return f"{value:.2f}"
    return value
