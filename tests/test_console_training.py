"""The console's training pages (`/console/training`, `/console/artifacts/{id}`) through HTTP
against the real API and worker, then in a real browser: start training from labelled
examples, follow its progress, read the before/after report, retire the artifact."""

from __future__ import annotations

import html
import json
import re
import time
from functools import cache
from typing import Any

import httpx
import pytest

from bench.training.dataset import SCHEMA, Example, make_examples
from tests.console_browser import browser_page, csrf_of, shot, sign_in_browser, signed_in
from tests.factories import make_tenant
from tests.stack import ApiServer, Process

EXAMPLES = 4  # the fewest training takes: two to learn from, two held out
MIB = 1024 * 1024


@cache
def examples() -> list[Example]:
    return make_examples(EXAMPLES)


def training_form(client: httpx.Client, items: list[Example], *, csrf: str | None = None,
                  name: str = "nordic", schema: Any = SCHEMA,
                  labels: list[str] | None = None) -> httpx.Response:
    """POST the console's form as a browser sends it: a file and an expected-JSON field per
    row, plus one row left blank (it is skipped)."""
    page = client.get("/console/training")
    labels = labels if labels is not None else [json.dumps(ex.expected) for ex in items]
    data: dict[str, Any] = {"csrf_token": csrf if csrf is not None else csrf_of(page.text),
                            "name": name, "schema": json.dumps(schema), "mode": "standard",
                            "expected": [*labels, ""]}
    files = [("files", (ex.file_name, ex.data, "application/pdf")) for ex in items]
    return client.post("/console/training", data=data, files=files)


def wait_until_done(client: httpx.Client, training_job_id: str, timeout: float = 120) -> str:
    """Follow the status region as htmx does; it stops asking to be polled when done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        region = client.get(f"/console/training/jobs/{training_job_id}/status")
        assert region.status_code == 200, region.text
        if 'hx-trigger="every 2s"' not in region.text:
            return region.text
        time.sleep(0.5)
    raise AssertionError(f"training job {training_job_id} did not finish")


def balance(api: ApiServer, key: str) -> int:
    with api.client(key) as client:
        return int(client.get("/v1/me").json()["credits_balance"])


@pytest.fixture(scope="module")
def trained(api: ApiServer, worker: Process) -> dict[str, Any]:
    """One tenant's training started from the console, followed to the end."""
    tenant = make_tenant(credits=100)
    with signed_in(api, tenant) as client:
        empty = client.get("/console/training")
        started = training_form(client, examples())
        assert started.status_code == 303, started.text
        location = started.headers["location"]
        training_job_id = location.rsplit("/", 1)[-1]
        first = client.get(location)
        region = wait_until_done(client, training_job_id)
        done = client.get(location)
    found = re.search(r'href="/console/artifacts/(art_[A-Za-z0-9_-]+)"', done.text)
    assert found, done.text
    return {"tenant": tenant, "empty": empty, "location": location, "first": first,
            "region": region, "done": done, "training_job_id": training_job_id,
            "artifact_id": found.group(1)}


def test_training_page_has_an_empty_state_and_the_form(trained: dict[str, Any]) -> None:
    empty = trained["empty"]
    assert empty.status_code == 200
    assert "No training jobs yet" in empty.text and "No artifacts yet" in empty.text
    assert 'enctype="multipart/form-data"' in empty.text and ">Start training</button>" in empty.text
    assert empty.text.count('name="files"') == EXAMPLES  # one row per example needed


def test_console_training_runs_and_shows_the_report_per_field(
        api: ApiServer, trained: dict[str, Any]) -> None:
    assert re.fullmatch(r"/console/training/jobs/trn_[A-Za-z0-9_-]+", trained["location"])
    first = trained["first"]
    assert first.status_code == 200 and "Training: nordic" in first.text
    assert "4 examples" in first.text
    done = trained["done"].text
    assert 'badge-succeeded">succeeded' in done
    assert "hx-trigger" not in done  # finished: nothing polls any more
    fields = done.split('data-testid="report-fields"')[1].split("</table>")[0]
    row = re.search(r'invoice_number</th>\s*<td class="num">([\d.]+)%</td>\s*'
                    r'<td class="num">([\d.]+)%</td>', fields)
    assert row and float(row.group(1)) < float(row.group(2)) == 100.0, fields
    assert "Held-out mean field accuracy" in done
    # The same figures as the API shows, and billed as the API bills training.
    with api.client(trained["tenant"].api_key) as client:
        job = client.get(f"/v1/training-jobs/{trained['training_job_id']}").json()
    assert job["status"] == "succeeded" and job["artifact_id"] == trained["artifact_id"]
    assert job["examples"] == EXAMPLES and job["name"] == "nordic"
    assert balance(api, trained["tenant"].api_key) == 100 - EXAMPLES * 3
    with signed_in(api, trained["tenant"]) as client:
        listing = client.get("/console/training").text
    assert trained["training_job_id"] in listing and trained["artifact_id"] in listing


def test_progress_region_polls_every_two_seconds_while_running(
        api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    with signed_in(api, tenant) as client:
        started = training_form(client, examples(), name="polled")
        page = client.get(started.headers["location"])
    # Either still queued/running (then it polls its own status route) or already done.
    training_job_id = started.headers["location"].rsplit("/", 1)[-1]
    if 'badge-succeeded' not in page.text:
        assert (f'hx-get="/console/training/jobs/{training_job_id}/status" '
                'hx-trigger="every 2s"') in page.text
        assert 'data-testid="progress"' in page.text


def test_artifact_page_links_the_playground_and_retires_with_csrf(
        api: ApiServer, trained: dict[str, Any]) -> None:
    artifact_id = trained["artifact_id"]
    with signed_in(api, trained["tenant"]) as client:
        page = client.get(f"/console/artifacts/{artifact_id}")
        assert page.status_code == 200
        assert f'href="/console/playground?artifact={artifact_id}"' in page.text
        assert "Use in playground" in page.text and 'data-testid="report-fields"' in page.text
        forged = client.post(f"/console/artifacts/{artifact_id}/retire",
                             data={"csrf_token": "not-the-token"})
        assert forged.status_code == 403
        assert client.post(f"/console/artifacts/{artifact_id}/retire").status_code == 403
        with api.client(trained["tenant"].api_key) as api_client:
            assert api_client.get(f"/v1/artifacts/{artifact_id}").json()["status"] == "active"
        retired = client.post(f"/console/artifacts/{artifact_id}/retire",
                              data={"csrf_token": csrf_of(page.text)})
        assert retired.status_code == 303
        after = client.get(f"/console/artifacts/{artifact_id}")
        assert 'badge-canceled">retired' in after.text and ">Retire</button>" not in after.text
        listing = client.get("/console/training").text
        assert 'badge-canceled">retired' in listing  # retired artifacts stay listed
    with api.client(trained["tenant"].api_key) as api_client:
        assert api_client.get(f"/v1/artifacts/{artifact_id}").json()["status"] == "retired"
        extract = api_client.post("/v1/extract", data={"artifact_id": artifact_id},
                                  files={"file": ("x.pdf", examples()[0].data)})
        assert extract.status_code == 404


def test_another_tenant_cannot_see_or_retire_the_training(
        api: ApiServer, trained: dict[str, Any]) -> None:
    other = make_tenant()
    with signed_in(api, other) as client:
        listing = client.get("/console/training")
        assert trained["training_job_id"] not in listing.text
        assert trained["artifact_id"] not in listing.text
        for path in (f"/console/training/jobs/{trained['training_job_id']}",
                     f"/console/training/jobs/{trained['training_job_id']}/status",
                     f"/console/artifacts/{trained['artifact_id']}"):
            assert client.get(path).status_code == 404, path
        refused = client.post(f"/console/artifacts/{trained['artifact_id']}/retire",
                              data={"csrf_token": csrf_of(listing.text)})
        assert refused.status_code == 404


def test_start_training_needs_the_form_token(api: ApiServer) -> None:
    tenant = make_tenant(credits=100)
    with signed_in(api, tenant) as client:
        refused = training_form(client, examples(), csrf="forged")
        assert refused.status_code == 403
        assert "No training jobs yet" in client.get("/console/training").text
    assert balance(api, tenant.api_key) == 100


@pytest.mark.parametrize("case", ["bad_label", "too_few", "bad_schema", "unpaired"])
def test_bad_examples_are_refused_on_the_form_and_cost_nothing(api: ApiServer, case: str) -> None:
    tenant = make_tenant(credits=100)
    items, labels = examples(), [json.dumps(ex.expected) for ex in examples()]
    schema: Any = SCHEMA
    expected_text = {"bad_label": "does not match the schema", "too_few": "at least 4",
                     "bad_schema": "schema", "unpaired": "expected labels"}[case]
    if case == "bad_label":
        labels[1] = json.dumps({**items[1].expected, "total": "a lot"})
    elif case == "too_few":
        items, labels = items[:2], labels[:2]
    elif case == "bad_schema":
        schema = {"type": "object", "properties": {"total": {"type": "no-such-type"}}}
    else:
        labels = labels[:3]
    with signed_in(api, tenant) as client:
        refused = training_form(client, items, name="typed name", schema=schema, labels=labels)
        assert refused.status_code == 400, refused.text
        error = re.search(r'data-testid="training-error">([^<]+)<', refused.text)
        assert error and expected_text in error.group(1).replace("&#39;", "'"), refused.text
        assert 'value="typed name"' in refused.text  # what was typed stays on the form
        assert "No training jobs yet" in refused.text
    assert balance(api, tenant.api_key) == 100


def test_training_without_credits_is_402(api: ApiServer) -> None:
    tenant = make_tenant(credits=0)
    with signed_in(api, tenant) as client:
        refused = training_form(client, examples())
    assert refused.status_code == 402


def test_the_form_takes_files_larger_than_a_json_body(api: ApiServer) -> None:
    """The console's upload route has the API's file cap, not the 2 MiB JSON one."""
    tenant = make_tenant(credits=100)
    big = Example("big.pdf", b"%PDF-1.4\n" + b"0" * (3 * MIB), examples()[0].expected)
    with signed_in(api, tenant) as client:
        answer = training_form(client, [big, *examples()[1:]])
    assert answer.status_code == 400, answer.text[:500]
    assert "big.pdf" in answer.text


def test_training_from_finished_jobs_with_corrected_results(api: ApiServer,
                                                           worker: Process) -> None:
    tenant, other = make_tenant(credits=200), make_tenant()
    job_ids = []
    with api.client(tenant.api_key) as client:
        for example in examples():
            answer = client.post("/v1/extract", data={"schema": json.dumps(SCHEMA)},
                                 files={"file": (example.file_name, example.data,
                                                 "application/pdf")})
            assert answer.status_code == 200, answer.text
            job_ids.append(answer.json()["job_id"])
    untrained = balance(api, tenant.api_key)
    with signed_in(api, tenant) as client:
        picker = client.get("/console/training/from-jobs")
        assert picker.status_code == 200
        for job_id in job_ids:
            assert f'name="job" value="{job_id}"' in picker.text
        form = client.get("/console/training/from-jobs", params={"job": job_ids})
        assert form.status_code == 200
        assert form.text.count('name="expected"') == len(job_ids)
        assert "invoice_number" in form.text  # the schema and the results, to correct
        # Each label to correct is the extracted values alone, not the whole stored answer.
        prefilled = re.findall(r'<textarea id="expected-\d+" name="expected"[^>]*>([^<]*)<',
                               form.text)
        assert len(prefilled) == len(job_ids)
        for text in prefilled:
            label = json.loads(html.unescape(text))
            assert set(label) <= set(SCHEMA["properties"]) and "route" not in label
        # The untrained results miss most fields: the corrections are the true values.
        corrected = [json.dumps(example.expected) for example in examples()]
        data = {"csrf_token": csrf_of(form.text), "name": "corrected", "mode": "standard",
                "schema": json.dumps(SCHEMA), "job": job_ids, "expected": corrected}
        assert client.post("/console/training/from-jobs",
                           data={**data, "csrf_token": "forged"}).status_code == 403
        short = client.post("/console/training/from-jobs",
                            data={**data, "job": job_ids[:2], "expected": corrected[:2]})
        assert short.status_code == 400 and "at least 4" in short.text
        started = client.post("/console/training/from-jobs", data=data)
        assert started.status_code == 303, started.text
        training_job_id = started.headers["location"].rsplit("/", 1)[-1]
        region = wait_until_done(client, training_job_id)
        assert 'badge-succeeded">succeeded' in region and 'data-testid="report-fields"' in region
    with api.client(tenant.api_key) as client:
        job = client.get(f"/v1/training-jobs/{training_job_id}").json()
    assert job["status"] == "succeeded" and job["examples"] == len(job_ids)
    assert job["report"]["accuracy"]["after"] > job["report"]["accuracy"]["before"]
    assert balance(api, tenant.api_key) == untrained - EXAMPLES * 3
    with signed_in(api, other) as client:  # another tenant's jobs cannot be picked
        assert job_ids[0] not in client.get("/console/training/from-jobs").text
        assert client.get("/console/training/from-jobs",
                          params={"job": job_ids}).status_code == 404
        refused = client.post("/console/training/from-jobs", data={
            **data, "csrf_token": csrf_of(client.get("/console/training").text)})
        assert refused.status_code == 404


def test_browser_starts_training_and_follows_it(api: ApiServer, worker: Process,
                                               browser: Any) -> None:
    from playwright.sync_api import expect

    tenant = make_tenant(credits=100)
    with browser_page(browser, api, height=900) as (page, problems):
        sign_in_browser(page, tenant.api_key)
        page.get_by_role("link", name="Training").click()
        expect(page.get_by_role("heading", name="Training", exact=True)).to_be_visible()
        expect(page.get_by_text("No training jobs yet")).to_be_visible()
        shot(page, "training-empty")
        page.get_by_label("Name", exact=True).fill("browser invoices")
        page.get_by_label("Schema").fill(json.dumps(SCHEMA))
        for index, example in enumerate(examples()):
            page.get_by_label(f"Document {index + 1}", exact=True).set_input_files(
                {"name": example.file_name, "mimeType": "application/pdf",
                 "buffer": example.data})
            page.get_by_label(f"Expected JSON {index + 1}", exact=True).fill(
                json.dumps(example.expected))
        shot(page, "training-form")
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_role("heading", name="Training: browser invoices")).to_be_visible()
        expect(page.locator("#training-status")).to_contain_text("Status")
        shot(page, "training-job")
        # htmx polls the status region; the report replaces the progress when training ends.
        expect(page.get_by_test_id("report-fields")).to_be_visible(timeout=120_000)
        expect(page.get_by_test_id("accuracy")).to_contain_text("after")
        shot(page, "training-report")
        page.get_by_role("link", name=re.compile(r"^art_")).first.click()
        expect(page.get_by_role("link", name="Use in playground")).to_be_visible()
        page.get_by_role("button", name="Retire").click()
        expect(page.get_by_text("Retired: it can no longer be used to extract.")).to_be_visible()
        shot(page, "training-artifact")
        assert not problems, problems
