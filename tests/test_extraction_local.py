"""The local engine and schema handling, without HTTP: document in, values with evidence out."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest

from shared.errors import InvalidSchema, SchemaValidationFailed
from shared.extraction.schema import parse_schema
from shared.jobs.options import ExtractOptions
from tests.factories import INVOICE_LINES, make_pdf
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.document import Document
from worker.pipeline.extract import LocalConfig, extract_document, run_engine
from worker.pipeline.extract.values import parse_date, parse_number

DATA = Path(__file__).resolve().parents[1] / "bench" / "extraction" / "data"


def read(pdf: bytes) -> Document:
    return convert_document(ConversionRequest(pdf, "doc.pdf", "application/pdf"))


def draw(cells: list[tuple[float, float, str]]) -> bytes:
    """A page with text drawn at (x, y): labels and values as separate runs, as PDFs often are."""
    document = pymupdf.open()
    page = document.new_page()
    for x, y, text in cells:
        page.insert_text((x, y), text, fontsize=10)
    data: bytes = document.tobytes()
    document.close()
    return data


def options(schema: dict[str, object], **values: object) -> ExtractOptions:
    """Extraction options as a job carries them (`JobOptions`, typed)."""
    return ExtractOptions.model_validate({"schema": schema, **values})


def values(document: Document, schema: dict[str, object]) -> dict[str, object]:
    return {k: v.value for k, v in run_engine(document, parse_schema(schema), None).items()}


def test_first_seed_payload_shape_and_grounding() -> None:
    schema = parse_schema({"type": "object", "properties": {
        "invoice_number": {"type": "string"}, "total": {"type": "number"}}})
    body = extract_document(read(make_pdf(lines=INVOICE_LINES)), options(schema)).payload
    assert body["result"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert body["engine"] == "local" and body["validation_errors"] is None
    assert body["fields"]["total"]["source"] == "Total: $1,250.00"
    assert body["fields"]["total"]["page"] == 1 and 0 < body["fields"]["total"]["confidence"] <= 1
    assert 0 <= body["confidence"] <= 100 and "INV-2024-001" in body["raw_text"]


def test_synonyms_camel_case_and_values_right_or_below() -> None:
    pdf = draw([(72, 60, "LENS & LIGHT CO."), (72, 100, "Inv #"), (200, 100, "INV-2847"),
                (72, 140, "Balance Due"), (72, 154, "9.782,00 €"), (300, 100, "Issued"),
                (380, 100, "March 3, 2024"), (72, 190, "Paid"), (200, 190, "Yes")])
    got = values(read(pdf), {"invoiceNumber": "string", "totalDue": "number",
                             "issueDate": "date", "paid": "boolean", "vendorName": "string"})
    assert got == {"invoiceNumber": "INV-2847", "totalDue": 9782.0, "issueDate": "2024-03-03",
                   "paid": True, "vendorName": "LENS & LIGHT CO."}


def test_descriptions_enums_and_nested_objects() -> None:
    pdf = make_pdf(lines=["Reference: Q-55", "Shipping method: Express", "Customer Name: Ada Lovelace",
                          "Customer Email: ada@example.com"])
    schema = {"type": "object", "properties": {
        "ref": {"type": "string", "description": 'Printed as "Reference"'},
        "shipping": {"type": "string", "enum": ["standard", "express"]},
        "customer": {"type": "object", "properties": {
            "name": {"type": "string"}, "email": {"type": "string", "format": "email"}}}}}
    got = values(read(pdf), schema)
    assert got == {"ref": "Q-55", "shipping": "express",
                   "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}}


def test_line_items_across_pages_become_arrays_of_objects() -> None:
    entry = json.loads((DATA / "invoice_multipage.json").read_text())
    document = read((DATA / entry["file"]).read_bytes())
    got = values(document, entry["schema"])
    assert len(document.pages) == 2
    assert got["line_items"] == entry["expected"]["line_items"]
    assert got["total"] == entry["expected"]["total"]


def test_amount_and_date_formats() -> None:
    assert parse_number("1.234,56 €") == 1234.56 and parse_number("$1,250.00") == 1250.0
    assert parse_number("(45.10)") == -45.1 and parse_number("CHF 1'250.50") == 1250.5
    assert parse_date("15.03.2024") == parse_date("March 15, 2024") == "2024-03-15"
    assert parse_date("03/04/2024") == "2024-03-04"
    assert parse_date("03/04/2024", day_first=True) == "2024-04-03"


def test_config_is_data_a_trained_pipeline_can_extend() -> None:
    pdf = make_pdf(lines=["Vorgangskennung: R-77"])
    assert values(read(pdf), {"invoice_number": "string"}) == {}
    config = LocalConfig().merged({"field_aliases": {"invoice_number": ["Vorgangskennung"]}})
    evidence = run_engine(read(pdf), parse_schema({"invoice_number": "string"}), None, config)
    assert evidence["invoice_number"].value == "R-77"


def test_robust_mode_cross_checks_the_two_readings() -> None:
    schema = parse_schema({"invoice_number": "string", "total": "number"})
    text = read(make_pdf(lines=INVOICE_LINES))
    ocr = read(make_pdf(lines=["Invoice Number: INV-2024-001", "Total: $1,280.00"]))
    body = extract_document(text, options(schema, mode="robust"), ocr).payload
    assert body["cross_check"] == [{"field": "total", "value": 1250.0, "alternate_value": 1280.0,
                                    "reason": "text layer and OCR readings differ"}]
    assert body["fields"]["total"]["confidence"] < body["fields"]["invoice_number"]["confidence"]


def test_required_field_absent_is_422_or_partial() -> None:
    schema = parse_schema({"type": "object", "required": ["po_number"],
                           "properties": {"po_number": {"type": "string"}}})
    document = read(make_pdf())
    with pytest.raises(SchemaValidationFailed):
        extract_document(document, options(schema))
    outcome = extract_document(document, options(schema, allow_partial=True))
    assert outcome.partial and outcome.payload["validation_errors"]


@pytest.mark.parametrize("raw, words", [
    ("{not json", "not valid JSON"),
    ('{"a": "strng"}', "Unknown type"),
    ('{"type": "object", "properties": {"a": {"type": "strin"}}}', "not a valid JSON Schema"),
    ('{"type": "object", "properties": {"a": {"$ref": "https://x.test/s.json"}}}', "remote"),
    ('{"type": "array", "items": {"type": "string"}}', "must describe an object"),
    ("[]", "non-empty JSON object"),
])
def test_invalid_schemas_say_what_is_wrong(raw: str, words: str) -> None:
    with pytest.raises(InvalidSchema) as raised:
        parse_schema(raw)
    assert words in raised.value.detail


def test_shorthand_forms_normalise_to_json_schema() -> None:
    schema = parse_schema({"invoiceNumber": "string", "issued": "date", "status": ["paid", "due"],
                           "lines": [{"sku": "string", "qty": "integer"}],
                           "total": {"type": "number", "description": "Amount due"}})
    props = schema["properties"]
    assert props["issued"] == {"type": "string", "format": "date"}
    assert props["status"] == {"type": "string", "enum": ["paid", "due"]}
    assert props["lines"]["items"]["properties"]["qty"] == {"type": "integer"}
    assert props["total"] == {"type": "number", "description": "Amount due"}


@pytest.mark.parametrize(("name", "spec", "kind"), [
    ("date", {}, "date"), ("invoiceDate", {}, "date"), ("date_emission", {}, "date"),
    ("fecha", {}, "date"), ("Rechnungsdatum", {}, "date"), ("datum", {}, "date"),
    ("tarikh", {}, "date"), ("data", {}, "date"), ("issued", {}, "date"),
    ("due", {}, "date"), ("when", {"description": "Date of the purchase"}, "date"),
    ("total", {}, "amount"), ("amount_due", {}, "amount"), ("montant", {}, "amount"),
    ("company", {}, None), ("invoice_number", {}, None), ("address", {}, None),
    ("date_format", {}, None), ("update_source", {}, None),
    ("date", {"description": "The date as printed on the receipt"}, None),
    ("date", {"format": "email"}, None), ("total", {"enum": ["a", "b"]}, None),
])
def test_a_string_field_named_for_a_date_or_an_amount_is_read_as_one(
        name: str, spec: dict[str, object], kind: str | None) -> None:
    from worker.pipeline.extract.kinds import string_kind
    from worker.pipeline.extract.labels import field_aliases

    spec = {"type": "string", **spec}
    concept = next((a.concept for a in field_aliases(name, spec, LocalConfig()) if a.concept), None)
    assert string_kind(name, spec, concept) == kind


def test_a_currency_is_located_where_its_symbol_is_written() -> None:
    # "Heures" contains "eur": the box must go to where the currency is named, not that word.
    pdf = draw([(50, 80, "Service Client (Heures Prepayees)"), (400, 80, "12 160,00 EUR"),
                (50, 120, "Total"), (400, 120, "12 160,00 EUR")])
    found = run_engine(read(pdf), parse_schema({"currency": "string"}), None)["currency"]
    assert found.value == "EUR"
    assert found.source is not None and "EUR" in found.source and "Heures" not in found.source
