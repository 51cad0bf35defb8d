"""The local engine: schema-guided label/value matching on the document's lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from worker.pipeline.document import Document, Line

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_AMOUNT = re.compile(r"-?\d[\d,\s]*(?:\.\d+)?")


@dataclass
class FieldEvidence:
    value: Any
    confidence: float
    page: int
    bbox: tuple[float, float, float, float]
    source: str


def label_words(name: str) -> list[str]:
    spaced = _CAMEL.sub(" ", name).replace("_", " ").replace("-", " ")
    return [word.lower() for word in spaced.split() if word]


def extract_fields(document: Document, schema: dict[str, Any]) -> dict[str, FieldEvidence]:
    found: dict[str, FieldEvidence] = {}
    for name, spec in (schema.get("properties") or {}).items():
        evidence = _find_field(document, name, spec if isinstance(spec, dict) else {})
        if evidence is not None:
            found[name] = evidence
    return found


def _find_field(document: Document, name: str, spec: dict[str, Any]) -> FieldEvidence | None:
    wanted = label_words(name)
    for page in document.pages:
        lines = page.lines()
        for index, line in enumerate(lines):
            text = line.text
            lowered = text.lower()
            if not all(word in lowered for word in wanted):
                continue
            after = re.split(r"[:#]", text, maxsplit=1)
            raw = after[1].strip() if len(after) > 1 else ""
            if not raw and index + 1 < len(lines):
                raw = lines[index + 1].text.strip()
            value = _parse(raw, spec.get("type", "string"))
            if value is not None:
                return FieldEvidence(value, 0.8, page.number, line.bbox, text)
    return None


def _parse(raw: str, kind: Any) -> Any:
    if not raw:
        return None
    if kind in ("number", "integer"):
        match = _AMOUNT.search(raw)
        if not match:
            return None
        number = float(match.group().replace(",", "").replace(" ", ""))
        return int(number) if kind == "integer" else number
    return raw


def first_line(document: Document) -> Line | None:
    for page in document.pages:
        for line in page.lines():
            return line
    return None
