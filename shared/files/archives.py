"""ZIP bomb defences for office files (DOCX, XLSX, PPTX are ZIP packages).

The central directory is read, never the data: entry count, total declared
size and per-entry compression ratio are bounded. Declared sizes cannot lie
downstream either: Python's `zipfile` (used by every office parser here) stops
reading an entry at its declared size and fails on a CRC mismatch.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from shared.errors import PayloadTooLarge

# Small entries compress absurdly well (a run of blank cells) and are harmless.
RATIO_FLOOR_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_ratio: float


def check_archive(data: bytes, limits: ArchiveLimits) -> list[str]:
    """The entry names of a ZIP within the limits; raises `PayloadTooLarge` for a bomb."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise _bomb(f"The archive has {len(entries)} entries; the limit is {limits.max_entries}.")
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        raise _bomb(f"The archive expands to {total} bytes; the limit is "
                    f"{limits.max_uncompressed_bytes}.")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            raise _bomb(f"An archive entry expands {ratio:.0f}-fold; the limit is "
                        f"{limits.max_ratio:.0f}.")
    return [entry.filename for entry in entries]


def _bomb(detail: str) -> PayloadTooLarge:
    return PayloadTooLarge(detail, code="archive_too_large")
