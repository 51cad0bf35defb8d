"""The evidence view of an extract job: each field's value and confidence, and the pages
where values were found, drawn with a box per value (playground and a job's page).

The boxes are placed in an SVG whose `viewBox` is the page's size in the boxes' own unit
(`X-Page-Width`/`X-Page-Height` of the page image), laid over the page's picture: no
inline style (the console's CSP forbids it) and no pixel arithmetic, so a box sits on its
value whatever size the picture is shown at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared.contract.jobs import JobOut
from shared.errors import QuarryError
from shared.files.page_images import PageImageUnavailable, PageNotFound
from shared.jobs.page_images import FilePurged, job_page_image

MAX_PAGES = 5
"""Pages drawn at most (the first ones with boxes): the rest are in the JSON."""
FINISHED = ("succeeded", "partial")


@dataclass(frozen=True)
class FieldBox:
    name: str
    value: str
    confidence: float | None
    page: int | None
    bbox: tuple[float, float, float, float] | None
    source: str | None

    @property
    def percent(self) -> str:
        return "—" if self.confidence is None else f"{self.confidence * 100:.0f}%"


@dataclass(frozen=True)
class PageView:
    src: str
    number: int
    width: float
    height: float
    boxes: list[FieldBox] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    fields: list[FieldBox]
    pages: list[PageView]
    note: str | None = None
    """Why no page is drawn (a file type without pages, a purged file), when none is."""


def job_evidence(job: JobOut, tenant_id: str) -> Evidence | None:
    """None for a job without an extract result (queued, failed, markdown, purged)."""
    found = (job.model_extra or {}).get("fields")
    if job.status not in FINISHED or job.purged or job.operation != "inference.extract":
        return None
    boxes = [_field(name, info, job.result) for name, info in (found or {}).items()
             if isinstance(info, dict)]
    numbers = sorted({box.page for box in boxes if box.page and box.bbox})[:MAX_PAGES] or [1]
    pages: list[PageView] = []
    for number in numbers:
        try:
            image = job_page_image(tenant_id=tenant_id, job_id=job.job_id, number=number).image
        except (PageImageUnavailable, FilePurged) as exc:
            return Evidence(boxes, [], exc.detail)
        except PageNotFound:
            continue
        except QuarryError as exc:  # storage down, a damaged file: the values still show
            return Evidence(boxes, [], f"The page could not be drawn: {exc.detail}")
        pages.append(PageView(f"/console/jobs/{job.job_id}/pages/{number}.png", number,
                              image.width, image.height,
                              [box for box in boxes if box.page == number and box.bbox]))
    return Evidence(boxes, pages)


def _field(name: str, info: dict[str, Any], result: Any) -> FieldBox:
    value = result.get(name) if isinstance(result, dict) and name in result else info.get("value")
    bbox = info.get("bbox")
    page = info.get("page")
    confidence = info.get("confidence")
    return FieldBox(
        name=name,
        value=value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        page=page if isinstance(page, int) else None,
        bbox=_box(bbox),
        source=info.get("source") if isinstance(info.get("source"), str) else None,
    )


def _box(bbox: Any) -> tuple[float, float, float, float] | None:
    if isinstance(bbox, list | tuple) and len(bbox) == 4 and \
            all(isinstance(v, int | float) for v in bbox) and bbox[2] > bbox[0] and bbox[3] > bbox[1]:
        return (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
    return None
