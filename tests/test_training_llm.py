"""Trained LLM pipelines: hints and few-shot examples learned from the training split.

The model is tests/llm_server.py's scripted server. It answers like a model that needs the
training: it reads the invoice number only when the prompt carries the learned label hint,
and the date the right way round only when it was shown a worked example (few-shot).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from typing import Any

import pytest

from bench.training.dataset import SCHEMA, Example, make_examples
from shared.artifacts.models import TrainingJob
from shared.db.session import transaction
from shared.errors import BadRequest
from shared.extraction.schema import parse_schema
from shared.jobs.options import ExtractOptions
from tests.factories import make_tenant
from tests.llm_server import Recorded, Reply, ScriptedLLM, answer, running_llm
from tests.stack import ApiServer, Process
from tests.test_training import extract, labeled, multipart, poll_training
from worker.pipeline.extract import choose_engine
from worker.pipeline.extract.guidance import EXAMPLE_CHARS, TRUNCATED
from worker.pipeline.llm import LLMConfig
from worker.training.learn import LabeledDocument
from worker.training.variants import train

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
SECRET = "sk-test-TRAININGKEY-0123456789abcdef"
MODEL = "openai/gpt-4o-mini"
CURRENCY = "SEK"  # never printed: a model infers it (Swedish supplier), the local engine cannot
LLM_SCHEMA = {**SCHEMA, "properties": {**SCHEMA["properties"], "currency": {"type": "string"}}}
TRAINING = 8


@cache
def examples() -> list[Example]:
    return [Example(ex.file_name, ex.data, {**ex.expected, "currency": CURRENCY})
            for ex in make_examples(TRAINING + 1)]


def needs_training(recorded: Recorded) -> Reply:
    """The right answer only as far as the prompt carries the learned guidance."""
    messages = recorded.body["messages"]
    document = messages[-1]["content"]
    number = re.search(r"NP-\d{5}", document)
    truth = next((ex.expected for ex in examples() if number and ex.expected["invoice_number"]
                  == number[0]), {})
    reply = dict(truth)
    if "'Ref. No.'" not in messages[0]["content"]:
        reply.pop("invoice_number", None)
    if not any(m["role"] == "assistant" for m in messages) and "invoice_date" in reply:
        day = date.fromisoformat(reply.pop("invoice_date"))
        if day.day <= 12:  # read month-first, as an untaught model would
            reply["invoice_date"] = day.replace(month=day.day, day=day.month).isoformat()
    return answer(reply)


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with running_llm() as server:
        server.responder = needs_training
        yield server


@pytest.fixture(scope="module")
def documents() -> list[LabeledDocument]:
    return labeled(examples()[:TRAINING])


def model_config(llm: ScriptedLLM, **overrides: Any) -> LLMConfig:
    values: dict[str, Any] = {"model": MODEL, "api_key": SECRET, "api_base": llm.url,
                              "num_retries": 0, "timeout_s": 10, "byok": True}
    return LLMConfig(**{**values, **overrides})


def test_training_picks_the_guided_llm_variant(llm: ScriptedLLM,
                                                documents: list[LabeledDocument]) -> None:
    llm.script()
    outcome = train(documents, parse_schema(LLM_SCHEMA), holdout_fraction=0.5,
                    model=model_config(llm))
    report, pipeline = outcome.report, outcome.pipeline
    variants = {v["name"]: v["held_out_accuracy"] for v in report["variants"]}
    assert variants["llm"] < variants["llm+hints"] < 1.0 and variants["llm+few_shot"] < 1.0
    assert variants["llm+hints+few_shot"] == 1.0
    assert max(v for name, v in variants.items() if not name.startswith("llm")) < 1.0
    assert report["engine"] == "llm" and report["chosen"] == "llm+hints+few_shot"
    assert report["baseline"] == "llm" and report["accuracy"]["after"] > report["accuracy"]["before"]
    assert report["fields"]["invoice_number"] == {"before": 0.0, "after": 1.0}
    assert pipeline["engine"] == "llm" and pipeline["model"] == MODEL
    assert pipeline["variant"] == "llm+hints+few_shot"
    assert "'Ref. No.'" in pipeline["hints"]["invoice_number"]
    assert "day-first" in pipeline["hints"]["invoice_date"]
    assert pipeline["hints"]["line_items[].quantity"] == "the table column headed 'Pieces'"
    assert 1 <= len(pipeline["few_shot"]) <= 3
    assert all(len(shot["text"]) <= EXAMPLE_CHARS + len(TRUNCATED) for shot in pipeline["few_shot"])
    train_names = set(report["examples"]["train"])
    assert {shot["expected"]["invoice_number"] for shot in pipeline["few_shot"]} <= {
        ex.expected["invoice_number"] for ex in examples() if ex.file_name in train_names}
    assert pipeline["local"]["field_aliases"]["invoice_number"] == ["Ref. No."]  # the fallback
    assert len(llm.requests) == 4 * len(report["examples"]["held_out"])
    for text in (json.dumps(pipeline), json.dumps(report)):
        assert SECRET not in text and SECRET[:12] not in text


def test_unreachable_model_keeps_the_local_pipeline(llm: ScriptedLLM,
                                                     documents: list[LabeledDocument]) -> None:
    outcome = train(documents[:4], parse_schema(SCHEMA), holdout_fraction=0.5,
                    model=model_config(llm, api_base="http://127.0.0.1:9/v1"))
    assert outcome.pipeline["engine"] == "local" and outcome.report["engine"] == "local"
    assert outcome.report["llm"]["code"] == "llm_unreachable"
    assert SECRET not in json.dumps(outcome.report)


def test_llm_artifact_without_a_model_falls_back_or_is_400() -> None:
    schema = parse_schema(SCHEMA)
    pipeline = {"engine": "llm", "variant": "llm+hints", "model": MODEL, "hints": {"x": "y"},
                "few_shot": []}
    fallback = {"schema": schema, "pipeline": {**pipeline, "local": {}}}
    assert choose_engine(ExtractOptions.model_validate(fallback)) is None
    with pytest.raises(BadRequest) as raised:
        choose_engine(ExtractOptions.model_validate({"schema": schema, "pipeline": pipeline}))
    assert raised.value.extra["code"] == "llm_required"


def test_trained_llm_artifact_over_http(api: ApiServer, worker: Process, llm: ScriptedLLM) -> None:
    tenant = make_tenant(credits=100)
    byok = {"llm_provider_model": MODEL, "llm_api_key": SECRET, "llm_api_base": llm.url}
    with api.client(tenant.api_key) as client:
        llm.script()
        response = client.post("/v1/training-jobs", **multipart(
            examples()[:TRAINING], schema=LLM_SCHEMA, name="nordic-llm", **byok))
        assert response.status_code == 202, response.text
        job = poll_training(client, response.json()["training_job_id"])
        assert job["status"] == "succeeded", job
        artifact = client.get(f"/v1/artifacts/{job['artifact_id']}").json()
        unseen = examples()[TRAINING]
        llm.script()
        guided = extract(client, unseen.data, {"artifact_id": job["artifact_id"],
                                               "llm_num_retries": "0", **byok})
        without_model = extract(client, unseen.data, {"artifact_id": job["artifact_id"]})
    assert artifact["engine"] == "llm" and artifact["variant"] == "llm+hints+few_shot"
    assert job["report"]["accuracy"]["after"] == 1.0 > job["report"]["accuracy"]["before"]
    assert guided.status_code == 200, guided.text
    assert guided.json()["engine"] == f"llm:{MODEL}"
    assert guided.json()["result"]["invoice_number"] == unseen.expected["invoice_number"]
    assert guided.json()["result"]["invoice_date"] == unseen.expected["invoice_date"]
    sent = llm.requests[-1]
    assert "'Ref. No.'" in sent.body["messages"][0]["content"]
    assert any(m["role"] == "assistant" for m in sent.body["messages"])
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    # No server default model in the tests: the artifact's local overrides extract.
    assert without_model.status_code == 200 and without_model.json()["engine"] == "local"
    assert without_model.json()["result"]["invoice_number"] == unseen.expected["invoice_number"]
    with transaction() as session:
        stored = session.get_one(TrainingJob, job["training_job_id"]).options
    for text in (json.dumps(job), json.dumps(artifact), json.dumps(stored)):
        assert SECRET not in text and "api_key_sealed" not in text


def test_fast_training_never_calls_a_model(api: ApiServer, worker: Process,
                                           llm: ScriptedLLM) -> None:
    # A fast artifact never calls a model when it extracts: its training does not try one.
    tenant = make_tenant(credits=100)
    byok = {"llm_provider_model": MODEL, "llm_api_key": SECRET, "llm_api_base": llm.url}
    with api.client(tenant.api_key) as client:
        llm.script()
        response = client.post("/v1/training-jobs", **multipart(
            examples()[:4], schema=LLM_SCHEMA, mode="fast", **byok))
        assert response.status_code == 202, response.text
        job = poll_training(client, response.json()["training_job_id"])
    assert job["status"] == "succeeded", job
    assert llm.requests == []
    assert "llm" not in (job["report"] or {}) or not job["report"]["llm"]
