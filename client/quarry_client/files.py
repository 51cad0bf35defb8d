"""Turning what a caller passes as "a file" into a name, bytes and a content type."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PRESIGN_THRESHOLD = 8 * 1024 * 1024
"""Files above this go presign + PUT + canonical instead of one multipart request."""


@dataclass(frozen=True)
class LoadedFile:
    name: str
    data: bytes
    content_type: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


FileInput = str | os.PathLike[str] | bytes | IO[bytes] | tuple[str, bytes] | LoadedFile
"""A path, raw bytes, an open binary file, or `(file_name, bytes)`."""


def load_file(file: FileInput, file_name: str | None = None,
              content_type: str | None = None) -> LoadedFile:
    """Read the whole file once, so a retried request can send the same bytes again."""
    if isinstance(file, LoadedFile):
        return file if file_name is None else LoadedFile(file_name, file.data, file.content_type)
    if isinstance(file, tuple):
        name, data = file
    elif isinstance(file, bytes):
        name, data = "document", file
    elif isinstance(file, str | os.PathLike):
        path = Path(file)
        name, data = path.name, path.read_bytes()
    else:
        name = Path(getattr(file, "name", "document") or "document").name
        data = file.read()
    name = file_name or name
    guessed = mimetypes.guess_type(name)[0]
    return LoadedFile(name=name, data=data, content_type=content_type or guessed)


def derived_idempotency_key(*parts: Any) -> str:
    """A deterministic `Idempotency-Key` from anything JSON-serialisable (e.g. content hash + options)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return "qk_" + hashlib.sha256(text.encode()).hexdigest()[:48]
