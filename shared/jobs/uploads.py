"""Uploads: presigned (client PUTs the bytes) or direct (multipart through the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge
from shared.ids import new_id
from shared.jobs.models import Upload
from shared.settings import get_settings
from shared.storage.base import PresignedUpload
from shared.storage.factory import get_storage

FILE_URI_PREFIX = "quarry://uploads/"


@dataclass(frozen=True)
class PresignedFile:
    upload: Upload
    presigned: PresignedUpload

    @property
    def file_uri(self) -> str:
        return file_uri_for(self.upload)


def file_uri_for(upload: Upload) -> str:
    return FILE_URI_PREFIX + upload.id


def _storage_key(tenant_id: str, upload_id: str, file_name: str) -> str:
    safe_name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in file_name)[-120:]
    return f"{tenant_id}/uploads/{upload_id}/{safe_name or 'file'}"


def check_size(size: int | None) -> None:
    if size is not None and size > get_settings().max_upload_bytes:
        limit_mib = get_settings().max_upload_bytes / (1024 * 1024)
        raise PayloadTooLarge(f"File exceeds the upload size limit of {limit_mib:g} MiB.")


def presign_upload(
    session: Session, *, tenant_id: str, file_name: str, content_type: str | None, size: int | None
) -> PresignedFile:
    if not file_name.strip():
        raise BadRequest("file_name is required.")
    check_size(size)
    settings = get_settings()
    upload_id = new_id("upl")
    upload = Upload(
        id=upload_id, tenant_id=tenant_id, file_name=file_name, content_type=content_type,
        storage_key=_storage_key(tenant_id, upload_id, file_name),
        expires_at=utcnow() + timedelta(seconds=settings.presign_expiry_s),
    )
    session.add(upload)
    session.flush()
    presigned = get_storage().presign_put(
        upload.storage_key, upload_id=upload_id, content_type=content_type,
        expires_s=settings.presign_expiry_s,
    )
    return PresignedFile(upload=upload, presigned=presigned)


def store_upload(
    session: Session, *, tenant_id: str, file_name: str, content_type: str | None, data: bytes
) -> Upload:
    """Keep a file that came through the API (multipart) and record it."""
    check_size(len(data))
    upload_id = new_id("upl")
    upload = Upload(
        id=upload_id, tenant_id=tenant_id, file_name=file_name, content_type=content_type,
        storage_key=_storage_key(tenant_id, upload_id, file_name), size=len(data),
        uploaded_at=utcnow(),
    )
    get_storage().put_bytes(upload.storage_key, data, content_type)
    session.add(upload)
    session.flush()
    return upload


def receive_signed_put(session: Session, *, upload_id: str, data: bytes) -> Upload:
    """The local backend's PUT target; the signature was checked by the caller."""
    upload = session.get(Upload, upload_id)
    if upload is None:
        raise NotFound("Upload not found.")
    if upload.expires_at is not None and upload.expires_at < utcnow():
        raise Forbidden("Upload URL has expired.")
    check_size(len(data))
    get_storage().put_bytes(upload.storage_key, data, upload.content_type)
    upload.size = len(data)
    upload.uploaded_at = utcnow()
    session.flush()
    return upload


def resolve_file_uri(session: Session, *, tenant_id: str, file_uri: str) -> Upload:
    """The tenant's upload behind `file_uri`, with its bytes present in storage."""
    upload_id = file_uri.removeprefix(FILE_URI_PREFIX)
    upload = session.get(Upload, upload_id) if file_uri.startswith(FILE_URI_PREFIX) else None
    if upload is None or upload.tenant_id != tenant_id:
        raise NotFound("Upload not found.")
    if upload.uploaded_at is None:
        size = get_storage().size(upload.storage_key)
        if size is None:
            raise BadRequest("The file for this file_uri has not been uploaded yet.")
        check_size(size)
        upload.size = size
        upload.uploaded_at = utcnow()
        session.flush()
    return upload
