"""Presigned uploads, and the local backend's own signed PUT target."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, SessionDep
from shared.clock import isoformat
from shared.db.session import transaction
from shared.errors import Forbidden, PayloadTooLarge
from shared.jobs import uploads
from shared.jobs.schemas import PresignRequest
from shared.settings import get_settings
from shared.storage.signing import signature_is_valid

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])


@router.post("/presign")
def presign(body: PresignRequest, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    presigned = uploads.presign_upload(
        session, tenant_id=caller.tenant_id, file_name=body.file_name,
        content_type=body.content_type, size=body.size,
    )
    return {
        "upload_id": presigned.upload.id,
        "upload_url": presigned.presigned.url,
        "method": "PUT",
        "headers": presigned.presigned.headers,
        "file_uri": presigned.file_uri,
        "expires_at": isoformat(presigned.presigned.expires_at),
        "max_bytes": get_settings().max_upload_bytes,
    }


@router.put("/{upload_id}/content", status_code=200,
            responses={403: {"description": "Invalid or expired signature"},
                       404: {"description": "Unknown upload"},
                       409: {"description": "The upload already has other bytes (upload_exists)"},
                       413: {"description": "File over the upload limit"}})
async def put_content(upload_id: str, expires: int, signature: str,
                      request: Request) -> dict[str, Any]:
    """Only reachable with a valid, unexpired signature from `presign` (no API key)."""
    import time

    if not signature_is_valid(upload_id, expires, signature):
        raise Forbidden("Invalid upload signature.")
    if expires < time.time():
        raise Forbidden("Upload URL has expired.")
    data = await _read_limited(request)
    upload = await run_in_threadpool(_store, upload_id, data)
    return {"upload_id": upload_id, "size": upload}


async def _read_limited(request: Request) -> bytes:
    limit = get_settings().max_upload_bytes
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            uploads.check_size(received)
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _store(upload_id: str, data: bytes) -> int:
    with transaction() as session:
        upload = uploads.receive_signed_put(session, upload_id=upload_id, data=data)
        return upload.size or 0
