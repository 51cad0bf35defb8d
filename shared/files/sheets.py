"""How many pages an XLSX workbook converts to, counted the way the converter reads it.

The converter (openpyxl) makes one page per visible worksheet, or one per worksheet when
every one is hidden; chartsheets are not pages. The count follows `xl/workbook.xml`'s
sheet list and its relationships, so page_range checks and billing match the result.
"""

from __future__ import annotations

import io
import posixpath
import zipfile

from lxml import etree

_WORKBOOK = "xl/workbook.xml"
_RELS = "xl/_rels/workbook.xml.rels"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def xlsx_pages(data: bytes) -> int | None:
    """Pages the workbook converts to; None when its sheet list cannot be read (the caller
    falls back to counting worksheet parts)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if _WORKBOOK not in names or _RELS not in names:
            return None
        workbook = etree.fromstring(archive.read(_WORKBOOK), _PARSER)
        rels = etree.fromstring(archive.read(_RELS), _PARSER)
    worksheets = {rel.get("Id") for rel in rels.iter(f"{{{_PKG_RELS}}}Relationship")
                  if (rel.get("Type") or "").endswith("/worksheet")
                  and _part(rel.get("Target") or "") in names}
    states = [sheet.get("state") or "visible"
              for sheet in workbook.iter(f"{{{_MAIN}}}sheet")
              if sheet.get(f"{{{_DOC_RELS}}}id") in worksheets]
    visible = sum(1 for state in states if state == "visible")
    return visible or len(states)


def _part(target: str) -> str:
    """A relationship target as an archive name (relative to `xl/`, or absolute)."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join("xl", target))
