"""Upright reading of a page image: quarter turns and small skew, decided from the OCR itself.

The first reading is taken as is. Only when its text lines run vertically, lean
noticeably or read poorly are turned (90/180/270°) or deskewed copies read too,
and the most confident reading wins — an upright page costs one OCR pass.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import cv2
import numpy as np

from worker.pipeline.ocr.engine import Gray, OcrLine, recognize

GOOD_CONFIDENCE = 0.9
SKEW_TOLERANCE_DEG = 2.0


@dataclass(frozen=True)
class Reading:
    lines: list[OcrLine]
    image: Gray
    """The image the line boxes refer to (turned and deskewed as read)."""
    rotation: float
    """Degrees counter-clockwise the source was turned to read it."""

    @property
    def score(self) -> float:
        """Recognized characters weighted by confidence: more and surer text is better."""
        return sum(line.confidence ** 2 * len(line.text.strip()) for line in self.lines)

    @property
    def confidence(self) -> float:
        chars = sum(len(line.text) for line in self.lines)
        return sum(line.confidence * len(line.text) for line in self.lines) / chars if chars else 0.0


def read_upright(image: Gray) -> Reading:
    first = Reading(recognize(image), image, 0.0)
    if not first.lines:
        return first
    vertical, skew = _line_geometry(first.lines)
    if not vertical and abs(skew) < SKEW_TOLERANCE_DEG and first.confidence >= GOOD_CONFIDENCE:
        return first
    # A first reading of vertical or leaning lines has them in the wrong order: it only
    # competes when the page merely read poorly.
    readings = [] if vertical or abs(skew) >= SKEW_TOLERANCE_DEG else [first]
    turns = (90.0, 270.0) if vertical else (0.0, 180.0)
    for turn in turns:
        angle = turn + (0.0 if vertical else skew)
        if angle == 0.0:
            continue
        turned = rotate(image, angle)
        readings.append(Reading(recognize(turned), turned, angle))
        if readings[-1].confidence >= GOOD_CONFIDENCE:
            break
    return _straightened(max(readings, key=lambda reading: reading.score))


def _straightened(reading: Reading) -> Reading:
    """A quarter-turned photo may still lean: deskew the chosen reading once more if so."""
    _, skew = _line_geometry(reading.lines)
    if abs(skew) < SKEW_TOLERANCE_DEG:
        return reading
    straight = rotate(reading.image, skew)
    again = Reading(recognize(straight), straight, reading.rotation + skew)
    return again if again.score >= 0.9 * reading.score else reading


def _line_geometry(lines: list[OcrLine]) -> tuple[bool, float]:
    """Whether most text runs vertically, and the median lean of the horizontal lines (degrees)."""
    tall = wide = 0.0
    angles: list[float] = []
    for line in lines:
        (x0, y0), (x1, y1), (x2, y2) = line.quad[0], line.quad[1], line.quad[2]
        width, height = math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x1, y2 - y1)
        if height > 1.5 * width:
            tall += width * height
        else:
            wide += width * height
            if width > 3 * height:
                angles.append(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return tall > wide, statistics.median(angles) if angles else 0.0


def rotate(image: Gray, degrees: float) -> Gray:
    """Rotate counter-clockwise by `degrees` on a white background, keeping every pixel."""
    quarter = degrees % 360
    if quarter in (90.0, 180.0, 270.0):
        return np.ascontiguousarray(np.rot90(image, int(quarter // 90)))
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    rotated = cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return np.asarray(rotated, dtype=np.uint8)
