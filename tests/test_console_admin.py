"""The console's operator pages (`/console/admin`, admin keys only) and the Webhooks page's
tenant-wide list of recent deliveries, through HTTP against the real API and worker, then in
a real browser."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.console_browser import browser_page, csrf_of, shot, sign_in_browser, signed_in
from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.receivers import webhook_receiver
from tests.stack import ApiServer, Process

SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"}}}


def me(api: ApiServer, key: str) -> dict[str, Any]:
    with api.client(key) as client:
        body: dict[str, Any] = client.get("/v1/me").json()
    return body


# Operator pages.

def test_admin_pages_are_refused_to_tenant_keys(api: ApiServer) -> None:
    tenant, target = make_tenant(), make_tenant(credits=10)
    with signed_in(api, tenant) as client:
        overview = client.get("/console/overview")
        assert 'href="/console/admin"' not in overview.text  # no Admin link for a tenant key
        token = csrf_of(overview.text)
        for path in ("/console/admin", f"/console/admin/tenants/{target.tenant_id}"):
            assert client.get(path).status_code == 403, path
        for action, form in (("credits", {"amount": "500"}), ("plan", {"plan": "standard"}),
                             ("rate-limits", {"heavy_rate": "99", "heavy_burst": "99"})):
            refused = client.post(f"/console/admin/tenants/{target.tenant_id}/{action}",
                                  data={"csrf_token": token, **form})
            assert refused.status_code == 403, action
    assert me(api, target.api_key)["credits_balance"] == 10


def test_admin_lists_tenants_and_grants_credits(api: ApiServer) -> None:
    admin, target = make_tenant(is_admin=True), make_tenant(credits=10, name="grant-target")
    with signed_in(api, admin) as client:
        overview = client.get("/console/overview")
        assert 'href="/console/admin"' in overview.text and ">Admin</a>" in overview.text
        listing = client.get("/console/admin")
        assert listing.status_code == 200
        row = re.search(rf'data-tenant-id="{target.tenant_id}">(.*?)</tr>', listing.text, re.S)
        assert row and "grant-target" in row.group(1)
        assert '<td class="num" data-testid="balance">10</td>' in row.group(1)
        page = client.get(f"/console/admin/tenants/{target.tenant_id}")
        assert page.status_code == 200 and 'data-testid="balance">10<' in page.text
        # Without the form's token nothing changes.
        forged = client.post(f"/console/admin/tenants/{target.tenant_id}/credits",
                             data={"amount": "500", "csrf_token": "forged"})
        assert forged.status_code == 403
        granted = client.post(f"/console/admin/tenants/{target.tenant_id}/credits",
                              data={"amount": "500", "reason": "console grant",
                                    "csrf_token": csrf_of(page.text)})
        assert granted.status_code == 303
        assert granted.headers["location"] == f"/console/admin/tenants/{target.tenant_id}"
        after = client.get(granted.headers["location"])
        assert 'data-testid="balance">510<' in after.text
        bad = client.post(f"/console/admin/tenants/{target.tenant_id}/credits",
                          data={"amount": "lots", "csrf_token": csrf_of(page.text)})
        assert bad.status_code == 400 and 'role="alert">Credits:' in bad.text
        assert client.get("/console/admin/tenants/ten_nope").status_code == 404
    assert me(api, target.api_key)["credits_balance"] == 510


def test_admin_sets_rate_limits_and_plan(api: ApiServer) -> None:
    admin, target = make_tenant(is_admin=True), make_tenant()
    path = f"/console/admin/tenants/{target.tenant_id}"
    with signed_in(api, admin) as client:
        token = csrf_of(client.get(path).text)
        first = client.post(f"{path}/rate-limits", data={
            "csrf_token": token, "heavy_rate": "7", "heavy_burst": "9"})
        assert first.status_code == 303
        # A bucket left blank keeps the override it has.
        second = client.post(f"{path}/rate-limits", data={
            "csrf_token": token, "general_rate": "40", "general_burst": "80"})
        assert second.status_code == 303
        page = client.get(path).text
        assert re.search(r'data-testid="heavy">7(\.0)?/s, bursts of 9 \(override\)', page)
        assert re.search(r'data-testid="general">40(\.0)?/s, bursts of 80 \(override\)', page)
        bad = client.post(f"{path}/rate-limits", data={
            "csrf_token": token, "heavy_rate": "-1", "heavy_burst": "9"})
        assert bad.status_code == 400 and "Rate limits:" in bad.text
        plans = re.findall(r'<option value="([^"]+)"', page)
        assert plans
        chosen = plans[-1]
        assert client.post(f"{path}/plan", data={"csrf_token": token, "plan": chosen}
                           ).status_code == 303
        assert f'data-testid="plan">{chosen}<' in client.get(path).text
        unknown = client.post(f"{path}/plan", data={"csrf_token": token, "plan": "no-such-plan"})
        assert unknown.status_code == 400 and "no-such-plan" in unknown.text
    # The API reads the same tenant row: its plan, with the overrides on top.
    body = me(api, target.api_key)
    assert body["plan"] == chosen
    assert body["limits"]["heavy"]["burst"] == 9 and body["limits"]["general"]["burst"] == 80


# Recent deliveries, tenant-wide.

def test_webhooks_page_lists_recent_deliveries_of_the_tenant_only(
        api: ApiServer, worker: Process) -> None:
    tenant, other = make_tenant(), make_tenant()
    with signed_in(api, tenant) as client:
        assert "No deliveries yet" in client.get("/console/webhooks").text
    with webhook_receiver() as receiver, api.client(tenant.api_key) as api_client:
        answer = api_client.post(
            "/v1/extract", data={"schema": json.dumps(SCHEMA), "webhook_url": receiver.url},
            files={"file": ("invoice.pdf", make_pdf(lines=INVOICE_LINES), "application/pdf")})
        assert answer.status_code == 200, answer.text
        job_id = answer.json()["job_id"]
        receiver.wait_for(1)
        with signed_in(api, tenant) as client:
            deadline = time.monotonic() + 10  # the row is updated just after the receiver answers
            page = client.get("/console/webhooks")
            while 'badge-succeeded">succeeded' not in page.text:
                assert time.monotonic() < deadline, "the delivery never showed as succeeded"
                time.sleep(0.1)
                page = client.get("/console/webhooks")
            row = re.search(r'data-delivery-id="([^"]+)">(.*?)</tr>', page.text, re.S)
            assert row and f'href="/console/jobs/{job_id}"' in row.group(2)
            assert receiver.url in row.group(2) and "job.succeeded" in row.group(2)
            again = client.post(f"/console/jobs/{job_id}/deliveries/{row.group(1)}/redeliver",
                                data={"csrf_token": csrf_of(page.text)})
            assert again.status_code == 303
            first, second = receiver.wait_for(2)
            assert first.headers["webhook-id"] == second.headers["webhook-id"]
        with signed_in(api, other) as client:
            page = client.get("/console/webhooks").text
            assert job_id not in page and "No deliveries yet" in page


def test_browser_admin_grants_credits(api: ApiServer, browser: Any) -> None:
    from playwright.sync_api import expect

    admin, target = make_tenant(is_admin=True), make_tenant(credits=5, name="browser-target")
    with browser_page(browser, api, height=800) as (page, problems):
        sign_in_browser(page, admin.api_key)
        page.get_by_role("link", name="Admin").click()
        expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
        shot(page, "admin-tenants")
        page.get_by_role("link", name=target.tenant_id).click()
        page.get_by_label("Credits to grant").fill("95")
        page.get_by_label("Reason").fill("browser grant")
        page.get_by_role("button", name="Grant credits").click()
        expect(page.get_by_test_id("balance")).to_have_text("100")
        shot(page, "admin-tenant")
        assert not problems, problems
