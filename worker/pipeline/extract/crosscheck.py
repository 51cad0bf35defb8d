"""Robust mode: compare two readings of one document and mark where they disagree."""

from __future__ import annotations

from typing import Any

from worker.pipeline.document import Document
from worker.pipeline.extract.evidence import Evidence
from worker.pipeline.extract.grounding import is_written_in

DISAGREEMENT_PENALTY = 0.5


def cross_check(primary: Evidence, alternate: Evidence | None,
                alternate_doc: Document) -> list[dict[str, Any]]:
    """Lower the confidence of disputed fields in `primary` (in place) and list the disputes.

    With a second extraction (`alternate`), a field disagrees when both readings found it
    with different values. Without one (an LLM result), a value written in the primary
    reading but nowhere in the alternate reading is disputed.
    """
    disputes: list[dict[str, Any]] = []
    for name, evidence in primary.items():
        if alternate is not None:
            other = alternate.get(name)
            if other is None or _same(evidence.value, other.value):
                continue
            disputes.append({"field": name, "value": evidence.value, "alternate_value": other.value,
                             "reason": "text layer and OCR readings differ"})
        elif evidence.page is not None and not is_written_in(alternate_doc, evidence.value):
            disputes.append({"field": name, "value": evidence.value, "alternate_value": None,
                             "reason": "value not found in the OCR reading"})
        else:
            continue
        evidence.confidence *= DISAGREEMENT_PENALTY
    return disputes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 0.005
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    return bool(a == b)
