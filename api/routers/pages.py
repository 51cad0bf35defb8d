"""A job's pages as pictures: `GET /v1/jobs/{job_id}/pages/{n}.png`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.deps import CallerDep, ResourceId
from api.responses import error_responses
from shared.errors import InvalidFile, NotFound
from shared.files.page_images import PageImageUnavailable, PageNotFound
from shared.files.page_render import PageTooComplex
from shared.jobs.page_images import FilePurged, PageImagesBusy, job_page_image

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

PageNumber = Annotated[int, Path(description="1-based page number in the file.")]
SIZE_HEADERS = {
    "X-Page-Width": {"description": "The page's width in the unit of its boxes (points).",
                     "schema": {"type": "number"}},
    "X-Page-Height": {"description": "The page's height in the unit of its boxes (points).",
                      "schema": {"type": "number"}},
    "X-Page-Image-Cache": {"description": "`hit` when the picture was drawn before, else `miss`.",
                           "schema": {"type": "string", "enum": ["hit", "miss"]}},
}


@router.get(
    "/{job_id}/pages/{number}.png", response_class=Response,
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                     "headers": SIZE_HEADERS, "description": "The page as a PNG."},
               **error_responses(NotFound, PageNotFound, PageImageUnavailable, InvalidFile,
                                 FilePurged, PageTooComplex, PageImagesBusy)},
)
def get_page_image(job_id: ResourceId, number: PageNumber, caller: CallerDep) -> Response:
    """Page `number` of the job's file as a PNG (PDF pages and images; at most about 4
    megapixels), to draw `fields[].bbox` on: `X-Page-Width`/`X-Page-Height` give the page's
    size in the boxes' unit, so a box divided by them is a share of the picture. A page that
    cannot be drawn within `page_image_timeout_s` is 413 `page_too_complex` (and stays so for
    about an hour); too many pages being drawn at once is 429 `page_images_busy`."""
    page = job_page_image(tenant_id=caller.tenant_id, job_id=job_id, number=number)
    headers = {"X-Page-Width": f"{page.image.width:g}", "X-Page-Height": f"{page.image.height:g}",
               "X-Page-Image-Cache": "hit" if page.cached else "miss",
               "Cache-Control": "private, max-age=3600"}
    return Response(page.image.png, media_type="image/png", headers=headers)
