"""The storage interface both backends implement."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    expires_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime
    """When the object was last written (UTC)."""


class Storage(Protocol):
    """Keys look like `<tenant_id>/uploads/<upload_id>/<name>`; backends never parse them."""

    def presign_put(
        self, key: str, *, upload_id: str, content_type: str | None, expires_s: int
    ) -> PresignedUpload: ...

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def size(self, key: str) -> int | None:
        """The stored object's size, or None when it does not exist."""
        ...

    def delete(self, key: str) -> None: ...

    def list_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every stored object whose key starts with `prefix`, in no particular order."""
        ...

    def check(self) -> None:
        """Raise if the backend is unreachable (readiness)."""
        ...
