"""`ocr_lang`: the languages the OCR models shipped with Quarry read, and the 400 for others.

Quarry's local OCR (RapidOCR 3, PP-OCRv6 "small" models inside the `rapidocr`
wheel) is one multilingual model pair: Latin-script languages, Chinese
(simplified and traditional) and Japanese. Models for other scripts (Arabic,
Cyrillic, Korean, Thai, Greek, Devanagari, …) exist but are downloaded at first
use, which Quarry never does, so those languages are refused up front. The API
checks against this list without loading any OCR code; the worker derives the
same list from the installed models, and a test holds the two equal.
"""

from __future__ import annotations

from shared.errors import BadRequest

OCR_LANGUAGES: tuple[str, ...] = (
    "af", "az", "bs", "ca", "ch", "chinese_cht", "cs", "cy", "da", "de", "en", "es", "et",
    "eu", "fi", "fr", "french", "ga", "german", "gl", "hr", "hu", "id", "is", "it", "japan",
    "ku", "la", "lb", "lt", "lv", "mi", "ms", "mt", "nl", "no", "oc", "pl", "pt", "qu", "rm",
    "ro", "rs_latin", "sk", "sl", "sq", "sv", "sw", "tl", "tr", "uz", "vi",
)
"""Codes as RapidOCR names them (`ch`: simplified Chinese, `japan`: Japanese)."""
OCR_LANGUAGE_ALIASES: dict[str, str] = {
    "zh": "ch", "zh_cn": "ch", "zh-cn": "ch", "zh_tw": "chinese_cht", "zh-tw": "chinese_cht",
    "ja": "japan", "jp": "japan",
    # ISO 639-2 codes (as Tesseract and many clients name languages).
    "afr": "af", "aze": "az", "bos": "bs", "cat": "ca", "chi": "ch", "zho": "ch", "ces": "cs",
    "cze": "cs", "cym": "cy", "wel": "cy", "dan": "da", "deu": "de", "ger": "de", "eng": "en",
    "spa": "es", "est": "et", "eus": "eu", "baq": "eu", "fin": "fi", "fra": "fr", "fre": "fr",
    "gle": "ga", "glg": "gl", "hrv": "hr", "hun": "hu", "ind": "id", "isl": "is", "ice": "is",
    "ita": "it", "jpn": "japan", "kur": "ku", "lat": "la", "ltz": "lb", "lit": "lt", "lav": "lv",
    "mri": "mi", "mao": "mi", "msa": "ms", "may": "ms", "mlt": "mt", "nld": "nl", "dut": "nl",
    "nor": "no", "oci": "oc", "pol": "pl", "por": "pt", "que": "qu", "roh": "rm", "ron": "ro",
    "rum": "ro", "slk": "sk", "slo": "sk", "slv": "sl", "sqi": "sq", "alb": "sq", "swe": "sv",
    "swa": "sw", "tgl": "tl", "tur": "tr", "uzb": "uz", "vie": "vi",
}
MAX_OCR_LANG = 32


class OcrLanguageUnsupported(BadRequest):
    code = "unsupported_ocr_lang"


def ocr_language(value: str) -> str:
    """The canonical code for `value` (case and aliases folded); 400 when no shipped model reads it."""
    code = value.strip().lower()
    code = OCR_LANGUAGE_ALIASES.get(code, code)
    if code in OCR_LANGUAGES:
        return code
    shown = value[:MAX_OCR_LANG]
    raise OcrLanguageUnsupported(
        f"ocr_lang {shown!r} is not read by the OCR models this server ships. Supported: "
        f"{', '.join(OCR_LANGUAGES)} (also zh, ja and ISO 639-2 codes such as deu); leave "
        "ocr_lang out for the default multilingual model.")
