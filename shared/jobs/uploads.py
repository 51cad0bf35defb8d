"""Uploads: presigned (client PUTs the bytes) or direct (multipart through the API).

An upload is written once. The local backend's signed PUT refuses a second write (409
`upload_exists`); an S3 presigned URL cannot be revoked, so the SHA-256 of the bytes is
pinned when they are first stored or read, and a job that later finds other bytes fails
with 409 `upload_changed` instead of reading them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from shared.ids import new_id
from shared.jobs.models import Upload
from shared.limits.effective import upload_ceiling
from shared.limits.plans import MIB
from shared.settings import get_settings
from shared.storage.base import PresignedUpload
from shared.storage.factory import get_storage
from shared.tenants.service import tenant_limits

FILE_URI_PREFIX = "quarry://uploads/"
log = logging.getLogger(__name__)


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


def check_size(size: int | None, max_bytes: int) -> None:
    """413 past `max_bytes`, the plan limit of the tenant the file comes in for."""
    if size is not None and size > max_bytes:
        raise PayloadTooLarge(f"File exceeds the upload size limit of {max_bytes / MIB:g} MiB.")


def check_tenant_size(session: Session, tenant_id: str, size: int | None) -> None:
    """`check_size` at the limit of the tenant's plan."""
    if size is not None:
        check_size(size, tenant_limits(session, tenant_id).max_upload_bytes)


def upload_size_limit(session: Session, upload_id: str) -> int:
    """The plan limit of the tenant an upload belongs to; the largest any plan allows when
    there is no such upload (its PUT is then refused with 404 once read)."""
    tenant_id = session.scalar(select(Upload.tenant_id).where(Upload.id == upload_id))
    return upload_ceiling() if tenant_id is None else tenant_limits(session, tenant_id).max_upload_bytes


def presign_upload(
    session: Session, *, tenant_id: str, file_name: str, content_type: str | None, size: int | None
) -> PresignedFile:
    if not file_name.strip():
        raise BadRequest("file_name is required.")
    check_tenant_size(session, tenant_id, size)
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


@dataclass(frozen=True)
class IncomingFile:
    """A file sent through the API (multipart), not yet kept in storage."""

    file_name: str
    content_type: str | None
    data: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def record_upload(session: Session, *, tenant_id: str, file: IncomingFile) -> Upload:
    """Record a file that came through the API; its bytes are kept by `keep_upload`, last,
    once everything that can refuse the call has passed."""
    check_tenant_size(session, tenant_id, len(file.data))
    upload_id = new_id("upl")
    upload = Upload(
        id=upload_id, tenant_id=tenant_id, file_name=file.file_name,
        content_type=file.content_type, size=len(file.data), sha256=file.sha256,
        storage_key=_storage_key(tenant_id, upload_id, file.file_name),
    )
    session.add(upload)
    session.flush()
    return upload


@dataclass(frozen=True)
class RemoteFile:
    """A file the worker fetches from `url` (`file_url`); nothing is stored until then."""

    url: str

    @property
    def file_name(self) -> str:
        """The URL path's last segment, else `document`."""
        name = self.url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return name[-MAX_REMOTE_NAME:] if name and "." in name else "document"


MAX_REMOTE_NAME = 120


def record_remote_upload(session: Session, *, tenant_id: str, file: RemoteFile) -> Upload:
    """Record the upload a `file_url` job's worker fills in (`worker.remote_file`)."""
    upload_id = new_id("upl")
    upload = Upload(id=upload_id, tenant_id=tenant_id, file_name=file.file_name,
                    storage_key=_storage_key(tenant_id, upload_id, file.file_name))
    session.add(upload)
    session.flush()
    return upload


def keep_upload(session: Session, *, upload_id: str, file: IncomingFile) -> str | None:
    """Store a recorded upload's bytes; the key written, or None when they already were (the
    upload of an earlier, repeated call). Callers delete the key if their commit fails."""
    upload = session.get_one(Upload, upload_id)
    if upload.uploaded_at is not None:
        return None
    get_storage().put_bytes(upload.storage_key, file.data, upload.content_type)
    upload.uploaded_at = utcnow()
    session.flush()
    return upload.storage_key


def discard_kept(key: str | None) -> None:
    """Delete bytes kept by a transaction that did not commit (no row will ever name them)."""
    if key is None:
        return
    try:
        get_storage().delete(key)
    except Exception:  # noqa: BLE001 - the caller's own error matters; retention sweeps orphans
        log.warning("could not delete %s; retention will", key, exc_info=True)


def store_upload(
    session: Session, *, tenant_id: str, file_name: str, content_type: str | None, data: bytes
) -> Upload:
    """Record and keep a file at once, for callers whose checks all ran before."""
    file = IncomingFile(file_name, content_type, data)
    upload = record_upload(session, tenant_id=tenant_id, file=file)
    keep_upload(session, upload_id=upload.id, file=file)
    return upload


def receive_signed_put(session: Session, *, upload_id: str, data: bytes) -> Upload:
    """The local backend's PUT target (the signature was checked by the caller).

    The first PUT keeps the bytes. A later one with other bytes is 409 `upload_exists`, so
    no job's file changes under it; one with the same bytes (a client's retry after a lost
    answer) is answered as the first was and writes nothing.
    """
    upload = session.scalars(select(Upload).where(Upload.id == upload_id).with_for_update()).first()
    if upload is None:
        raise NotFound("Upload not found.")
    if upload.expires_at is not None and upload.expires_at < utcnow():
        raise Forbidden("Upload URL has expired.")
    digest = hashlib.sha256(data).hexdigest()
    if upload.uploaded_at is not None:
        if upload.sha256 == digest:
            return upload
        raise Conflict("This upload already has its file; presign a new upload for other bytes.",
                       code="upload_exists")
    check_tenant_size(session, upload.tenant_id, len(data))
    get_storage().put_bytes(upload.storage_key, data, upload.content_type)
    upload.size, upload.sha256, upload.uploaded_at = len(data), digest, utcnow()
    session.flush()
    return upload


def pin_upload(session: Session, *, upload_id: str, data: bytes) -> None:
    """Pin `data` as the upload's bytes if none were pinned yet; 409 if other bytes were."""
    digest = hashlib.sha256(data).hexdigest()
    session.execute(update(Upload).where(Upload.id == upload_id, Upload.sha256.is_(None))
                    .values(sha256=digest))
    if session.scalar(select(Upload.sha256).where(Upload.id == upload_id)) != digest:
        raise Conflict("The file behind this file_uri changed after it was first read; upload "
                       "the new bytes with a new presigned URL.", code="upload_changed")


def resolve_file_uri(session: Session, *, tenant_id: str, file_uri: str) -> Upload:
    """The tenant's upload behind `file_uri`, its bytes present in storage and within the
    tenant's plan (413)."""
    upload_id = file_uri.removeprefix(FILE_URI_PREFIX)
    upload = session.get(Upload, upload_id) if file_uri.startswith(FILE_URI_PREFIX) else None
    if upload is None or upload.tenant_id != tenant_id:
        raise NotFound("Upload not found.")
    if upload.uploaded_at is not None:
        # Checked on every use, not only the first: the plan may have shrunk since.
        check_tenant_size(session, tenant_id, upload.size)
        return upload
    size = get_storage().size(upload.storage_key)
    if size is None:
        raise BadRequest("The file for this file_uri has not been uploaded yet.")
    check_tenant_size(session, tenant_id, size)
    upload.size = size
    upload.uploaded_at = utcnow()
    session.flush()
    return upload
