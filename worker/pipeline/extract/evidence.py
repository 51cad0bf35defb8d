"""What an engine returns for one field: the value and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.pipeline.document import BBox, Page


@dataclass
class FieldEvidence:
    """One top-level field's value, its confidence (0–1) and its location, when known.

    `basis` is the (concept, evidence features) a calibrated confidence was computed from,
    kept so the benchmark can refit the map (`bench/extraction/fit_calibration.py`); it is
    not shown. `check` is robust mode's comparison with the local engine's own reading of
    the field, shown in the field's view.
    """

    value: Any
    confidence: float
    page: int | None = None
    bbox: BBox | None = None
    source: str | None = None
    basis: tuple[str, dict[str, float]] | None = None
    check: dict[str, Any] | None = None

    def view(self, page: Page | None = None) -> dict[str, Any]:
        """The field as the API's `fields` map shows it: its box on `page` as shown (the page
        image), where the page's words were read turned (`Page.shown_box`)."""
        box = page.shown_box(self.bbox) if page is not None and self.bbox else self.bbox
        shown: dict[str, Any] = {
            "confidence": round(self.confidence, 3), "page": self.page,
            "bbox": [round(v, 1) for v in box] if box else None, "source": self.source}
        if self.check is not None:
            shown["check"] = self.check
        return shown


Evidence = dict[str, FieldEvidence]


def union_bbox(boxes: list[BBox]) -> BBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
