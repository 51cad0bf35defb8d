"""Robust mode: compare two readings of one document and mark where they disagree."""

from __future__ import annotations

import re
from typing import Any

from worker.pipeline.document import Document
from worker.pipeline.extract.evidence import Evidence
from worker.pipeline.extract.grounding import is_written_in

DISAGREEMENT_PENALTY = 0.5
# A candidate at least this likely to be right (its calibrated confidence) is evidence
# enough to confirm or dispute another engine's value.
STRONG = 0.8
# However much two readings agree, an LLM value is never certain.
AGREED_CEILING = 0.99


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


def check_against_candidates(answer: Evidence, candidates: Evidence) -> list[dict[str, Any]]:
    """Check an LLM's values against the local engine's strong whole-page candidates.

    Two readings that agree are more likely right than either alone; when they disagree,
    at most one is right. With p the LLM value's confidence and q the candidate's
    (calibrated) one, and the two taken as independent: agreement gives 1 − (1−p)(1−q),
    disagreement p(1−q) / (p(1−q) + (1−p)q). Each checked field shows the comparison in
    its `check`; a disagreement is listed in the returned disputes.
    """
    disputes: list[dict[str, Any]] = []
    for name, evidence in answer.items():
        candidate = candidates.get(name)
        if candidate is None or candidate.confidence < STRONG:
            continue
        p, q = evidence.confidence, candidate.confidence
        agrees = _agrees(evidence.value, candidate.value)
        evidence.check = {"agrees": agrees, "local_value": candidate.value,
                          "local_confidence": round(q, 3), "local_source": candidate.source}
        if agrees:
            evidence.confidence = min(AGREED_CEILING, 1 - (1 - p) * (1 - q))
            continue
        evidence.confidence = p * (1 - q) / (p * (1 - q) + (1 - p) * q)
        disputes.append({"field": name, "value": evidence.value, "alternate_value": candidate.value,
                         "reason": "the document's own evidence points to another value"})
    return disputes


def _agrees(a: Any, b: Any) -> bool:
    """Same value: numbers to the cent, codes and dates exactly, text by most of its words."""
    if _same(a, b):
        return True
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    left, right = re.findall(r"\w+", a.lower()), re.findall(r"\w+", b.lower())
    if len(left) < 2 or len(right) < 2:
        return "".join(left) == "".join(right)
    common = sum(min(left.count(w), right.count(w)) for w in set(left))
    return 2 * common / (len(left) + len(right)) >= 0.8


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 0.005
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    return bool(a == b)
