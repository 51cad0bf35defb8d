"""Local-directory backend: the embedded default. The API serves its signed PUT route."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from shared.clock import utcnow
from shared.errors import ServiceUnavailable
from shared.storage.base import PresignedUpload, StoredObject
from shared.storage.signing import sign_upload


class LocalStorage:
    def __init__(self, root: Path, public_base_url: str) -> None:
        self.root = root
        self.public_base_url = public_base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the storage root")
        return path

    def presign_put(
        self, key: str, *, upload_id: str, content_type: str | None, expires_s: int
    ) -> PresignedUpload:
        expires_at = utcnow() + timedelta(seconds=expires_s)
        expires = int(expires_at.timestamp())
        query = urlencode({"expires": expires, "signature": sign_upload(upload_id, expires)})
        url = f"{self.public_base_url}/v1/uploads/{upload_id}/content?{query}"
        headers = {"Content-Type": content_type} if content_type else {}
        return PresignedUpload(url=url, expires_at=expires_at, headers=headers)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file and a full disk loses nothing.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise ServiceUnavailable("Storage unavailable, retry shortly.") from exc

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.exists() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        root = self.root.resolve()
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                key = path.relative_to(root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    mtime = path.stat().st_mtime
                except FileNotFoundError:
                    continue  # deleted while we walked
                modified = datetime.fromtimestamp(mtime, UTC)
                yield StoredObject(key=key, modified_at=modified)

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise OSError(f"storage directory {self.root} is not writable")
