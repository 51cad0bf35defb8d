"""Presigned uploads, and the local backend's own signed PUT target."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, SessionDep
from api.responses import RequestTimeout, error_responses
from shared.clock import isoformat
from shared.contract.resources import Presigned, UploadStored
from shared.db.session import transaction
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
)
from shared.jobs import uploads
from shared.jobs.schemas import PresignRequest
from shared.storage.signing import signature_is_valid

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])


@router.post("/presign", response_model=Presigned, responses=error_responses(BadRequest))
def presign_upload(body: PresignRequest, caller: CallerDep, session: SessionDep) -> Presigned:
    """A URL to PUT the file's bytes to, and the `file_uri` the JSON-bodied routes take."""
    presigned = uploads.presign_upload(
        session, tenant_id=caller.tenant_id, file_name=body.file_name,
        content_type=body.content_type, size=body.size,
    )
    return Presigned(
        upload_id=presigned.upload.id,
        upload_url=presigned.presigned.url,
        method="PUT",
        headers=presigned.presigned.headers,
        file_uri=presigned.file_uri,
        expires_at=isoformat(presigned.presigned.expires_at),
        max_bytes=caller.limits.max_upload_bytes,
    )


@router.put("/{upload_id}/content", status_code=200, response_model=UploadStored,
            responses=error_responses(InvalidRequest, Forbidden, NotFound, Conflict,
                                      PayloadTooLarge, RequestTimeout, edge=False))
async def put_upload_content(upload_id: str, expires: int, signature: str,
                             request: Request) -> UploadStored:
    """Only reachable with a valid, unexpired signature from `presign` (no API key):
    403 for a bad or expired signature, 409 `upload_exists` when other bytes are there."""
    if not signature_is_valid(upload_id, expires, signature):
        raise Forbidden("Invalid upload signature.")
    if expires < time.time():
        raise Forbidden("Upload URL has expired.")
    limit = await run_in_threadpool(_size_limit, upload_id)
    data = await _read_limited(request, limit)
    upload = await run_in_threadpool(_store, upload_id, data)
    return UploadStored(upload_id=upload_id, size=upload)


def _size_limit(upload_id: str) -> int:
    with transaction() as session:
        return uploads.upload_size_limit(session, upload_id)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, stopped (413) as soon as it passes the upload's tenant's plan limit."""
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            uploads.check_size(received, limit)
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _store(upload_id: str, data: bytes) -> int:
    with transaction() as session:
        upload = uploads.receive_signed_put(session, upload_id=upload_id, data=data)
        return upload.size or 0
