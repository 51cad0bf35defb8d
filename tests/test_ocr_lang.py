"""`ocr_lang`: languages the shipped OCR models read are accepted; others are a documented 400."""

from __future__ import annotations

import pytest

from shared.jobs.ocr_lang import OCR_LANGUAGES
from tests.factories import make_tenant
from tests.fixtures.documents import make
from tests.stack import ApiServer, Process
from worker.pipeline.ocr.languages import supported_languages

GERMAN = ["Rechnung Nr. 2024-117", "Gesamtbetrag: 1.250,00 EUR", "Vielen Dank für Ihren Einkauf."]


def test_the_listed_languages_are_exactly_what_the_installed_models_read() -> None:
    # The API checks against the static list without loading OCR code; the worker's models
    # decide what is really read. A new rapidocr wheel that ships other models fails here.
    assert supported_languages() == OCR_LANGUAGES
    assert {"en", "de", "fr", "es", "it", "nl", "pt", "ms", "ch", "japan"} <= set(OCR_LANGUAGES)


@pytest.mark.parametrize("lang", ["ko", "ar", "ru", "klingon"])
def test_a_language_no_shipped_model_reads_is_refused_with_400(api: ApiServer, lang: str) -> None:
    tenant = make_tenant()
    picture = make.image_bytes(make.rendered_text(GERMAN), "PNG")
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("scan.png", picture)},
                               data={"ocr_lang": lang, "wait": "30"})
        balance = client.get("/v1/me").json()["credits_balance"]
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "unsupported_ocr_lang"
    assert f"ocr_lang {lang!r} is not read by the OCR models" in body["detail"]
    assert "de, en, es" in body["detail"]  # the message lists what is supported
    assert balance == 1000  # refused before anything was queued or charged


def test_a_supported_language_reads_the_scan(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    picture = make.image_bytes(make.rendered_text(GERMAN), "PNG")
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": ("rechnung.png", picture)},
                               data={"ocr_lang": "DE", "wait": "120"}, timeout=150)
    assert response.status_code == 200, response.text
    text = " ".join(response.json()["markdown"].split())
    assert "2024-117" in text and "1.250,00" in text and "Vielen Dank" in text


def test_ocr_lang_is_checked_on_canonical_requests_too(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/canonical", json={
            "operation": "inference.to_markdown", "file_uri": "s3://nowhere/scan.png", "ocr_lang": "th"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsupported_ocr_lang"  # options are checked before the file
