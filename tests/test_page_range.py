"""`page_range` on extract and to-markdown: only those pages are read, returned and billed;
the markdown result carries each page's markdown and size."""

from __future__ import annotations

import io
import json

import openpyxl
import pymupdf

from tests.factories import make_tenant
from tests.stack import ApiServer, Process


def numbered_pdf(pages: int) -> bytes:
    """A letter-size PDF whose page N says `Page marker N` (and page 4 holds the invoice)."""
    document = pymupdf.open()
    for number in range(1, pages + 1):
        page = document.new_page(width=612, height=792)
        page.insert_text((72, 300), f"Page marker {number}", fontsize=11)
        if number == 4:
            page.insert_text((72, 340), "Invoice Number: INV-7788", fontsize=11)
    data: bytes = document.tobytes()
    return data


def test_markdown_of_a_page_range_has_only_those_pages_billed(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("doc.pdf", numbered_pdf(6))},
                               data={"page_range": "2-3,5"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [page["page"] for page in body["pages"]] == [2, 3, 5]
    assert ["Page marker 2" in page["markdown"] for page in body["pages"]] == [True, False, False]
    assert "Page marker 5" in body["pages"][2]["markdown"]
    assert "Page marker 1" not in body["markdown"] and "Page marker 6" not in body["markdown"]
    assert all((page["width"], page["height"]) == (612, 792) for page in body["pages"])
    assert body["cost"]["pages"] == 3
    assert body["meta"]["pages"] == 3 and body["meta"]["page_range"] == "2-3,5"
    # Markdown default price: 3 pages, not 6.
    assert body["credits_remaining"] == 100 - body["cost"]["credits_used"]
    whole = client_cost(api, tenant.api_key)
    assert body["cost"]["credits_used"] * 2 == whole


def client_cost(api: ApiServer, key: str) -> int:
    """What the same 6-page document costs without a range."""
    with api.client(key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("doc.pdf", numbered_pdf(6))})
    assert response.status_code == 200, response.text
    assert len(response.json()["pages"]) == 6
    credits: int = response.json()["cost"]["credits_used"]
    return credits


def test_extract_reads_only_the_range(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    schema = json.dumps({"invoice_number": "string"})
    with api.client(tenant.api_key) as client:
        hit = client.post("/v1/extract", files={"file": ("doc.pdf", numbered_pdf(6))},
                          data={"schema": schema, "page_range": "4"})
        miss = client.post("/v1/extract", files={"file": ("doc.pdf", numbered_pdf(6))},
                           data={"schema": schema, "page_range": "1-3", "allow_partial": "true"})
    assert hit.status_code == 200, hit.text
    assert hit.json()["result"] == {"invoice_number": "INV-7788"}
    assert hit.json()["cost"]["pages"] == 1
    assert miss.status_code == 200, miss.text
    assert miss.json()["result"].get("invoice_number") is None
    assert miss.json()["cost"]["pages"] == 3


def test_a_bad_page_range_is_a_clear_400(api: ApiServer) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        for spec, words in (("2-x", "not a list of pages"), ("3-1", "runs low to high"),
                            ("0", "count from 1"), ("2,9", "has 6 pages")):
            response = client.post("/v1/to-markdown",
                                   files={"file": ("doc.pdf", numbered_pdf(6))},
                                   data={"page_range": spec})
            assert response.status_code == 400, (spec, response.text)
            assert response.json()["code"] == "invalid_page_range"
            assert words in response.json()["detail"], response.json()
        balance = client.get(f"/v1/billing/balance/{tenant.tenant_id}").json()
    assert balance["credits_balance"] == 100  # nothing held or charged


def workbook_with_hidden_sheets(hidden: int) -> bytes:
    """One visible sheet and `hidden` hidden ones (the converter leaves those out)."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "Shown"
    workbook.active["A1"] = "Visible marker"
    for number in range(1, hidden + 1):
        sheet = workbook.create_sheet(f"Hidden{number}")
        sheet["A1"] = f"Hidden marker {number}"
        sheet.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_hidden_sheets_are_not_pages_on_either_route(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    workbook = ("book.xlsx", workbook_with_hidden_sheets(9))
    schema = json.dumps({"marker": "string"})
    with api.client(tenant.api_key) as client:
        past = [client.post("/v1/to-markdown", files={"file": workbook},
                            data={"page_range": "2"}),
                client.post("/v1/extract", files={"file": workbook},
                            data={"schema": schema, "page_range": "2"})]
        first = client.post("/v1/to-markdown", files={"file": workbook},
                            data={"page_range": "1"})
        whole = client.post("/v1/to-markdown", files={"file": workbook})
    for response in past:
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_page_range"
        assert "has 1 page" in response.json()["detail"]
    for response in (first, whole):
        assert response.status_code == 200, response.text
        assert [page["page"] for page in response.json()["pages"]] == [1]
        assert "Visible marker" in response.json()["markdown"]
        assert "Hidden marker" not in response.json()["markdown"]
        assert response.json()["cost"]["pages"] == 1  # hidden sheets are not billed
