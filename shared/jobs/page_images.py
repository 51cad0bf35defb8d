"""A job's page as a picture (`GET /v1/jobs/{id}/pages/{n}.png`), drawn once and cached.

The picture is drawn from the job's stored file and kept next to it, under
`<tenant>/uploads/<upload_id>/pages/<n>.png`. Retention's sweep of `<tenant>/uploads/`
deletes every object there that is not an upload's own file once it is an hour old
(`shared.retention.service.purge_orphans`), so a cached page lives at most about an hour,
and never past its file: a purged file's pages are refused before the cache is looked at.

Drawing is costly and done by a child process (`shared.files.page_render`), never here. A
page it could not draw in time is remembered the same way (`<n>.refused`, swept likewise),
so retrying it answers 413 at once instead of spending the CPU again. Renders at once are
bounded per API process and per tenant; past either the call answers 429 at once rather
than waiting for a slot.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.session import transaction
from shared.errors import QuarryError, RateLimited
from shared.files.page_images import PageImage, PageNotFound, read_page_image
from shared.files.page_render import PageTooComplex, RenderLimits, RenderRequest, render_isolated
from shared.jobs.models import Upload
from shared.jobs.service import get_job
from shared.retention.models import PurgedUpload
from shared.settings import get_settings
from shared.storage.factory import get_storage


class FilePurged(QuarryError):
    """The job's file is no longer stored (past retention): its pages cannot be drawn."""

    status_code = 410
    code = "file_purged"
    default_detail = "The job's file is no longer stored (past the retention period)."


class PageImagesBusy(RateLimited):
    """Too many pages are being drawn at once, for this tenant or this server; see
    `Retry-After`."""

    code = "page_images_busy"
    default_detail = "Too many page images are being drawn at once; retry shortly."
    retry_after_s = 2


@dataclass(frozen=True)
class CachedPage:
    image: PageImage
    cached: bool
    """True when the picture came from the cache, not drawn for this request."""


@dataclass(frozen=True)
class _JobFile:
    key: str
    file_name: str
    content_type: str | None


def job_page_image(*, tenant_id: str, job_id: str, number: int) -> CachedPage:
    """Page `number` of the job's file: 404 for another tenant's job (as `GET /v1/jobs/{id}`),
    a page the file lacks or a type without pages; 410 once the file is purged; 413 for a page
    that cannot be drawn within the limits; 429 when too many are being drawn at once."""
    if number < 1:
        raise PageNotFound(f"Page {number} does not exist: pages are numbered from 1.")
    with transaction() as session:
        source = _job_file(session, tenant_id=tenant_id, job_id=job_id)
    storage = get_storage()
    cache_key = page_cache_key(source.key, number)
    if storage.size(cache_key) is not None:
        return CachedPage(read_page_image(storage.get_bytes(cache_key)), cached=True)
    if storage.size(source.key) is None:
        raise FilePurged()
    refusal_key = f"{cache_key.removesuffix('.png')}.refused"
    if storage.size(refusal_key) is not None:
        raise PageTooComplex(storage.get_bytes(refusal_key).decode())
    settings = get_settings()
    with _render_slot(tenant_id):
        request = RenderRequest(storage.get_bytes(source.key), source.file_name,
                                source.content_type, number)
        try:
            image = render_isolated(request, RenderLimits(settings.page_image_timeout_s,
                                                          settings.page_image_memory_mb))
        except PageTooComplex as exc:
            storage.put_bytes(refusal_key, exc.detail.encode(), "text/plain")
            raise
    storage.put_bytes(cache_key, image.png, "image/png")
    return CachedPage(image, cached=False)


_slots_lock = threading.Lock()
_drawing: Counter[str] = Counter()
"""Renders in progress in this API process, by tenant."""


@contextmanager
def _render_slot(tenant_id: str) -> Iterator[None]:
    """Hold one of the process's render slots and one of the tenant's, or refuse at once."""
    settings = get_settings()
    with _slots_lock:
        if (_drawing.total() >= settings.page_image_max_concurrent
                or _drawing[tenant_id] >= settings.page_image_max_per_tenant):
            raise PageImagesBusy()
        _drawing[tenant_id] += 1
    try:
        yield
    finally:
        with _slots_lock:
            _drawing[tenant_id] -= 1
            if _drawing[tenant_id] <= 0:
                del _drawing[tenant_id]


def page_cache_key(file_key: str, number: int) -> str:
    """Beside the file: `<tenant>/uploads/<upload_id>/pages/<n>.png`."""
    folder = file_key.rsplit("/", 1)[0]
    return f"{folder}/pages/{number}.png"


def _job_file(session: Session, *, tenant_id: str, job_id: str) -> _JobFile:
    job = get_job(session, tenant_id=tenant_id, job_id=job_id)
    purged = session.scalar(select(PurgedUpload.upload_id)
                            .where(PurgedUpload.upload_id == job.upload_id))
    upload = session.get(Upload, job.upload_id)
    if purged is not None or upload is None or (job.result or {}).get("purged"):
        raise FilePurged()
    return _JobFile(upload.storage_key, upload.file_name, upload.content_type)
