"""Text similarity between produced and reference markdown, after normalisation."""

from __future__ import annotations

import difflib
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

_PAGE_MARKER = re.compile(r"<!--.*?-->|^-{3,}$", re.M)
_TOKEN = re.compile(r"[#|]|[^\s#|*_`]+")


def tokens(markdown: str) -> list[str]:
    """Words plus the structural marks (# for headings, | for table cells) that carry structure."""
    text = _PAGE_MARKER.sub(" ", markdown)
    text = re.sub(r"\|\s*:?-{3,}:?\s*(?=\|)", "|", text)  # table rules are layout, not content
    return _TOKEN.findall(text)


def token_f1(produced: str, reference: str) -> float:
    got, want = Counter(tokens(produced)), Counter(tokens(reference))
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def similarity(produced: str, reference: str) -> float:
    """difflib's ratio over the token sequences (order matters here, unlike F1)."""
    return difflib.SequenceMatcher(None, tokens(produced), tokens(reference), autojunk=False).ratio()


def safe_convert(convert: Callable[[Path], str], path: Path) -> str:
    """`convert(path)`, or "" when the tool fails on the file: it scores zero, the run goes on."""
    try:
        return convert(path)
    except Exception as exc:  # noqa: BLE001 - any tool's failure is a zero score
        reason = str(exc).strip().splitlines()[-1][:160] if str(exc).strip() else type(exc).__name__
        print(f"  {getattr(convert, '__name__', 'converter')} failed on {path.name}: {reason}",
              file=sys.stderr)
        return ""
