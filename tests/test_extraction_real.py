"""Local extraction on documents that were not written for the engine: other languages,
misleading numbers, fields the document does not have. Through the real API and worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pymupdf
import pytest

from tests.factories import make_pdf, make_tenant
from tests.llm_server import ScriptedLLM, answer, running_llm
from tests.stack import ApiServer, Process


def extract(client: httpx.Client, lines: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/extract", data={"schema": json.dumps(schema)},
                           files={"file": ("doc.pdf", make_pdf(lines=lines), "application/pdf")})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_french_invoice_gives_number_date_total_and_currency(api: ApiServer, worker: Process) -> None:
    lines = ["ATELIER DUPONT SARL", "12 rue des Lilas", "69003 Lyon", "",
             "Facture N° FA-2024-0117", "Date : 05/03/2024", "",
             "Montant HT 1 000,00 €", "TVA 20 % 200,00 €", "Montant TTC 1 200,00 €"]
    schema = {"type": "object", "properties": {
        "invoice_number": {"type": "string"}, "invoice_date": {"type": "string", "format": "date"},
        "total": {"type": "number", "description": "Total to pay"},
        "currency": {"type": "string", "description": "ISO currency code"}}}
    with api.client(make_tenant().api_key) as client:
        body = extract(client, lines, schema)
    assert body["result"] == {"invoice_number": "FA-2024-0117", "invoice_date": "2024-03-05",
                              "total": 1200.0, "currency": "EUR"}


def test_a_receipt_total_is_the_amount_paid_not_the_largest_number(api: ApiServer,
                                                                   worker: Process) -> None:
    lines = ["BACKSTUBE MEIER", "Hauptstrasse 4", "80331 München", "",
             "Brezel 2,40", "Kaffee 5,30", "Summe EUR 7,70", "Bar 20,00", "Rückgeld 12,30"]
    with api.client(make_tenant().api_key) as client:
        body = extract(client, lines, {"type": "object", "properties": {"total": {"type": "number"}}})
    assert body["result"] == {"total": 7.7}
    assert body["fields"]["total"]["confidence"] >= 0.8


def test_a_field_the_document_does_not_have_is_null(api: ApiServer, worker: Process) -> None:
    lines = ["Meeting notes", "Agenda for Tuesday", "Bring the slides and the budget draft"]
    schema = {"type": "object", "properties": {"company": {"type": "string"},
                                               "total": {"type": "number"}}}
    with api.client(make_tenant().api_key) as client:
        body = extract(client, lines, schema)
    assert body["result"].get("company") is None and body["result"].get("total") is None
    assert body["confidence"] < 30


def _invoice_without_ruling_lines() -> bytes:
    """A French invoice whose item table is text aligned in columns: no lines, no English
    header words, the unit-price header split in two runs, a description wrapped on two lines
    and an address block in the left margin beside the items."""
    placed = [(72, 60, "MENUISERIE LEBRUN SARL"), (72, 78, "8 rue des Tanneurs, 21000 Dijon"),
              (330, 120, "Facture N° F-2024-311"),
              (200, 170, "Désignation"), (340, 170, "Qté"), (390, 170, "Prix"),
              (425, 170, "unitaire HT"), (500, 170, "Montant HT"),
              (200, 192, "Chaise de bureau"), (340, 192, "4"), (390, 192, "55,00"), (500, 192, "220,00"),
              (72, 210, "Livré à :"),
              (200, 210, "Pose (facturation"), (340, 210, "2"), (390, 210, "150,00"), (500, 210, "300,00"),
              (72, 224, "Atelier Roux"), (200, 224, "sur feuille de temps)"),
              (200, 242, "Lampe d'atelier"), (340, 242, "3"), (390, 242, "35,00"), (500, 242, "105,00"),
              (390, 280, "Total HT"), (500, 280, "625,00"), (390, 296, "TVA 20 %"), (500, 296, "125,00"),
              (390, 312, "Total TTC"), (500, 312, "750,00")]
    document = pymupdf.open()
    page = document.new_page()
    for x, y, text in placed:
        page.insert_text((x, y), text, fontsize=10)
    data: bytes = document.tobytes()
    document.close()
    return data


def test_line_items_come_from_aligned_columns_without_ruling_lines(api: ApiServer,
                                                                    worker: Process) -> None:
    item = {"type": "object", "properties": {
        "description": {"type": "string"}, "quantity": {"type": "number"},
        "unit_price": {"type": "number"}, "amount": {"type": "number", "description": "Line total"}}}
    schema = {"type": "object", "properties": {"line_items": {"type": "array", "items": item}}}
    with api.client(make_tenant().api_key) as client:
        response = client.post("/v1/extract", data={"schema": json.dumps(schema)},
                               files={"file": ("facture.pdf", _invoice_without_ruling_lines(),
                                               "application/pdf")})
    assert response.status_code == 200, response.text
    assert response.json()["result"]["line_items"] == [
        {"description": "Chaise de bureau", "quantity": 4, "unit_price": 55.0, "amount": 220.0},
        {"description": "Pose (facturation sur feuille de temps)", "quantity": 2,
         "unit_price": 150.0, "amount": 300.0},
        {"description": "Lampe d'atelier", "quantity": 3, "unit_price": 35.0, "amount": 105.0}]


def _placed_pdf(placed: list[tuple[float, float, str]]) -> bytes:
    document = pymupdf.open()
    page = document.new_page()
    for x, y, text in placed:
        page.insert_text((x, y), text, fontsize=10)
    data: bytes = document.tobytes()
    document.close()
    return data


PARTY_SCHEMA = {"type": "object", "properties": {
    "supplier": {"type": "string", "description": "Company that issued the invoice (the seller)"},
    "address": {"type": "string",
                "description": "Postal address of the company that issued the invoice"}}}
ISSUER = [(60, 60, "Atelier Moreau"), (60, 74, "12 rue des Lilas"), (60, 88, "69003 Lyon")]
CUSTOMER = [(330, 150, "Kestrel Holdings Inc"), (330, 164, "400 Market Street"),
            (330, 178, "Denver CO 80202")]
BODY = [(60, 150, "Facture N° F-2024-077"), (300, 300, "Total TTC"), (400, 300, "1 200,00 €")]


@pytest.mark.parametrize("evidence", [
    [(60, 102, "TVA FR12345678901")],  # unlabelled: letterhead position and a VAT number
    [(330, 136, "Destinataire")],  # the other block is labelled as the recipient
])
def test_the_issuer_is_the_party_that_is_not_the_customer(
        api: ApiServer, worker: Process, evidence: list[tuple[float, float, str]]) -> None:
    # The customer's name carries a company suffix ("Inc") and the issuer's does not: the
    # suffix must not outweigh the evidence of which party is the customer.
    pdf = _placed_pdf(ISSUER + CUSTOMER + BODY + evidence)
    with api.client(make_tenant().api_key) as client:
        response = client.post("/v1/extract", data={"schema": json.dumps(PARTY_SCHEMA)},
                               files={"file": ("facture.pdf", pdf, "application/pdf")})
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {"supplier": "Atelier Moreau",
                                         "address": "12 rue des Lilas, 69003 Lyon"}


def test_two_amounts_with_the_same_evidence_leave_the_total_null(api: ApiServer,
                                                                worker: Process) -> None:
    # Two amounts side by side under one "Total amount" header: nothing on the page says
    # which is the total, so the engine must not pick one with a confident number.
    pdf = _placed_pdf([(60, 60, "CAFE ORCHID"), (60, 74, "8 Jalan Ampang"),
                       (60, 88, "50450 Kuala Lumpur"), (60, 130, "Item"), (290, 130, "Total amount"),
                       (60, 146, "Nasi lemak"), (290, 146, "9.81"), (335, 146, "0.59")])
    schema = {"type": "object", "properties": {"company": {"type": "string"},
                                               "total": {"type": "number"}}}
    with api.client(make_tenant().api_key) as client:
        response = client.post("/v1/extract", data={"schema": json.dumps(schema)},
                               files={"file": ("receipt.pdf", pdf, "application/pdf")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"].get("total") is None and "total" not in body["fields"]
    assert body["result"]["company"] == "CAFE ORCHID"


RECEIPT_LINES = ["CAFE LUMIERE", "14 Harbour Street", "Date: 12/03/2024", "",
                 "Croissant 2.50", "Flat white 4.20", "Subtotal 6.70", "Tax 0.67",
                 "Total due 7.37"]


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with running_llm() as server:
        yield server


def _robust_with_llm(client: httpx.Client, llm: ScriptedLLM, total: float) -> dict[str, Any]:
    # Robust mode reads the page twice; the second reading is the model's transcription.
    llm.script(answer("\n".join(RECEIPT_LINES)), answer({"total": total}))
    form = {"schema": json.dumps({"type": "object", "properties": {"total": {"type": "number"}}}),
            "mode": "robust", "llm_provider_model": "openai/gpt-4o-mini",
            "llm_api_key": "sk-test-0123456789abcdefghijklmnop", "llm_api_base": llm.url,
            "llm_num_retries": "0"}
    response = client.post("/v1/extract", data=form, files={
        "file": ("receipt.pdf", make_pdf(lines=RECEIPT_LINES), "application/pdf")})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_robust_mode_checks_the_llm_total_against_the_page(api: ApiServer, worker: Process,
                                                           llm: ScriptedLLM) -> None:
    with api.client(make_tenant().api_key) as client:
        wrong = _robust_with_llm(client, llm, 6.70)  # the subtotal, also printed on the page
        right = _robust_with_llm(client, llm, 7.37)
    assert wrong["result"] == {"total": 6.7} and wrong["engine"] == "llm:openai/gpt-4o-mini"
    assert wrong["fields"]["total"]["confidence"] <= 0.5
    assert wrong["fields"]["total"]["check"]["agrees"] is False
    assert wrong["fields"]["total"]["check"]["local_value"] == 7.37
    assert {"field": "total", "value": 6.7, "alternate_value": 7.37}.items() <= \
        next(d for d in wrong["cross_check"] if d["field"] == "total").items()
    assert right["result"] == {"total": 7.37}
    assert right["fields"]["total"]["confidence"] >= 0.95
    assert right["fields"]["total"]["check"]["agrees"] is True
    assert not [d for d in right["cross_check"] if d["field"] == "total"]


# Plain-string fields whose names say what they hold (issue #19): a date field typed only as
# "string" next to other labels came back as the label text, at high confidence.
_RECEIPT_SHORTHAND = {"date": "string", "total": "string", "company": "string", "address": "string"}


def test_a_string_typed_date_is_the_date_not_the_label_beside_it(api: ApiServer,
                                                                 worker: Process) -> None:
    header_row = _placed_pdf([
        (72, 60, "KEDAI RUNCIT MAJU"), (72, 76, "12 Jalan Besar, 50000 Kuala Lumpur"),
        (72, 110, "Date"), (160, 110, "Time Num"), (260, 110, "OPT"),
        (72, 126, "15/03/2024"), (160, 126, "10:42"), (260, 126, "3"),
        (72, 160, "TOTAL"), (260, 160, "RM 9.00")])
    french = make_pdf(lines=["MENUISERIE LEBRUN SARL", "8 rue des Tanneurs", "21000 Dijon",
                             "Date de la facture", "05/03/2024", "Total TTC 750,00 EUR"])
    with api.client(make_tenant().api_key) as client:
        bodies = [client.post("/v1/extract", data={"schema": json.dumps(_RECEIPT_SHORTHAND)},
                              files={"file": ("doc.pdf", pdf, "application/pdf")}).json()
                  for pdf in (header_row, french)]
    assert [b["result"]["date"] for b in bodies] == ["2024-03-15", "2024-03-05"]
    assert [b["result"]["total"] for b in bodies] == ["9.00", "750.00"]  # amounts, as strings


def test_a_string_typed_date_with_no_date_on_the_page_is_null(api: ApiServer,
                                                              worker: Process) -> None:
    lines = ["ACME SUPPLIES LTD", "Invoice date: to be confirmed", "Due date: 2015-30-45",
             "Amount due: on request"]
    schema = {"invoiceDate": "string", "due_date": "string", "amount_due": "string"}
    with api.client(make_tenant().api_key) as client:
        body = extract(client, lines, schema)
    assert body["result"].get("invoiceDate") is None
    assert body["result"].get("due_date") is None
    assert body["result"].get("amount_due") is None
    assert not body["fields"]  # no value, so no confidence is reported for any
    assert body["confidence"] == 0
