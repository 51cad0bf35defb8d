"""Typed parsing of text found in documents: amounts, dates, booleans, enums.

Each parser takes the raw text next to a label and returns the value (or None).
The same parsers coerce LLM output ("$1,250.00" where a number is due).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_CURRENCY = r"(?:[$€£¥₹]|USD|EUR|GBP|CHF|CAD|AUD|JPY|INR|SEK|NOK|DKK|PLN|kr|zł|Fr\.?)"
_GROUPED = r"\d{1,3}(?:[ ,.'’\u00a0\u202f]\d{3})+(?:[.,]\d{1,4})?"
_NUMBER = re.compile(
    rf"(?P<neg>[-−(])?\s*{_CURRENCY}?\s*(?P<neg2>-)?\s*(?P<num>{_GROUPED}|\d+(?:[.,]\d{{1,4}})?)(?!\d)",
    re.IGNORECASE)
_MONTHS = {name: index for index, names in enumerate(
    [("jan", "january", "janv", "januar", "enero"), ("feb", "february", "fevr", "februar"),
     ("mar", "march", "mars", "marz", "märz"), ("apr", "april", "avr", "avril"),
     ("may", "mai", "mayo"), ("jun", "june", "juin", "juni"), ("jul", "july", "juil", "juli"),
     ("aug", "august", "aout", "août"), ("sep", "sept", "september"),
     ("oct", "october", "okt", "oktober"), ("nov", "november"), ("dec", "december", "dez", "dezember")],
    start=1) for name in names}
# No boundary after the day or year: OCR glues a date to the next word ("2015-02-022015-02-02").
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:(?!\d)|(?=\d{4}[-/.]\d))")
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})([-/.])(\d{1,2})\2(19\d{2}|20\d{2}|\d{2})")
_NAMED_DMY = re.compile(
    r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?[\s\-.]*([A-Za-zäéû]{3,9})\.?,?[\s\-.]*(\d{4}|\d{2})(?!\d)")
_NAMED_MDY = re.compile(
    r"\b([A-Za-zäéû]{3,9})\.?[\s\-.]*(\d{1,2})(?:st|nd|rd|th)?(?:,\s*|[\s\-.]+)(\d{4})\b")
_TRUE = {"yes", "y", "true", "paid", "x", "[x]", "☑", "☒", "✓", "✔", "checked", "on", "1", "ja", "oui"}
_FALSE = {"no", "n", "false", "unpaid", "[ ]", "☐", "unchecked", "off", "0", "nein", "non", "none"}


def parse_number(raw: str) -> float | None:
    """An amount in any common format: $1,250.00 · 1.234,56 € · 1 234,56 · (12.50) · CHF 1'250."""
    match = _NUMBER.search(raw)
    if match is None:
        return None
    text = re.sub(r"[ '’\u00a0\u202f]", "", match.group("num"))
    value = float(_normalise_separators(text))
    negative = match.group("neg") in ("-", "−", "(") or match.group("neg2") == "-"
    return -value if negative else value


def _normalise_separators(text: str) -> str:
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        # Whichever comes last is the decimal separator: 1,234.56 and 1.234,56.
        decimal = "." if last_dot > last_comma else ","
        thousands = "," if decimal == "." else "."
        return text.replace(thousands, "").replace(decimal, ".")
    for sep in (",", "."):
        if sep in text:
            parts = text.split(sep)
            if len(parts) > 2 and len(parts[-1]) != 3:
                # OCR misreads "3,981.46" as "3.981.46": the last separator is the decimal one.
                return "".join(parts[:-1]) + "." + parts[-1]
            if len(parts) > 2 or (sep == "," and len(parts[-1]) == 3):
                return text.replace(sep, "")  # 1,250 and 1.234.567: grouping only
            return text.replace(sep, ".")
    return text


def parse_integer(raw: str) -> int | None:
    value = parse_number(raw)
    return int(value) if value is not None and float(value).is_integer() else None


def parse_date(raw: str, *, day_first: bool = False) -> str | None:
    """A date as ISO 8601 (YYYY-MM-DD); `day_first` settles 03/04/2024 when nothing else does."""
    if match := _ISO.search(raw):
        year, middle, last = int(match[1]), int(match[2]), int(match[3])
        # 2015-30-01: some software writes year-day-month.
        return _iso(year, middle, last) or _iso(year, last, middle)
    if match := _NUMERIC_DATE.search(raw):
        first, second, year = int(match[1]), int(match[3]), _year(match[4])
        dotted = match[2] == "."  # 15.03.2024 is day-first wherever it is written
        if first > 12 or ((day_first or dotted) and second <= 12):
            return _iso(year, second, first)
        return _iso(year, first, second)
    if match := _NAMED_DMY.search(raw):
        month = _MONTHS.get(match[2].lower().rstrip("."))
        if month:
            return _iso(_year(match[3]), month, int(match[1]))
    if match := _NAMED_MDY.search(raw):
        month = _MONTHS.get(match[1].lower().rstrip("."))
        if month:
            return _iso(int(match[3]), month, int(match[2]))
    return None


def _year(text: str) -> int:
    year = int(text)
    return year + (2000 if year < 70 else 1900) if len(text) == 2 else year


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_boolean(raw: str) -> bool | None:
    words = raw.strip().lower()
    for token in [words, *words.replace(":", " ").split()]:
        if token in _TRUE:
            return True
        if token in _FALSE:
            return False
    return None


def match_enum(raw: str, options: list[Any]) -> Any:
    """The enum option named in `raw` (case and punctuation ignored; longest match wins)."""
    text = _simplify(raw)
    best: tuple[int, Any] | None = None
    for option in options:
        needle = _simplify(str(option))
        if needle and re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", text):
            if best is None or len(needle) > best[0]:
                best = (len(needle), option)
    return best[1] if best else None


def _simplify(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def parse_value(raw: str, spec: dict[str, Any], *, day_first: bool = False) -> Any:
    """`raw` parsed to what `spec` (a JSON Schema leaf) asks for; None when it does not fit."""
    raw = raw.strip().strip(":#").strip()
    if not raw:
        return None
    if "enum" in spec:
        return match_enum(raw, list(spec["enum"]))
    kind = schema_type(spec)
    if kind == "number":
        return parse_number(raw)
    if kind == "integer":
        return parse_integer(raw)
    if kind == "boolean":
        return parse_boolean(raw)
    if spec.get("format") == "date":
        return parse_date(raw, day_first=day_first)
    if spec.get("format") == "email":
        found = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", raw)
        return found.group() if found else None
    return raw if kind in ("string", None) else None


def schema_type(spec: dict[str, Any]) -> str | None:
    """The one non-null JSON type of a schema leaf (`["number", "null"]` → "number")."""
    kind = spec.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return str(kinds[0]) if kinds else None
    if kind is None:
        for option in spec.get("anyOf") or spec.get("oneOf") or []:
            if isinstance(option, dict) and option.get("type") not in (None, "null"):
                return schema_type(option)
    return str(kind) if kind is not None else None


def coerce(value: Any, spec: dict[str, Any]) -> Any:
    """A model's value nudged to the schema's type where the intent is plain ("1,250.00" → 1250.0)."""
    kind = schema_type(spec)
    if value is None:
        return None
    if kind == "object" and isinstance(value, dict):
        props = spec.get("properties") or {}
        return {k: coerce(v, props.get(k) or {}) for k, v in value.items()}
    if kind == "array" and isinstance(value, list):
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        return [coerce(item, items or {}) for item in value]
    if isinstance(value, str) and (kind in ("number", "integer", "boolean") or "enum" in spec
                                   or spec.get("format") == "date"):
        parsed = parse_value(value, spec)
        return value if parsed is None else parsed
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
