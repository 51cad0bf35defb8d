"""Trained pipelines: training through HTTP with a real worker, artifacts, and the learning step."""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import httpx
import pytest

from bench.training.dataset import SCHEMA, Example, make_examples
from shared.artifacts.service import check_label
from shared.errors import BadRequest
from shared.extraction.schema import parse_schema
from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.extract import run_engine
from worker.pipeline.extract.config import DEFAULT_CONFIG
from worker.training.learn import LabeledDocument, learn
from worker.training.variants import held_out_indices, train

TRAINING = 8  # four to learn from, four held out: enough for the layout, quick to run


@cache
def examples() -> list[Example]:
    return make_examples(TRAINING + 1)


def multipart(items: list[Example], schema: Any = SCHEMA, **form: str) -> dict[str, Any]:
    files = [("files", (ex.file_name, ex.data, "application/pdf")) for ex in items]
    data = {"schema": json.dumps(schema), "expected": json.dumps([ex.expected for ex in items]),
            **form}
    return {"files": files, "data": data}


def poll_training(client: httpx.Client, training_job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/training-jobs/{training_job_id}").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"training job {training_job_id} did not finish")


def extract(client: httpx.Client, data: bytes, form: dict[str, str]) -> httpx.Response:
    """POST /v1/extract; a 202 (the worker was slower than the wait) is followed to the end."""
    response = client.post("/v1/extract", files={"file": ("x.pdf", data)}, data=form)
    deadline = time.monotonic() + 120
    while response.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.3)
        response = client.get(response.json()["status_url"])
        if response.json()["status"] in ("queued", "running"):
            response = httpx.Response(202, json=response.json() | {
                "status_url": f"/v1/jobs/{response.json()['job_id']}"})
    return response


def credits(client: httpx.Client) -> int:
    return int(client.get("/v1/me").json()["credits_balance"])


@pytest.fixture(scope="module")
def trained(api: ApiServer, worker: Process) -> dict[str, Any]:
    """One tenant's finished training job, shared by the tests that use its artifact."""
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/training-jobs",
                               **multipart(examples()[:TRAINING], name="nordic"))
        assert response.status_code == 202, response.text
        accepted = response.json()
        job = poll_training(client, accepted["training_job_id"])
        balance = credits(client)
    return {"tenant": tenant, "accepted": accepted, "job": job, "balance": balance}


def test_training_job_produces_an_artifact_with_a_report(api: ApiServer, trained: dict[str, Any]) -> None:
    accepted, job = trained["accepted"], trained["job"]
    assert accepted["training_job_id"].startswith("trn_") and accepted["status"] == "queued"
    assert accepted["status_url"] == f"/v1/training-jobs/{accepted['training_job_id']}"
    assert job["status"] == "succeeded", job
    assert job["artifact_id"].startswith("art_")
    report = job["report"]
    assert report["accuracy"]["after"] > report["accuracy"]["before"]
    assert report["fields"]["invoice_number"] == {"before": 0.0, "after": 1.0}
    assert report["fields"]["total"]["after"] > report["fields"]["total"]["before"]
    assert len(report["examples"]["train"]) == len(report["examples"]["held_out"]) == 4
    assert trained["balance"] == 100 - 8 * 3  # eight one-page examples, billed as standard extraction
    with api.client(trained["tenant"].api_key) as client:
        artifact = client.get(f"/v1/artifacts/{job['artifact_id']}").json()
        listed = client.get("/v1/artifacts").json()["data"]
    assert artifact["name"] == "nordic" and artifact["version"] == 1
    assert artifact["schema"] == parse_schema(SCHEMA) and artifact["status"] == "active"
    assert artifact["pipeline"]["engine"] == "local"
    assert "Ref. No." in artifact["pipeline"]["local"]["field_aliases"]["invoice_number"]
    assert [a["artifact_id"] for a in listed] == [job["artifact_id"]]


def test_extract_with_artifact_needs_no_schema_and_reads_better(
        api: ApiServer, trained: dict[str, Any]) -> None:
    unseen = examples()[TRAINING]
    artifact_id = trained["job"]["artifact_id"]
    with api.client(trained["tenant"].api_key) as client:
        plain = extract(client, unseen.data, {"schema": json.dumps(SCHEMA)})
        with_artifact = extract(client, unseen.data, {"artifact_id": artifact_id})
        same_schema = extract(client, unseen.data,
                              {"artifact_id": artifact_id, "schema": json.dumps(SCHEMA)})
    assert plain.status_code == 200 and with_artifact.status_code == 200, with_artifact.text
    assert "invoice_number" not in plain.json()["result"]
    result = with_artifact.json()["result"]
    for name in ("invoice_number", "invoice_date", "customer_name", "subtotal", "total"):
        assert result[name] == unseen.expected[name], name
    assert [item["quantity"] for item in result["line_items"]] == \
        [item["quantity"] for item in unseen.expected["line_items"]]
    assert with_artifact.json()["mode"] == "standard"
    assert same_schema.status_code == 200 and same_schema.json()["result"] == result


def test_batch_items_with_an_artifact_run_with_its_schema_and_pipeline(
        api: ApiServer, trained: dict[str, Any]) -> None:
    from tests.test_batches import results, upload, wait_batch

    unseen = examples()[TRAINING]
    artifact_id = trained["job"]["artifact_id"]
    with api.client(trained["tenant"].api_key) as client:
        file_uri = upload(client, unseen.data)
        response = client.post("/v1/batches", json={
            "operation": "inference.extract", "defaults": {"artifact_id": artifact_id},
            "items": [{"file_uri": file_uri}]})
        assert response.status_code == 202, response.text
        batch_id = response.json()["batch_id"]
        assert wait_batch(client, batch_id)["counts"]["succeeded"] == 1
        [line] = results(client, batch_id)
        mismatch = client.post("/v1/batches", json={
            "operation": "inference.extract", "items": [{
                "file_uri": file_uri, "artifact_id": artifact_id,
                "schema": {"total": "number"}}]})
    result = line["result"]
    for name in ("invoice_number", "customer_name", "total"):
        assert result[name] == unseen.expected[name], name
    assert mismatch.status_code == 400 and "items[0]" in mismatch.json()["detail"]


def test_schema_that_differs_from_the_artifact_is_400(api: ApiServer, trained: dict[str, Any]) -> None:
    with api.client(trained["tenant"].api_key) as client:
        response = client.post("/v1/extract", files={"file": ("x.pdf", make_pdf())},
                               data={"artifact_id": trained["job"]["artifact_id"],
                                     "schema": '{"total": "number"}'})
    assert response.status_code == 400 and response.json()["code"] == "schema_mismatch"


def test_foreign_unknown_and_retired_artifacts_are_404(api: ApiServer, trained: dict[str, Any]) -> None:
    artifact_id, job_id = trained["job"]["artifact_id"], trained["job"]["training_job_id"]
    intruder = make_tenant()
    with api.client(intruder.api_key) as client:
        assert client.get(f"/v1/artifacts/{artifact_id}").status_code == 404
        assert client.get(f"/v1/training-jobs/{job_id}").status_code == 404
        assert client.delete(f"/v1/artifacts/{artifact_id}").status_code == 404
        foreign = client.post("/v1/extract", files={"file": ("x.pdf", make_pdf())},
                              data={"artifact_id": artifact_id})
        unknown = client.post("/v1/canonical", json={
            "operation": "inference.extract", "file_uri": "quarry://uploads/upl_x",
            "artifact_id": "art_doesnotexist"})
        assert client.get("/v1/artifacts").json()["data"] == []
    assert foreign.status_code == 404 and unknown.status_code == 404
    # Retiring is its own tenant's call; a second training gives version 2 of the same name.
    owner = make_tenant()
    with api.client(owner.api_key) as client:
        job = poll_training(client, client.post(
            "/v1/training-jobs", **multipart(examples()[:4], mode="fast")).json()["training_job_id"])
        own = job["artifact_id"]
        assert client.delete(f"/v1/artifacts/{own}").json()["status"] == "retired"
        retired = client.post("/v1/extract", files={"file": ("x.pdf", make_pdf())},
                              data={"artifact_id": own})
        assert client.get("/v1/artifacts").json()["data"] == []
    assert job["status"] == "succeeded" and retired.status_code == 404


def test_training_from_presigned_files(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=20)
    with api.client(tenant.api_key) as client:
        items = []
        for ex in examples()[:4]:
            target = client.post("/v1/uploads/presign", json={"file_name": ex.file_name}).json()
            assert httpx.put(target["upload_url"], content=ex.data,
                             headers=target["headers"]).status_code == 200
            items.append({"file_uri": target["file_uri"], "expected": ex.expected})
        response = client.post("/v1/training-jobs", json={"schema": SCHEMA, "examples": items})
        assert response.status_code == 202, response.text
        job = poll_training(client, response.json()["training_job_id"])
        assert credits(client) == 20 - 4 * 3
    assert job["status"] == "succeeded" and job["report"]["accuracy"]["after"] > 0.5


@pytest.mark.parametrize("case", ["count_mismatch", "bad_label", "too_few", "unreadable",
                                  "bad_schema", "unknown_field", "foreign_uri"])
def test_bad_training_input_is_400_and_free(api: ApiServer, case: str) -> None:
    tenant = make_tenant(credits=50)
    good = examples()[:4]
    if case == "count_mismatch":
        request = multipart(good)
        request["data"]["expected"] = json.dumps([ex.expected for ex in good[:3]])
    elif case == "bad_label":
        request = multipart(good)
        labels = [ex.expected for ex in good]
        labels[2] = {**labels[2], "total": "a lot"}
        request["data"]["expected"] = json.dumps(labels)
    elif case == "too_few":
        request = multipart(good[:3])
    elif case == "unreadable":
        request = multipart(good)
        request["files"][1] = ("files", ("broken.pdf", b"%PDF-1.7 not really", "application/pdf"))
    elif case == "bad_schema":
        request = multipart(good, schema={"total": "money"})
    elif case == "unknown_field":
        request = multipart(good)
        request["data"]["expected"] = json.dumps([{**ex.expected, "iban": "x"} for ex in good])
    else:
        other = make_tenant()
        with api.client(other.api_key) as client:
            uri = client.post("/v1/uploads/presign", json={"file_name": "a.pdf"}).json()["file_uri"]
        request = {"json": {"schema": SCHEMA, "examples": [
            {"file_uri": uri, "expected": ex.expected} for ex in good]}}
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/training-jobs", **request)
        balance = credits(client)
    expected_status = 404 if case == "foreign_uri" else 400
    assert response.status_code == expected_status, response.text
    assert response.json()["detail"]
    assert balance == 50


# The learning step, without HTTP, Celery or a database.

def labeled(items: list[Example]) -> list[LabeledDocument]:
    return [LabeledDocument(ex.file_name, convert_document(
        ConversionRequest(ex.data, ex.file_name, "application/pdf")), ex.expected) for ex in items]


def test_learning_finds_labels_columns_and_positions() -> None:
    learned = learn(labeled(examples()[:4]), parse_schema(SCHEMA))
    assert learned.aliases["invoice_number"] == ["Ref. No."]
    assert learned.aliases["invoice_date"] == ["Dated"]
    assert learned.aliases["customer_name"] == ["Consignee"]
    assert learned.aliases["total"] == ["Sum"]
    assert learned.columns == {"description": ["Goods"], "quantity": ["Pieces"],
                               "amount": ["Line value"]}
    assert learned.positions["below"] == 4 and learned.positions["right"] > 0


def test_training_keeps_the_best_held_out_variant_and_is_deterministic() -> None:
    docs = labeled(examples()[:TRAINING])
    first = train(docs, parse_schema(SCHEMA), holdout_fraction=0.5)
    again = train(docs, parse_schema(SCHEMA), holdout_fraction=0.5)
    assert first.report == again.report and first.variant == again.variant
    assert first.report["accuracy"] == {"before": pytest.approx(0.2, abs=0.2), "after": 1.0}
    assert "day_first" in first.variant.components and "aliases" in first.variant.components
    assert first.report["variants"][0]["name"] == "baseline"
    unseen = labeled([examples()[TRAINING]])[0]
    config = DEFAULT_CONFIG.merged(first.variant.overrides)
    runs = [{k: v.value for k, v in run_engine(unseen.document, SCHEMA, None, config).items()}
            for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]["total"] == unseen.expected["total"]


def test_split_is_even_and_stable() -> None:
    assert held_out_indices(20, 0.5) == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    assert held_out_indices(4, 0.5) == [1, 3]
    assert held_out_indices(5, 0.2) == [2]


def test_labels_must_satisfy_the_schema() -> None:
    schema = parse_schema(SCHEMA)
    check_label(schema, {"total": 12.5, "invoice_date": "2024-03-05", "customer_name": None}, 0)
    for bad in ({"total": "12"}, {"invoice_date": "05/03/2024"}, [], {}, {"total": None}):
        with pytest.raises(BadRequest):
            check_label(schema, bad, 3)
