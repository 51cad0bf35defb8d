"""Vision-model OCR through LiteLLM against the loopback OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.sealing import seal
from tests.factories import make_tenant
from tests.fixtures.documents import make
from tests.llm_server import ScriptedLLM, answer, running_llm
from tests.stack import ApiServer, Process
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.markdown import render_markdown

TRANSCRIPT = "```markdown\n# Scanned Invoice\n\n| Item | Amount |\n|---|---|\n| Paper | 12.00 |\n```"


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with running_llm() as server:
        yield server


def model(llm: ScriptedLLM) -> dict[str, object]:
    return {"provider_model": "openai/vision-test", "api_base": llm.url,
            "api_key_sealed": seal("sk-vision-test-key")}


def test_scanned_page_is_transcribed_by_the_vision_model(llm: ScriptedLLM) -> None:
    llm.script(answer(TRANSCRIPT))
    request = ConversionRequest(data=make.scanned_pdf(["Scanned Invoice"]), file_name="s.pdf",
                                content_type=None, ocr_model=model(llm))
    document = convert_document(request)
    assert document.pages[0].source == "llm" and document.ocr_pages == 1
    markdown = render_markdown(document)
    assert "# Scanned Invoice" in markdown and "| Paper | 12.00 |" in markdown
    sent = llm.requests[0]
    assert sent.body["model"] == "vision-test"
    assert sent.headers["authorization"] == "Bearer sk-vision-test-key"
    parts = sent.body["messages"][-1]["content"]
    assert any(part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/png")
               for part in parts)


def test_pages_with_a_text_layer_never_reach_the_model(llm: ScriptedLLM) -> None:
    request = ConversionRequest(data=make.text_pdf(), file_name="t.pdf", content_type=None,
                                ocr_model=model(llm))
    document = convert_document(request)
    assert document.ocr_pages == 0 and not llm.requests


def test_to_markdown_with_byok_ocr_model_over_http(api: ApiServer, worker: Process,
                                                   llm: ScriptedLLM) -> None:
    llm.script(answer(TRANSCRIPT))
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post(
            "/v1/to-markdown", files={"file": ("scan.png", make.image_bytes(
                make.rendered_text(["Scanned Invoice"]), "PNG"))},
            data={"ocr_provider_model": "openai/vision-test", "ocr_api_key": "sk-vision-test-key",
                  "ocr_api_base": llm.url})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "| Paper | 12.00 |" in body["markdown"]
    assert body["meta"]["engine"] == "llm:openai/vision-test" and body["meta"]["ocr_pages"] == 1
