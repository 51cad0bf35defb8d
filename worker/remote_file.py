"""A job's file fetched from its `file_url` by the worker, through the outbound guard.

Every request (each redirect hop too) goes through `GuardedTransport`, so the SSRF rules
hold; the body is counted while it streams and the download stops at the upload size
limit of the job's tenant's plan (413, as a multipart upload past it), so a huge or endless
body never fills memory. A source that trickles fails fast: past a short grace its average
rate must stay above a floor and no read may stall for long, within a total deadline
(400 `file_url_failed`), so it cannot hold a worker slot for free. The bytes are then kept
in the job's upload like any other, and the file checks run on them as on an upload's.
"""

from __future__ import annotations

import hashlib
import time

import httpx

from shared.clock import utcnow
from shared.db.session import transaction
from shared.errors import BadRequest
from shared.jobs.models import Upload
from shared.jobs.uploads import check_size, upload_size_limit
from shared.net.outbound import GuardedTransport
from shared.settings import Settings, get_settings
from shared.storage.factory import get_storage


class FileUrlFailed(BadRequest):
    code = "file_url_failed"
    default_detail = "The file could not be fetched from file_url."


def fetch_into_upload(url: str, *, upload_id: str, storage_key: str) -> bytes | None:
    """Fetch `url` into the job's upload; None when an earlier delivery already did."""
    with transaction() as session:
        if session.get_one(Upload, upload_id).uploaded_at is not None:
            return None
        max_bytes = upload_size_limit(session, upload_id)
    data = fetch_file(url, max_bytes=max_bytes)
    get_storage().put_bytes(storage_key, data, None)
    with transaction() as session:
        upload = session.get_one(Upload, upload_id)
        upload.size, upload.sha256 = len(data), hashlib.sha256(data).hexdigest()
        upload.uploaded_at = utcnow()
    return data


def fetch_file(url: str, *, max_bytes: int) -> bytes:
    """GET `url`'s body, at most `max_bytes` (413 past it); 400 `file_url_failed` when it
    can't."""
    settings = get_settings()
    try:
        with (_client(settings) as client, client.stream("GET", url) as response):
            if response.status_code != 200:
                raise FileUrlFailed(f"file_url answered HTTP {response.status_code}.")
            declared = response.headers.get("content-length", "")
            check_size(int(declared) if declared.isdigit() else None, max_bytes)
            return _read_bounded(response, settings, max_bytes)
    except httpx.TooManyRedirects as exc:
        raise FileUrlFailed("file_url redirected too many times.") from exc
    except httpx.TimeoutException as exc:
        raise FileUrlFailed("file_url did not send the file in time.") from exc
    except httpx.HTTPError as exc:
        raise FileUrlFailed(f"file_url could not be fetched: {type(exc).__name__}.") from exc


def _client(settings: Settings) -> httpx.Client:
    """`outbound_client`'s guarded transport (total deadline), but each connect and read
    bounded by the shorter stall limit: a source that goes quiet fails then, not at the end."""
    transport = GuardedTransport(field="file_url", total_timeout_s=settings.file_url_timeout_s)
    stall = min(settings.file_url_stall_s, settings.file_url_timeout_s)
    return httpx.Client(transport=transport, timeout=stall, follow_redirects=True,
                        trust_env=False)


def _read_bounded(response: httpx.Response, settings: Settings, max_bytes: int) -> bytes:
    received = bytearray()
    started = time.monotonic()
    for chunk in response.iter_bytes():
        received += chunk
        check_size(len(received), max_bytes)  # 413 as soon as the body passes the limit
        _check_rate(len(received), time.monotonic() - started, settings)
    return bytes(received)


def _check_rate(received: int, elapsed_s: float, settings: Settings) -> None:
    """After the grace period, the body's average rate must stay above the floor."""
    floor = settings.file_url_min_bytes_per_s
    if elapsed_s <= settings.file_url_rate_grace_s or received >= floor * elapsed_s:
        return
    raise FileUrlFailed(f"file_url sent the file too slowly ({received / elapsed_s:.0f} bytes/s "
                        f"on average; at least {floor} bytes/s are needed).")
