"""Batch items take the single-job page and reading options (`page_range`, `ocr_lang`,
`table_format`), per item or as batch defaults, checked like `/v1/canonical`'s."""

from __future__ import annotations

import json

import httpx

from tests.factories import make_tenant
from tests.stack import ApiServer, Process
from tests.test_batches import results, upload, wait_batch
from tests.test_page_range import numbered_pdf


def test_a_batch_items_page_range_converts_and_bills_only_that_range(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        uri = upload(client, numbered_pdf(6))
        response = client.post("/v1/batches", json={
            "operation": "inference.to_markdown", "defaults": {"page_range": "6"},
            "items": [{"file_uri": uri, "page_range": "2-3,5"}, {"file_uri": uri},
                      {"file_uri": uri, "page_range": "5-9"}]})
        assert response.status_code == 202, response.text
        batch_id = response.json()["batch_id"]
        done = wait_batch(client, batch_id)
        own, inherited, beyond = results(client, batch_id)
        balance = client.get("/v1/me").json()["credits_balance"]
    assert (done["counts"]["succeeded"], done["counts"]["failed"]) == (2, 1), done
    assert [page["page"] for page in own["pages"]] == [2, 3, 5]
    assert "Page marker 2" in own["pages"][0]["markdown"]
    assert "Page marker 1" not in own["markdown"] and "Page marker 6" not in own["markdown"]
    assert own["meta"]["page_range"] == "2-3,5"
    assert [page["page"] for page in inherited["pages"]] == [6]  # the batch default
    assert (own["cost"]["pages"], inherited["cost"]["pages"]) == (3, 1)
    # Billed per page of the range: three pages cost three times one page, not six pages.
    assert own["cost"]["credits_used"] == 3 * inherited["cost"]["credits_used"] > 0
    # A range past the file's end is found by the worker: the job fails with the 400, uncharged.
    assert beyond["status"] == "failed" and beyond["error"]["code"] == "invalid_page_range"
    assert "has 6 pages" in beyond["error"]["detail"]
    assert beyond["cost"]["credits_used"] == 0
    assert balance == 100 - own["cost"]["credits_used"] - inherited["cost"]["credits_used"]


def test_a_bad_page_option_on_an_item_is_the_documented_400_naming_it(api: ApiServer) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        uri = upload(client, numbered_pdf(2))

        def submit(bad: dict[str, str], defaults: dict[str, str] | None = None) -> httpx.Response:
            items = [{"file_uri": uri, "ocr_lang": "de", "table_format": "html"},
                     {"file_uri": uri, **bad}]
            return client.post("/v1/batches", json={
                "operation": "inference.to_markdown", "defaults": defaults or {},
                "items": items})

        lang = submit({"ocr_lang": "klingon"})
        pages = submit({"page_range": "3-1"})
        default = submit({}, defaults={"page_range": "x"})
        table = submit({"table_format": "pdf"})
        balance = client.get("/v1/me").json()["credits_balance"]
        jobs = client.get("/v1/jobs").json()["data"]
    assert lang.status_code == 400, lang.text
    assert lang.json()["code"] == "unsupported_ocr_lang"
    assert lang.json()["detail"].startswith("items[1]: ocr_lang 'klingon'")
    assert pages.status_code == 400 and pages.json()["code"] == "invalid_page_range"
    assert pages.json()["detail"].startswith("items[1]: "), pages.json()
    assert default.status_code == 400 and default.json()["code"] == "invalid_page_range"
    assert default.json()["detail"].startswith("items[0]: "), default.json()
    assert table.status_code == 400, table.text
    assert "items" in json.dumps(table.json()) and "table_format" in json.dumps(table.json())
    assert balance == 100 and jobs == []  # nothing held, nothing created
