"""Files from the wild through the running API and worker: 200 or a documented 4xx, never a 5xx.

`fixtures/documents/wild/` holds small real files that once crashed a parser or the
converter (see its SOURCES.md); the hostile office files are generated here.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest
from pptx import Presentation
from pptx.util import Inches

from tests.factories import make_tenant
from tests.fixtures.documents import make
from tests.stack import ApiServer, Process, redis_database, start_api, start_worker

WILD = Path(__file__).parent / "fixtures" / "documents" / "wild"
WILD_FILES = sorted(path for path in WILD.iterdir() if path.name != "SOURCES.md")
DOCUMENTED_4XX = {400, 413}
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def post_markdown(api: ApiServer, name: str, data: bytes) -> tuple[int, dict[str, object]]:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown", files={"file": (name, data)},
                               data={"wait": "120"}, timeout=150)
    return response.status_code, response.json()


@pytest.mark.parametrize("path", WILD_FILES, ids=[path.name for path in WILD_FILES])
def test_wild_file_is_converted_or_refused_with_its_documented_error(
    api: ApiServer, worker: Process, path: Path,
) -> None:
    status, body = post_markdown(api, path.name, path.read_bytes())
    assert status == 200 or status in DOCUMENTED_4XX, body
    if status == 200:
        assert isinstance(body["markdown"], str) and body["meta"]["pages"] >= 1  # type: ignore[index]
    else:
        assert set(body) >= {"detail", "code"} and body["detail"]


def test_damaged_page_is_left_out_with_a_warning(api: ApiServer, worker: Process) -> None:
    status, body = post_markdown(api, "manual.pdf", pdf_with_a_damaged_page())
    assert status == 200, body
    meta = body["meta"]
    assert meta["pages"] == 2  # type: ignore[index]
    assert meta["warnings"] == ["Page 2 could not be read and was left out."]  # type: ignore[index]
    assert "First page" in str(body["markdown"]) and "Third page" in str(body["markdown"])


def test_docx_with_a_huge_document_part_is_refused_at_once(api: ApiServer) -> None:
    # 1.5 MB on the wire, 21 MiB of XML: far below the compression-ratio guard.
    data = docx_with_paragraphs(570_000)
    assert len(data) < 3 * 1024 * 1024
    status, body = post_markdown(api, "long.docx", data)
    assert status == 413, body
    assert body["code"] == "archive_too_large" and "word/document.xml" in str(body["detail"])


def test_pptx_with_a_shape_type_the_parser_does_not_know_converts(
    api: ApiServer, worker: Process,
) -> None:
    status, body = post_markdown(api, "review.pptx", pptx_with_unknown_shape())
    assert status == 200, body
    assert "# Quarterly Review" in str(body["markdown"])
    assert "Revenue grew in every region" in str(body["markdown"])


@pytest.fixture(scope="module")
def capped_api(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    """An API and a worker of their own (own queue) whose processes may use 1200 MiB."""
    env = {**base_env, "QUARRY_REDIS_URL": redis_database(base_env, 15),
           "QUARRY_JOB_MAX_MEMORY_MB": "1200"}
    server = start_api(env, log_dir)
    capped = start_worker(env, log_dir, concurrency=1, name="capped-worker")
    yield server
    capped.stop()
    server.process.stop()


def test_file_needing_more_memory_than_a_job_may_use_fails_alone_with_413(
    capped_api: ApiServer,
) -> None:
    # Under every size limit (19 MiB of XML), but its half a million paragraphs need
    # well over a gigabyte as parsed XML plus document model.
    status, body = post_markdown(capped_api, "big.docx", docx_with_paragraphs(520_000))
    assert status == 413, body
    assert body == {**body, "code": "memory_limit",
                    "detail": "The document needs more memory than allowed."}
    # The same worker goes on with the next job.
    status, body = post_markdown(capped_api, "plan.docx", make.docx_bytes())
    assert status == 200 and "# Project Plan" in str(body["markdown"])


def docx_with_paragraphs(count: int) -> bytes:
    """A valid DOCX whose body is `count` short numbered paragraphs (~33 bytes of XML each)."""
    body = "".join(f"<w:p><w:r><w:t>{index}</w:t></w:r></w:p>" for index in range(count))
    xml = f'<?xml version="1.0"?><w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make.docx_bytes())) as source, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            part = xml.encode() if item.filename == "word/document.xml" else source.read(item)
            target.writestr(item, part)
    return buffer.getvalue()


def pptx_with_unknown_shape() -> bytes:
    """A slide with a text shape that is no placeholder, text box, auto shape or freeform."""
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Quarterly Review"
    box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(4), Inches(1))
    box.text_frame.text = "Revenue grew in every region"
    shape = box._element
    shape.nvSpPr.cNvSpPr.attrib.pop("txBox")
    shape.spPr.remove(shape.spPr[-1] if shape.spPr.prstGeom is None else shape.spPr.prstGeom)
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def pdf_with_a_damaged_page() -> bytes:
    """Three pages; in the page tree, the second's place holds a node that contains itself."""
    document = pymupdf.open()
    for text in ("First page", "Second page", "Third page"):
        document.new_page().insert_text((72, 72), text, fontsize=12)
    root = int(document.xref_get_key(document.pdf_catalog(), "Pages")[1].split()[0])
    first, _, third = (page.xref for page in document)
    loop = document.get_new_xref()
    document.update_object(loop, f"<< /Type /Pages /Parent {root} 0 R /Kids [{loop} 0 R] /Count 1 >>")
    document.xref_set_key(root, "Kids", f"[{first} 0 R {loop} 0 R {third} 0 R]")
    data: bytes = document.tobytes()
    return data
