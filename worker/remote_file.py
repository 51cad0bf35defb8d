"""A job's file fetched from its `file_url` by the worker, through the outbound guard.

Every request (each redirect hop too) goes through `GuardedTransport`, so the SSRF rules
hold; the body is counted while it streams and the download stops at the upload size
limit (413), so a huge or endless body never fills memory. The bytes are then kept in the
job's upload like any other, and the file checks run on them as on an upload's.
"""

from __future__ import annotations

import hashlib

import httpx

from shared.clock import utcnow
from shared.db.session import transaction
from shared.errors import BadRequest
from shared.jobs.models import Upload
from shared.jobs.uploads import check_size
from shared.net.outbound import outbound_client
from shared.settings import get_settings
from shared.storage.factory import get_storage


class FileUrlFailed(BadRequest):
    code = "file_url_failed"
    default_detail = "The file could not be fetched from file_url."


def fetch_into_upload(url: str, *, upload_id: str, storage_key: str) -> bytes | None:
    """Fetch `url` into the job's upload; None when an earlier delivery already did."""
    with transaction() as session:
        if session.get_one(Upload, upload_id).uploaded_at is not None:
            return None
    data = fetch_file(url)
    get_storage().put_bytes(storage_key, data, None)
    with transaction() as session:
        upload = session.get_one(Upload, upload_id)
        upload.size, upload.sha256 = len(data), hashlib.sha256(data).hexdigest()
        upload.uploaded_at = utcnow()
    return data


def fetch_file(url: str) -> bytes:
    """GET `url`'s body, at most the upload size limit; 400 `file_url_failed` when it can't."""
    settings = get_settings()
    try:
        with (outbound_client(field="file_url", timeout_s=settings.file_url_timeout_s,
                              follow_redirects=True) as client,
              client.stream("GET", url) as response):
            if response.status_code != 200:
                raise FileUrlFailed(f"file_url answered HTTP {response.status_code}.")
            declared = response.headers.get("content-length", "")
            check_size(int(declared) if declared.isdigit() else None)
            return _read_bounded(response)
    except httpx.TooManyRedirects as exc:
        raise FileUrlFailed("file_url redirected too many times.") from exc
    except httpx.TimeoutException as exc:
        raise FileUrlFailed("file_url did not send the file in time.") from exc
    except httpx.HTTPError as exc:
        raise FileUrlFailed(f"file_url could not be fetched: {type(exc).__name__}.") from exc


def _read_bounded(response: httpx.Response) -> bytes:
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        check_size(len(received))  # 413 as soon as the body passes the limit
    return bytes(received)
