"""The console's training form: "More example rows" adds four empty rows in place, keeping what
was typed (name, schema, expected JSON), each new input with a label of its own. Without
script the link fallback reloads the form with four more rows."""

from __future__ import annotations

import json
import re
from typing import Any

from bench.training.dataset import SCHEMA
from tests.console_browser import browser_page, shot, sign_in_browser, signed_in
from tests.factories import make_tenant
from tests.stack import ApiServer

LABELS_JS = """() => Array.from(document.querySelectorAll('fieldset.example label')).map(
    label => [label.htmlFor, label.textContent.trim(),
              document.getElementById(label.htmlFor) ? 1 : 0])"""


def test_more_example_rows_adds_rows_in_place_and_keeps_what_was_typed(
        api: ApiServer, browser: Any) -> None:
    from playwright.sync_api import expect

    tenant = make_tenant(credits=100)
    schema = json.dumps(SCHEMA)
    with browser_page(browser, api, height=900) as (page, problems):
        sign_in_browser(page, tenant.api_key)
        page.goto("/console/training")
        rows = page.locator("fieldset.example")
        expect(rows).to_have_count(4)
        expect(page.get_by_role("link", name="More example rows")).to_be_hidden()
        page.get_by_label("Name", exact=True).fill("typed invoices")
        page.get_by_label("Schema").fill(schema)
        page.get_by_label("Expected JSON 2", exact=True).fill('{"invoice_number": "INV-2"}')
        url = page.url
        page.get_by_role("button", name="More example rows").click()
        expect(rows).to_have_count(8)
        assert page.url == url  # no reload
        expect(page.get_by_label("Name", exact=True)).to_have_value("typed invoices")
        expect(page.get_by_label("Schema")).to_have_value(schema)
        expect(page.get_by_label("Expected JSON 2", exact=True)).to_have_value(
            '{"invoice_number": "INV-2"}')
        for number in range(5, 9):
            expect(page.get_by_label(f"Document {number}", exact=True)).to_have_value("")
            expect(page.get_by_label(f"Expected JSON {number}", exact=True)).to_have_value("")
        expect(rows.nth(7).locator("legend")).to_have_text("Example 8")
        page.get_by_label("Expected JSON 8", exact=True).fill('{"invoice_number": "INV-8"}')
        expect(page.get_by_label("Expected JSON 2", exact=True)).to_have_value(
            '{"invoice_number": "INV-2"}')
        labels = page.evaluate(LABELS_JS)
        shot(page, "training-more-rows")
    assert len(labels) == 16
    assert len({target for target, _, _ in labels}) == 16, labels  # one input each
    assert len({text for _, text, _ in labels}) == 16, labels
    assert all(found for _, _, found in labels), labels
    assert problems == []


def test_without_script_the_link_reloads_the_form_with_four_more_rows(api: ApiServer) -> None:
    with signed_in(api, make_tenant(credits=100)) as client:
        first = client.get("/console/training")
        link = re.search(r'<a href="(/console/training\?rows=\d+)#start">More example rows</a>',
                         first.text)
        assert link, first.text
        more = client.get(link.group(1))
    assert more.status_code == 200
    assert len(re.findall(r'<fieldset class="example">', first.text)) == 4
    assert len(re.findall(r'<fieldset class="example">', more.text)) == 8
    ids = re.findall(r'<label for="((?:file|expected)-\d+)">', more.text)
    assert len(ids) == len(set(ids)) == 16
