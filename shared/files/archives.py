"""ZIP bomb defences for office files (DOCX, XLSX, PPTX are ZIP packages).

The central directory is read, never the data: entry count, total declared
size, per-entry compression ratio and the size of each XML part are bounded.
Declared sizes cannot lie downstream either: Python's `zipfile` (used by every
office parser here) stops reading an entry at its declared size and fails on a
CRC mismatch.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import PayloadTooLarge

# Small entries compress absurdly well (a run of blank cells) and are harmless.
RATIO_FLOOR_BYTES = 1024 * 1024
XML_PARTS = (".xml", ".rels")


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_ratio: float
    max_xml_part_bytes: int = sys.maxsize
    """The office parsers build each XML part they read as a tree in memory (~50 bytes of
    tree and document model per byte of XML): one modest ratio can still cost gigabytes."""


def check_archive(data: bytes, limits: ArchiveLimits,
                  streamed: Callable[[str], bool] = lambda name: False) -> list[str]:
    """The entry names of a ZIP within the limits; raises `PayloadTooLarge` for a bomb.

    `streamed` names the XML parts a parser reads as a stream, exempt from the part limit.
    """
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
        if (entry.file_size > limits.max_xml_part_bytes
                and entry.filename.lower().endswith(XML_PARTS) and not streamed(entry.filename)):
            raise _bomb(f"The part {entry.filename[:200]} expands to {entry.file_size} bytes; the "
                        f"limit is {limits.max_xml_part_bytes}.")
    return [entry.filename for entry in entries]


def _bomb(detail: str) -> PayloadTooLarge:
    return PayloadTooLarge(detail, code="archive_too_large")
