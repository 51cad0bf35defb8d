"""Page images are drawn outside the API process, within a time limit and a few at a time:
a page that takes minutes to draw is refused, and never stalls the API for anyone else.

Over HTTP against a dedicated API whose drawing limit is one second."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymupdf
import pytest

from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process, start_api

TIMEOUT_S = 1.0
SLACK_S = 1.5
"""Forking the drawing process, fetching the file and answering, on a busy test machine."""


@pytest.fixture(scope="module")
def page_api(base_env: dict[str, str], log_dir: Path) -> Iterator[ApiServer]:
    server = start_api({**base_env, "QUARRY_PAGE_IMAGE_TIMEOUT_S": str(TIMEOUT_S),
                        "QUARRY_PAGE_IMAGE_MAX_CONCURRENT": "3",
                        "QUARRY_PAGE_IMAGE_MAX_PER_TENANT": "2"}, log_dir)
    # The first render starts the process drawing forks from (it imports PyMuPDF once).
    tenant = make_tenant()
    with server.client(tenant.api_key) as client:
        warm = client.get(f"/v1/jobs/{convert(client, make_pdf(), 'warm.pdf')}/pages/1.png")
        assert warm.status_code == 200, warm.text
    yield server
    server.process.stop()


def slow_pdf(pages: int, curves: int = 1500) -> bytes:
    """Pages of 200 × 200 inches filled with curves: small files, each page several seconds
    of MuPDF's time to draw at the bounded scale (a hundred times the test's limit here)."""
    document = pymupdf.open()
    rnd = random.Random(7)
    side = 200 * 72
    for _ in range(pages):
        page = document.new_page(width=side, height=side)
        shape = page.new_shape()
        for _ in range(curves):
            points = [pymupdf.Point(rnd.uniform(0, side), rnd.uniform(0, side)) for _ in range(4)]
            shape.draw_bezier(*points)
            shape.finish(color=(0, 0, 0), fill=(rnd.random(), 0.5, 0.5), width=3)
        shape.commit()
    data: bytes = document.tobytes(deflate=True)
    return data


def convert(client: httpx.Client, data: bytes, name: str) -> str:
    response = client.post("/v1/to-markdown", files={"file": (name, data)},
                           data={"conversion_mode": "fast"})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def timed_get(client: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


class Background(threading.Thread):
    """A GET run beside the test, its response and its duration kept."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        super().__init__(daemon=True)
        self.client, self.url = client, url
        self.response: httpx.Response | None = None
        self.elapsed = 0.0

    def run(self) -> None:
        self.response, self.elapsed = timed_get(self.client, self.url)


def test_a_page_too_slow_to_draw_is_413_within_the_limit_then_at_once(
    page_api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant()
    with page_api.client(tenant.api_key) as client:
        job_id = convert(client, slow_pdf(pages=1), "curves.pdf")
        first, first_s = timed_get(client, f"/v1/jobs/{job_id}/pages/1.png")
        again, again_s = timed_get(client, f"/v1/jobs/{job_id}/pages/1.png")
    assert first.status_code == 413, first.headers
    assert first.json() == {"code": "page_too_complex",
                            "detail": "The page takes too long to draw."}
    assert TIMEOUT_S <= first_s < TIMEOUT_S + SLACK_S
    # Remembered: a retry answers the same without drawing again.
    assert again.status_code == 413 and again.json() == first.json()
    assert again_s < 0.5


def test_the_api_answers_everyone_while_a_page_is_drawn(page_api: ApiServer,
                                                         worker: Process) -> None:
    drawer, neighbour = make_tenant(), make_tenant()
    with page_api.client(drawer.api_key) as client, \
            page_api.client(neighbour.api_key) as other, page_api.client() as anyone:
        job_id = convert(client, slow_pdf(pages=1), "curves.pdf")
        render = Background(client, f"/v1/jobs/{job_id}/pages/1.png")
        render.start()
        time.sleep(0.2)
        probes = []
        while render.is_alive() and len(probes) < 6:
            health, health_s = timed_get(anyone, "/healthz")
            me, me_s = timed_get(other, "/v1/me")
            assert health.status_code == 200 and me.status_code == 200, me.text
            probes.append(max(health_s, me_s))
        render.join(timeout=30)
    assert probes, "the render ended before the API could be probed"
    assert max(probes) < 1.0, probes
    assert render.response is not None and render.response.status_code == 413
    assert render.elapsed < TIMEOUT_S + SLACK_S


def test_renders_past_the_tenant_cap_are_429_and_others_still_draw(
    page_api: ApiServer, worker: Process
) -> None:
    busy, other = make_tenant(), make_tenant()
    with page_api.client(busy.api_key) as client, page_api.client(other.api_key) as calm:
        job_id = convert(client, slow_pdf(pages=3), "curves.pdf")
        normal_job = convert(calm, make_pdf(), "invoice.pdf")
        renders = [Background(client, f"/v1/jobs/{job_id}/pages/{n}.png") for n in (1, 2)]
        for render in renders:
            render.start()
        time.sleep(0.3)
        third, third_s = timed_get(client, f"/v1/jobs/{job_id}/pages/3.png")
        # The server has room for a third render, just not this tenant's.
        drawn, drawn_s = timed_get(calm, f"/v1/jobs/{normal_job}/pages/1.png")
        for render in renders:
            render.join(timeout=30)
        cached = calm.get(f"/v1/jobs/{normal_job}/pages/1.png")
        after = client.get(f"/v1/jobs/{job_id}/pages/3.png")
    assert third.status_code == 429, third.headers
    assert third.json()["code"] == "page_images_busy" and int(third.headers["retry-after"]) >= 1
    assert third_s < 0.5
    assert drawn.status_code == 200 and drawn.headers["x-page-image-cache"] == "miss"
    assert drawn_s < 1.0
    assert cached.headers["x-page-image-cache"] == "hit" and cached.content == drawn.content
    assert [render.response.status_code for render in renders if render.response] == [413, 413]
    # Once the slots are free the page is drawn (and refused) like any other.
    assert after.status_code == 413 and after.json()["code"] == "page_too_complex"


def test_the_new_refusals_are_in_the_openapi_document(page_api: ApiServer) -> None:
    spec = httpx.get(f"{page_api.url}/openapi.json").json()
    responses = spec["paths"]["/v1/jobs/{job_id}/pages/{number}.png"]["get"]["responses"]
    assert "`page_too_complex`" in responses["413"]["description"]
    assert "`page_images_busy`" in responses["429"]["description"]
