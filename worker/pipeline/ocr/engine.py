"""The local OCR engine: RapidOCR 3 on ONNX Runtime, with the models its wheel ships.

Loaded lazily, once per process and language model: the first page pays the
model load, later pages do not. Every model is given by its path inside the
installed wheel, so RapidOCR's own download step is never reached: nothing is
ever downloaded (a model the wheel lacks is refused, `languages.py`).
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
from worker.pipeline.ocr.languages import DEFAULT_LANGUAGE, ShippedModels, shipped_models

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]
Quad = list[tuple[float, float]]

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
    quad: Quad
    confidence: float
    words: list[OcrWord]

    @property
    def box(self) -> Box:
        return _bounds(self.quad)


def engine_name() -> str:
    """What read the pages, as results and caches name it (`rapidocr-3.10.0`)."""
    from importlib.metadata import version

    return f"rapidocr-{version('rapidocr')}"


@lru_cache(maxsize=4)
def get_engine(language: str = DEFAULT_LANGUAGE) -> Any:
    """The engine for `language`'s shipped models (one per distinct model set)."""
    return _load(shipped_models(language))


@lru_cache(maxsize=4)
def _load(models: ShippedModels) -> Any:
    from rapidocr import RapidOCR  # heavy import, paid only by OCR-ing processes

    threads = get_settings().ocr_threads
    params: dict[str, Any] = {
        "Global.log_level": "warning",
        "Global.use_cls": False,  # orientation is settled per page (`orientation.py`)
        "Det.model_path": str(models.det), "Rec.model_path": str(models.rec),
        "Cls.model_path": str(models.cls),
        # Detection on the page scaled to at most 1280 px: on receipts and A4 scans it finds the
        # same text as RapidOCR's default (shortest side >= 736, no cap) in a quarter of the
        # time, and it finds the lone line on a large, mostly empty page that the default misses.
        "Det.limit_type": "max", "Det.limit_side_len": 1280,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads if threads > 0 else -1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1 if threads > 0 else -1,
        # RapidOCR turns ONNX Runtime's memory arena off; every recogniser batch then allocates
        # afresh. With it on, pages read ~10 % faster, to the same characters, for a higher
        # peak RSS (~+130 MiB on 150-dpi A4 pages, `bench.markdown.ocr`). What it keeps is
        # bounded: detection input is capped (above), recogniser batches are 48 px high.
        "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
    }
    log.info("loading the local OCR engine (%s, %s)", models.det.name, models.rec.name)
    return RapidOCR(params=params)


def detect_quads(image: Gray, language: str = DEFAULT_LANGUAGE) -> list[Quad]:
    """Text-line quadrilaterals only (no recognition): cheap input for skew checks."""
    with _lock:
        result = get_engine(language)(image, use_det=True, use_cls=False, use_rec=False)
    boxes = getattr(result, "boxes", None)
    return [_quad(quad) for quad in (boxes if boxes is not None else [])]


def recognize(image: Gray, language: str = DEFAULT_LANGUAGE) -> list[OcrLine]:
    """Lines of text with their quads, word boxes and confidences, top to bottom."""
    with _lock:
        result = get_engine(language)(image, use_cls=False, return_word_box=True)
    if result.boxes is None or result.txts is None:
        return []
    words = result.word_results or [()] * len(result.txts)
    lines = [_line(quad, str(text), float(score), line_words)
             for quad, text, score, line_words
             in zip(result.boxes, result.txts, result.scores, words, strict=False)]
    return [line for line in lines if line.text.strip()]


def _line(quad: Any, text: str, confidence: float, words: Any) -> OcrLine:
    line = OcrLine(text=text, quad=_quad(quad), confidence=confidence, words=[])
    found = [OcrWord(str(word), _bounds(_quad(box)), float(score))
             for word, score, box in words or () if str(word).strip()]
    if "".join(w.text for w in found) != "".join(text.split()):
        found = _words_by_width(line)  # the recognizer's word boxes did not cover the text
    return OcrLine(text=text, quad=line.quad, confidence=confidence, words=found)


def _quad(points: Any) -> Quad:
    return [(float(x), float(y)) for x, y in points]


def _bounds(quad: Quad) -> Box:
    xs = [x for x, _ in quad]
    ys = [y for _, y in quad]
    return (min(xs), min(ys), max(xs), max(ys))


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
