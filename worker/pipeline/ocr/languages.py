"""Which shipped RapidOCR models read a language, found from the installed wheel itself.

RapidOCR routes a language to a model key (`default_models.yaml`); a language is
supported here only when the detection and recognition files its route names lie
inside the installed package. Anything else would make RapidOCR download a
model, which Quarry never does.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from shared.jobs.ocr_lang import OcrLanguageUnsupported, ocr_language

DEFAULT_LANGUAGE = "en"
OCR_VERSION = "PP-OCRv6"
MODEL_TYPE = "small"
CLS_FILE = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


@dataclass(frozen=True)
class ShippedModels:
    det: Path
    rec: Path
    cls: Path


def shipped_models(language: str) -> ShippedModels:
    """The model files that read `language`; 400 when the wheel does not ship them."""
    code = ocr_language(language)
    models = _models_for(code)
    if models is None:
        raise OcrLanguageUnsupported(f"ocr_lang {language!r}: no shipped OCR model reads it.")
    return models


@lru_cache(maxsize=1)
def supported_languages() -> tuple[str, ...]:
    """Every language code the installed models read, sorted."""
    routes = _config()["model_routes"][OCR_VERSION]
    codes = {str(lang) for task in ("det", "rec") for route in routes[task][MODEL_TYPE]
             for lang in route["supported_langs"]}
    return tuple(sorted(code for code in codes if _models_for(code) is not None))


@lru_cache(maxsize=64)
def _models_for(code: str) -> ShippedModels | None:
    det, rec = _model_file("det", code), _model_file("rec", code)
    cls = _package_dir() / "models" / CLS_FILE
    if det is None or rec is None or not cls.is_file():
        return None
    return ShippedModels(det=det, rec=rec, cls=cls)


def _model_file(task: str, code: str) -> Path | None:
    config = _config()
    for route in config["model_routes"][OCR_VERSION][task][MODEL_TYPE]:
        if code in route["supported_langs"]:
            url = config["onnxruntime"][OCR_VERSION][task][route["model_key"]]["model_dir"]
            path = _package_dir() / "models" / Path(url).name
            return path if path.is_file() else None
    return None


@lru_cache(maxsize=1)
def _config() -> Any:
    with open(_package_dir() / "default_models.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@lru_cache(maxsize=1)
def _package_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    assert spec is not None and spec.origin is not None, "rapidocr is a dependency"
    return Path(spec.origin).parent
