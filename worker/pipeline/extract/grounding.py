"""Locate values in the document: page, box and source line for a value an LLM produced."""

from __future__ import annotations

import re
from typing import Any

from worker.pipeline.document import Document, Line
from worker.pipeline.extract.evidence import FieldEvidence, union_bbox
from worker.pipeline.extract.values import parse_date, parse_number

_GROUNDED = 0.92
_UNGROUNDED = 0.55


def ground(document: Document, value: Any) -> FieldEvidence:
    """Evidence for `value`: where it is written, and confidence by whether it was found."""
    needle = _first_leaf(value)
    if needle is not None:
        for page in document.pages:
            for line in page.lines():
                box = _find_in_line(line, needle)
                if box is not None:
                    return FieldEvidence(value, _GROUNDED, page.number, box, line.text)
    return FieldEvidence(value, _UNGROUNDED if value not in (None, "", [], {}) else 0.0)


def is_written_in(document: Document, value: Any) -> bool:
    return ground(document, value).page is not None


def _first_leaf(value: Any) -> Any:
    if isinstance(value, dict):
        return next((_first_leaf(v) for v in value.values() if _first_leaf(v) is not None), None)
    if isinstance(value, list):
        return next((_first_leaf(v) for v in value if _first_leaf(v) is not None), None)
    if isinstance(value, bool) or value in (None, ""):
        return None
    return value


def _find_in_line(line: Line, needle: Any) -> tuple[float, float, float, float] | None:
    words = line.words
    if isinstance(needle, (int, float)):
        for word in words:
            if _same_number(word.text, float(needle)):
                return word.bbox
        return None
    target = _tokens(str(needle))
    if not target:
        return None
    texts = [_simplify(w.text) for w in words]
    n = len(target)
    for start in range(len(words) - n + 1):
        if texts[start:start + n] == target:
            return union_bbox([w.bbox for w in words[start:start + n]])
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(needle)):
        for word_count in (1, 2, 3):
            for start in range(len(words) - word_count + 1):
                chunk = words[start:start + word_count]
                if parse_date(" ".join(w.text for w in chunk)) == needle:
                    return union_bbox([w.bbox for w in chunk])
    return None


def _same_number(text: str, number: float) -> bool:
    if not any(ch.isdigit() for ch in text):
        return False
    parsed = parse_number(text)
    return parsed is not None and abs(abs(parsed) - abs(number)) < 0.005


def _tokens(text: str) -> list[str]:
    return [t for t in (_simplify(w) for w in text.split()) if t]


def _simplify(text: str) -> str:
    return re.sub(r"[^\w@.\-/]+", "", text.lower()).strip(".,:;")
