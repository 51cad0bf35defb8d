"""The web console (`/console`) through HTTP against the real API and worker, then in a real
browser (Playwright driving the system's Chromium)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from tests.console_browser import browser_page, console, csrf_of, shot, sign_in, signed_in
from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.receivers import webhook_receiver
from tests.stack import ApiServer, Process

SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"},
                                          "total": {"type": "number"}}}
def extract(api: ApiServer, key: str, **extra: str) -> dict[str, Any]:
    with api.client(key) as client:
        response = client.post(
            "/v1/extract", data={"schema": json.dumps(SCHEMA), **extra},
            files={"file": ("invoice.pdf", make_pdf(lines=INVOICE_LINES), "application/pdf")})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# Sessions.

def test_pages_need_a_session(api: ApiServer) -> None:
    with console(api) as client:
        for path in ("/console", "/console/overview", "/console/keys", "/console/jobs",
                     "/console/jobs/job_x"):
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/console/sign-in"
        client.cookies.set("quarry_console", "not-a-session", path="/console")
        assert client.get("/console/overview").headers["location"] == "/console/sign-in"


def test_sign_in_cookie_is_sealed_http_only_strict_and_short_lived(api: ApiServer) -> None:
    tenant = make_tenant()
    with console(api) as client:
        form = client.get("/console/sign-in")
        assert 'for="api_key">API key</label>' in form.text
        response = client.post("/console/sign-in", data={"api_key": tenant.api_key,
                                                         "csrf_token": csrf_of(form.text)})
        assert response.status_code == 303
        cookie = next(value for name, value in response.headers.multi_items()
                      if name == "set-cookie" and value.startswith("quarry_console="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert "Max-Age=3600" in cookie and "Path=/console" in cookie
        # The key is sealed: neither the cookie nor any page carries it.
        assert tenant.api_key not in cookie and tenant.api_key[3:] not in cookie
        for path in ("/console/overview", "/console/keys", "/console/jobs"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert tenant.api_key not in page.text
            assert page.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_expired_or_foreign_sealed_cookies_are_no_session(api: ApiServer) -> None:
    from shared.redis_client import get_redis
    from shared.sealing import seal

    tenant = make_tenant()
    expired = {"purpose": "quarry-console-session", "key": tenant.api_key, "csrf": "x",
               "exp": time.time() - 1}
    for value in (seal(json.dumps(expired)), seal(tenant.api_key),  # e.g. a sealed BYOK key
                  seal(json.dumps({**expired, "exp": time.time() + 600, "purpose": "other"}))):
        with console(api) as client:
            client.cookies.set("quarry_console", value, path="/console")
            assert client.get("/console/overview").headers["location"] == "/console/sign-in"
    # A well-sealed, unexpired cookie is a session only while its id is live server-side.
    live = {**expired, "exp": time.time() + 600, "sid": "sid-under-test"}
    with console(api) as client:
        client.cookies.set("quarry_console", seal(json.dumps(live)), path="/console")
        assert client.get("/console/overview").headers["location"] == "/console/sign-in"
    get_redis().set("console:session:sid-under-test", b"1", ex=600)
    with console(api) as client:
        client.cookies.set("quarry_console", seal(json.dumps(live)), path="/console")
        assert client.get("/console/overview").status_code == 200  # the control


def test_wrong_key_and_missing_form_token_are_refused(api: ApiServer) -> None:
    tenant = make_tenant()
    with console(api) as client:
        wrong = sign_in(client, "qk_not-a-real-key")
        assert wrong.status_code == 401
        assert "not valid or has been revoked" in wrong.text
        assert "quarry_console=" not in wrong.headers.get("set-cookie", "")
        forged = client.post("/console/sign-in", data={"api_key": tenant.api_key,
                                                       "csrf_token": "guessed"})
        assert forged.status_code == 403
        assert client.get("/console/overview").status_code == 303


def test_sign_out_clears_the_session(api: ApiServer) -> None:
    tenant = make_tenant()
    with signed_in(api, tenant) as client:
        page = client.get("/console/overview")
        assert client.post("/console/sign-out", data={}).status_code == 403  # no CSRF token
        out = client.post("/console/sign-out", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
        assert client.get("/console/overview").status_code == 303


def test_a_cookie_saved_before_sign_out_is_refused_after_it(api: ApiServer) -> None:
    tenant = make_tenant()
    with signed_in(api, tenant) as client:
        saved = client.cookies["quarry_console"]
        token = csrf_of(client.get("/console/keys").text)
        out = client.post("/console/sign-out", data={"csrf_token": token})
        assert out.status_code == 303
    with console(api) as replay:  # e.g. a copy taken from the browser before sign-out
        replay.cookies.set("quarry_console", saved, path="/console")
        for path in ("/console/overview", "/console/keys"):
            response = replay.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"
        minted = replay.post("/console/keys", data={"name": "replayed", "csrf_token": token})
        assert minted.status_code == 303 and minted.headers["location"] == "/console/sign-in"
    names = [k["name"] for k in api.client(tenant.api_key).get("/v1/api-keys").json()["data"]]
    assert "replayed" not in names


def test_each_session_has_its_own_csrf_token(api: ApiServer) -> None:
    tenant = make_tenant()
    with signed_in(api, tenant) as first, signed_in(api, tenant) as second:
        first_token = csrf_of(first.get("/console/keys").text)
        second_token = csrf_of(second.get("/console/keys").text)
        assert first_token != second_token
        second.cookies.set("quarry_console", first.cookies["quarry_console"], path="/console")
        crossed = second.post("/console/keys", data={"name": "crossed", "csrf_token": second_token})
        assert crossed.status_code == 403


def test_repeated_failed_sign_ins_get_429_until_the_window_ends(api: ApiServer) -> None:
    from shared.redis_client import get_redis
    from shared.settings import get_settings

    tenant = make_tenant()
    limit = get_settings().console_sign_in_max_failures
    # Every test signs in from 127.0.0.1: start from no failures, and leave none behind.
    get_redis().delete("console:sign-in-failures:127.0.0.1")
    try:
        with console(api) as client:
            for _ in range(limit):
                assert sign_in(client, "qk_guess").status_code == 401
            blocked = sign_in(client, "qk_guess")
            assert blocked.status_code == 429
            assert 0 < int(blocked.headers["retry-after"]) <= get_settings().console_sign_in_window_s
            assert "Too many failed sign-ins" in blocked.text
            # Even the right key waits: the limit is on the address, not on what it guessed.
            assert sign_in(client, tenant.api_key).status_code == 429
    finally:
        get_redis().delete("console:sign-in-failures:127.0.0.1")
    with console(api) as client:
        assert sign_in(client, tenant.api_key).status_code == 303


# Overview, keys, jobs.

def test_overview_shows_balance_limits_usage_and_recent_jobs(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=500)
    job = extract(api, tenant.api_key)
    with signed_in(api, tenant) as client:
        page = client.get("/console/overview")
    assert page.status_code == 200
    assert re.search(r'data-testid="balance">\s*497\s*<', page.text)
    assert "300 a minute, bursts of 20" in page.text  # the default (standard) plan's heavy limit
    assert re.search(r'data-testid="plan">\s*standard\s*<', page.text)
    assert "3 credits for 1 pages" in page.text
    assert page.text.count('<rect class="bar"') == 30
    assert f'/console/jobs/{job["job_id"]}' in page.text
    # The tenant's own plan, not the deployment's default, once an operator moves it.
    admin = make_tenant(is_admin=True)
    with api.client(admin.api_key) as client:
        moved = client.put(f"/v1/admin/tenants/{tenant.tenant_id}/plan", json={"plan": "free"})
    assert moved.status_code == 200, moved.text
    with signed_in(api, tenant) as client:
        page = client.get("/console/overview")
    assert re.search(r'data-testid="plan">\s*free\s*<', page.text)
    assert "10 a minute" in page.text
    assert re.search(r'data-testid="max-upload">\s*5 MiB\s*<', page.text)


def test_keys_are_created_once_shown_and_revoked(api: ApiServer) -> None:
    tenant = make_tenant()
    with signed_in(api, tenant) as client:
        page = client.get("/console/keys")
        token = csrf_of(page.text)
        refused = client.post("/console/keys", data={"name": "no token"})
        assert refused.status_code == 403
        created = client.post("/console/keys", data={"name": "ci deploys", "csrf_token": token})
        assert created.status_code == 201, created.text
        secret = re.search(r'id="new-key"[^>]*value="(qk_[^"]+)"', created.text)
        assert secret, created.text
        new_key = secret.group(1)
        with api.client(new_key) as api_client:
            assert api_client.get("/v1/me").status_code == 200
        listed = client.get("/console/keys")
        assert new_key not in listed.text and "ci deploys" in listed.text
        key_id = next(k["key_id"] for k in api.client(tenant.api_key).get("/v1/api-keys")
                      .json()["data"] if k["name"] == "ci deploys")
        revoked = client.post(f"/console/keys/{key_id}/revoke", data={"csrf_token": token})
        assert revoked.status_code == 303
        with api.client(new_key) as api_client:
            assert api_client.get("/v1/me").status_code == 401
        assert "revoked" in client.get("/console/keys").text


def test_values_are_escaped_and_a_bad_name_is_shown_where_it_was_typed(api: ApiServer) -> None:
    tenant = make_tenant()
    with signed_in(api, tenant) as client:
        token = csrf_of(client.get("/console/keys").text)
        created = client.post("/console/keys", data={"name": "<script>alert(1)</script>",
                                                     "csrf_token": token})
        assert created.status_code == 201
        assert "<script>alert(1)" not in created.text and "&lt;script&gt;alert(1)" in created.text
        too_long = client.post("/console/keys", data={"name": "x" * 201, "csrf_token": token})
        assert too_long.status_code == 400 and 'role="alert">Name:' in too_long.text
        missing = client.get("/console/jobs/job_doesnotexist")
        assert missing.status_code == 404 and "Job not found." in missing.text


def test_revoking_the_signed_in_key_ends_the_session(api: ApiServer) -> None:
    tenant = make_tenant()
    with signed_in(api, tenant) as client:
        token = csrf_of(client.get("/console/keys").text)
        client.post(f"/console/keys/{tenant.key_id}/revoke", data={"csrf_token": token})
        assert client.get("/console/overview").headers["location"] == "/console/sign-in"
        # The stale cookie is gone: the sign-in form shows instead of redirecting in a loop.
        assert client.get("/console/sign-in").status_code == 200


def test_jobs_filter_page_and_show_a_job(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    first = extract(api, tenant.api_key)
    second = extract(api, tenant.api_key)
    with signed_in(api, tenant) as client:
        one = client.get("/console/jobs", params={"limit": 1})
        assert second["job_id"] in one.text and first["job_id"] not in one.text
        cursor = re.search(r'rel="next" href="([^"]+)"', one.text)
        assert cursor
        following = client.get(cursor.group(1).replace("&amp;", "&"))
        assert first["job_id"] in following.text
        assert "No failed jobs." in client.get("/console/jobs", params={"status": "failed"}).text
        partial = client.get("/console/jobs", params={"status": "succeeded"},
                             headers={"HX-Request": "true"})
        assert partial.text.lstrip().startswith('<div id="jobs-table">')  # the table alone
        bad = client.get("/console/jobs", params={"status": "exploded"})
        assert bad.status_code == 400 and "Unknown status" in bad.text
        job = client.get(f"/console/jobs/{first['job_id']}")
    assert job.status_code == 200
    assert "INV-2024-001" in job.text and "1250.0" in job.text
    assert re.search(r'data-testid="credits">\s*3\s*<', job.text)
    assert "Processing" in job.text and "Waited in queue" in job.text


def test_console_pages_take_the_tenants_rate_limit(api: ApiServer) -> None:
    from shared.db.session import transaction
    from shared.tenants.service import set_rate_limits

    tenant = make_tenant()
    with transaction() as session:
        set_rate_limits(session, tenant_id=tenant.tenant_id,
                        limits={"general": {"rate": 0.01, "burst": 3}})
    with signed_in(api, tenant) as client:  # one token
        answers = [client.get("/console/jobs") for _ in range(4)]
    assert [a.status_code for a in answers[:2]] == [200, 200] and answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) >= 1 and "Slow down" in answers[-1].text
    limited = httpx.get(f"{api.url}/v1/me", headers={"X-API-KEY": tenant.api_key})
    assert limited.status_code == 429  # the same bucket as the API's


def test_job_page_lists_webhook_deliveries_and_redelivers(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with webhook_receiver() as receiver:
        job = extract(api, tenant.api_key, webhook_url=receiver.url)
        receiver.wait_for(1)
        with signed_in(api, tenant) as client:
            page = client.get(f"/console/jobs/{job['job_id']}")
            delivery = re.search(r'data-delivery-id="([^"]+)"', page.text)
            assert delivery and receiver.url in page.text
            deadline = time.monotonic() + 10  # the row is written just after the receiver answers
            while 'badge-succeeded">succeeded' not in page.text.split("Webhook deliveries")[1]:
                assert time.monotonic() < deadline, "the delivery never showed as succeeded"
                time.sleep(0.1)
                page = client.get(f"/console/jobs/{job['job_id']}")
            again = client.post(
                f"/console/jobs/{job['job_id']}/deliveries/{delivery.group(1)}/redeliver",
                data={"csrf_token": csrf_of(page.text)})
            assert again.status_code == 303
            first, second = receiver.wait_for(2)
            assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_batches_show_progress_download_results_and_stay_tenant_scoped(
        api: ApiServer, worker: Process) -> None:
    tenant, other = make_tenant(), make_tenant()
    with api.client(tenant.api_key) as client:
        presigned = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()
        httpx.put(presigned["upload_url"], content=make_pdf(), headers=presigned["headers"])
        created = client.post("/v1/batches", json={
            "operation": "inference.to_markdown",
            "items": [{"file_uri": presigned["file_uri"], "metadata": {"n": n}} for n in range(3)]})
        assert created.status_code == 202, created.text
        batch_id = created.json()["batch_id"]
        deadline = time.monotonic() + 60
        while not client.get(f"/v1/batches/{batch_id}").json()["completed_at"]:
            assert time.monotonic() < deadline, "the batch did not complete"
            time.sleep(0.2)
    with signed_in(api, tenant) as console_client:
        listed = console_client.get("/console/batches")
        assert f"/console/batches/{batch_id}" in listed.text and "3 / 3" in listed.text
        shown = console_client.get(f"/console/batches/{batch_id}")
        assert re.search(r'data-testid="progress">\s*3 of 3 finished', shown.text)
        assert "Cancel the batch" not in shown.text  # nothing left to cancel
        download = console_client.get(f"/console/batches/{batch_id}/results")
        assert download.status_code == 200
        assert download.headers["content-disposition"] == f'attachment; filename="{batch_id}.jsonl"'
        lines = [json.loads(line) for line in download.text.splitlines() if line]
        assert [line["metadata"]["n"] for line in lines] == [0, 1, 2]
    with signed_in(api, other) as console_client:
        assert batch_id not in console_client.get("/console/batches").text
        assert console_client.get(f"/console/batches/{batch_id}").status_code == 404
        assert console_client.get(f"/console/batches/{batch_id}/results").status_code == 404


def test_webhook_secret_is_shown_and_rotated(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as api_client:
        before = api_client.get("/v1/webhooks/secret").json()["secret"]
    with signed_in(api, tenant) as client:
        page = client.get("/console/webhooks")
        assert before in page.text
        assert client.post("/console/webhooks/rotate", data={}).status_code == 403
        rotated = client.post("/console/webhooks/rotate", data={"csrf_token": csrf_of(page.text)})
        assert rotated.status_code == 303
        after = client.get("/console/webhooks").text
    with api.client(tenant.api_key) as api_client:
        now = api_client.get("/v1/webhooks/secret").json()
    assert now["secret"] != before and now["previous_secret"] == before
    assert now["secret"] in after and "Previous secret" in after


def test_another_tenants_jobs_and_keys_are_invisible(api: ApiServer, worker: Process) -> None:
    owner, other = make_tenant(), make_tenant()
    job = extract(api, owner.api_key)
    with signed_in(api, other) as client:
        jobs_page = client.get("/console/jobs")
        assert job["job_id"] not in jobs_page.text and "No jobs yet" in jobs_page.text
        foreign = client.get(f"/console/jobs/{job['job_id']}")
        assert foreign.status_code == 404 and "INV-2024-001" not in foreign.text
        keys_page = client.get("/console/keys")
        assert owner.key_id not in keys_page.text and other.key_id in keys_page.text
        revoke = client.post(f"/console/keys/{owner.key_id}/revoke",
                             data={"csrf_token": csrf_of(keys_page.text)})
        assert revoke.status_code == 404
    with api.client(owner.api_key) as owner_client:
        assert owner_client.get("/v1/me").status_code == 200


def test_static_files_are_served_from_a_fixed_list(api: ApiServer) -> None:
    with console(api) as client:
        htmx = client.get("/console/static/htmx.min.js")
        assert htmx.status_code == 200 and htmx.headers["content-type"].startswith("text/javascript")
        assert client.get("/console/static/htmx.min.js",
                          headers={"If-None-Match": htmx.headers["etag"]}).status_code == 304
        assert client.get("/console/static/..%2Froutes.py").status_code == 404
        assert client.get("/console/static/routes.py").status_code == 404


# In a browser.

def test_browser_sign_in_overview_keys_jobs_and_webhooks(api: ApiServer, worker: Process,
                                                 browser: Any) -> None:
    from playwright.sync_api import expect

    tenant = make_tenant(credits=500)
    job = extract(api, tenant.api_key)
    with browser_page(browser, api, height=800) as (page, problems):
        page.goto("/console")
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        shot(page, "sign-in")
        page.get_by_label("API key").fill(tenant.api_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.get_by_test_id("balance")).to_have_text("497")
        assert tenant.api_key not in page.content()
        shot(page, "overview")

        page.get_by_role("link", name="API keys").click()
        page.get_by_label("Key name").fill("browser key")
        page.get_by_role("button", name="Create key").click()
        new_key = page.get_by_label("New API key").input_value()
        assert new_key.startswith("qk_")
        shot(page, "keys-created")
        page.get_by_role("button", name="Revoke browser key").click()
        row = page.locator("tr", has_text="browser key")
        expect(row.get_by_text("revoked")).to_be_visible()
        expect(page.get_by_label("New API key")).to_have_count(0)  # shown once only
        shot(page, "keys")
        with api.client(new_key) as client:
            assert client.get("/v1/me").status_code == 401

        page.get_by_role("link", name="Jobs").click()
        page.get_by_label("Status").select_option("failed")
        expect(page.get_by_text("No failed jobs.")).to_be_visible()  # swapped in by htmx
        expect(page).to_have_url(re.compile(r"status=failed"))
        page.get_by_label("Status").select_option("")
        page.get_by_role("link", name=job["job_id"]).click()
        expect(page.get_by_test_id("result")).to_contain_text("INV-2024-001")
        expect(page.get_by_test_id("credits")).to_have_text("3")
        expect(page.get_by_text("No webhook for this job")).to_be_visible()
        shot(page, "job")

        page.get_by_role("link", name="Batches").click()
        expect(page.get_by_text("No batches yet.")).to_be_visible()
        shot(page, "batches")

        page.get_by_role("link", name="Webhooks").click()
        secret = page.get_by_label("Current secret").input_value()
        page.get_by_role("button", name="Rotate secret").click()
        expect(page.get_by_label("Previous secret", exact=False)).to_have_value(secret)
        shot(page, "webhooks")

        # The keyboard reaches the navigation: the skip link first, then the links in order.
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

        assert not problems, problems
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        page.goto("/console/overview")
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
