"""The local OCR engine (RapidOCR on ONNX Runtime; its models ship inside the wheel).

Loaded lazily, once per process: the first page pays the model load, later
pages do not. Nothing is ever downloaded.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from shared.settings import get_settings

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]

# One ONNX session per process is shared; RapidOCR keeps per-call state on the object.
_lock = threading.Lock()


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: Box
    confidence: float


@dataclass(frozen=True)
class OcrLine:
    text: str
    quad: list[tuple[float, float]]
    confidence: float
    words: list[OcrWord]

    @property
    def box(self) -> Box:
        xs = [x for x, _ in self.quad]
        ys = [y for _, y in self.quad]
        return (min(xs), min(ys), max(xs), max(ys))


@lru_cache(maxsize=1)
def get_engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR  # heavy import, paid only by OCR-ing processes

    threads = get_settings().ocr_threads
    options: dict[str, Any] = {}
    if threads > 0:
        options = {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
    log.info("loading the local OCR engine")
    return RapidOCR(**options)


def detect_quads(image: Gray) -> list[list[tuple[float, float]]]:
    """Text-line quadrilaterals only (no recognition): cheap input for orientation checks."""
    with _lock:
        result, _ = get_engine()(image, use_det=True, use_cls=False, use_rec=False)
    return [[(float(x), float(y)) for x, y in quad] for quad in (result or [])]


def recognize(image: Gray) -> list[OcrLine]:
    """Lines of text with their quads, word boxes and confidences, top to bottom."""
    with _lock:
        result, _ = get_engine()(image, use_cls=False, return_word_box=True)
    return [_line(item) for item in (result or []) if str(item[1]).strip()]


def _line(item: list[Any]) -> OcrLine:
    quad = [(float(x), float(y)) for x, y in item[0]]
    text, confidence = str(item[1]), float(item[2])
    line = OcrLine(text=text, quad=quad, confidence=confidence, words=[])
    words = _words_from_chars(item) if len(item) >= 6 else []
    if "".join(w.text for w in words) != "".join(text.split()):
        words = _words_by_width(line)
    return OcrLine(text=text, quad=quad, confidence=confidence, words=words)


def _words_from_chars(item: list[Any]) -> list[OcrWord]:
    """Group the recognizer's per-character boxes into words at the spaces."""
    words: list[OcrWord] = []
    chars: list[tuple[str, Box, float]] = []
    for quad, char, score in zip(item[3], item[4], item[5], strict=False):
        if not str(char).strip():
            words += _flush(chars)
            continue
        xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
        chars.append((str(char), (min(xs), min(ys), max(xs), max(ys)), float(score)))
    return words + _flush(chars)


def _flush(chars: list[tuple[str, Box, float]]) -> list[OcrWord]:
    if not chars:
        return []
    boxes = [box for _, box, _ in chars]
    word = OcrWord(text="".join(c for c, _, _ in chars),
                   box=(min(b[0] for b in boxes), min(b[1] for b in boxes),
                        max(b[2] for b in boxes), max(b[3] for b in boxes)),
                   confidence=sum(s for _, _, s in chars) / len(chars))
    chars.clear()
    return [word]


def _words_by_width(line: OcrLine) -> list[OcrWord]:
    """Fallback: split the line box among its words in proportion to their length."""
    x0, y0, x1, y1 = line.box
    tokens = line.text.split()
    total = sum(len(t) for t in tokens) + max(len(tokens) - 1, 0)
    step = (x1 - x0) / max(total, 1)
    words, cursor = [], x0
    for token in tokens:
        end = cursor + step * len(token)
        words.append(OcrWord(token, (cursor, y0, end, y1), line.confidence))
        cursor = end + step
    return words
