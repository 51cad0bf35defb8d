"""Strict Office Open XML → transitional, so the transitional-only parsers read it.

ISO/IEC 29500 Strict packages (Word's "Strict Open XML" save option) name the same
parts and elements under `http://purl.oclc.org/ooxml/…` instead of
`http://schemas.openxmlformats.org/…/2006/…`; python-docx, python-pptx and openpyxl
know only the second. The mapping is mechanical, part by part.
"""

from __future__ import annotations

import io
import re
import zipfile

_STRICT = re.compile(rb"http://purl\.oclc\.org/ooxml/([A-Za-z]+)/")
_XML_PARTS = (".xml", ".rels")


def transitional(data: bytes) -> bytes:
    """The package with Strict namespaces renamed; unchanged (the same bytes) when not Strict."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        if not _is_strict(source):
            return data
        target_buffer = io.BytesIO()
        with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in source.infolist():
                content = source.read(entry)
                if entry.filename.lower().endswith(_XML_PARTS):
                    content = _STRICT.sub(rb"http://schemas.openxmlformats.org/\1/2006/", content)
                target.writestr(entry.filename, content)
    return target_buffer.getvalue()


def _is_strict(archive: zipfile.ZipFile) -> bool:
    try:
        return b"http://purl.oclc.org/ooxml/" in archive.read("_rels/.rels")
    except KeyError:
        return False
