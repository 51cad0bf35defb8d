"""Score the local engine on real, labeled corpora: per-field accuracy, line-item F1, calibration.

Each document goes through `extract_document`, the function the worker calls, with the
corpus type's fixed schema and no model (the local engine). Comparison is normalised:

- numbers as numbers (equal to the cent), dates as ISO dates;
- short codes (`invoice_number`, `currency`) exactly, ignoring case, spaces and punctuation;
- other text by word overlap: the word-level F1 between expected and extracted words
  (lower case, punctuation dropped) must be at least `TEXT_OVERLAP` (0.8).

A field counts when its label has a value; a null answer is a miss. Line items are
scored cell by cell: each expected row is paired with the extracted row that shares
most cells; F1 over non-null cells. Calibration: every reported field's confidence
against whether it was right, in buckets, with the expected calibration error (ECE).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from bench.extraction.corpora import LabeledDocument, converted, load_corpus, string_typed
from shared.extraction.schema import parse_schema
from shared.jobs.options import ExtractOptions
from worker.pipeline.extract import extract_document
from worker.pipeline.extract.values import parse_number

TEXT_OVERLAP = 0.8
GLUED_SIMILARITY = 0.9
_CODES = {"invoice_number", "currency"}
_BUCKETS = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001]


@dataclass
class CorpusScore:
    name: str
    documents: int = 0
    fields: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    """field → [right, labelled]"""
    cells: list[int] = field(default_factory=lambda: [0, 0, 0])
    """line-item cells: [matched, extracted, expected]"""
    calibration: list[tuple[float, bool]] = field(default_factory=list)
    milliseconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        right = sum(r for r, _ in self.fields.values())
        total = sum(t for _, t in self.fields.values())
        return right / total if total else 0.0

    @property
    def item_f1(self) -> float | None:
        matched, extracted, expected = self.cells
        if not expected:
            return None
        precision = matched / extracted if extracted else 0.0
        recall = matched / expected
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_corpus(folder: Path, plain_strings: bool = False) -> CorpusScore:
    """`plain_strings`: every top-level scalar field typed as the shorthand `"string"`."""
    score = CorpusScore(folder.name + (" (string-typed schema)" if plain_strings else ""))
    for doc in load_corpus(folder):
        document = converted(doc.path)
        schema = string_typed(doc.schema) if plain_strings else doc.schema
        started = time.perf_counter()
        outcome = extract_document(document, ExtractOptions.model_validate(
            {"schema": parse_schema(schema), "allow_partial": True}))
        score.milliseconds.append((time.perf_counter() - started) * 1000)
        score.documents += 1
        _score_document(score, doc, outcome.payload)
    return score


def _score_document(score: CorpusScore, doc: LabeledDocument, payload: dict[str, Any]) -> None:
    result, fields = payload["result"], payload["fields"]
    for name, want in doc.expected.items():
        if name == "line_items":
            _score_items(score, want or [], result.get(name) or [])
            continue
        if want is None:
            continue
        got = result.get(name)
        right = got is not None and matches(name, want, got)
        tally = score.fields[name]
        tally[0] += right
        tally[1] += 1
        if got is not None:
            score.calibration.append((float(fields[name]["confidence"]), right))
        if not right:
            score.misses.append(f"{doc.id}.{name}: expected {want!r}, got {got!r}")


def matches(name: str, want: Any, got: Any) -> bool:
    """The normalised comparison described in the module docstring."""
    if isinstance(want, (int, float)) and isinstance(got, str):
        got = parse_number(got) if re.fullmatch(r"-?\d+(?:\.\d+)?", got.strip()) else None
    if isinstance(want, (int, float)):
        return isinstance(got, (int, float)) and not isinstance(got, bool) and abs(want - got) < 0.011
    if name in _CODES:
        return _squash(str(want)) == _squash(str(got))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(want)):
        return str(want) == str(got)
    if word_overlap(str(want), str(got)) >= TEXT_OVERLAP:
        return True
    # OCR glues words ("BENSINDEPENDENT GROCER"); the same characters without spaces count too.
    return SequenceMatcher(None, _squash(str(want)), _squash(str(got))).ratio() >= GLUED_SIMILARITY


def word_overlap(want: str, got: str) -> float:
    """Word-level F1 of two texts (lower case, punctuation dropped, words as a multiset)."""
    a, b = _words(want), _words(got)
    if not a or not b:
        return 0.0
    common = sum(min(a.count(w), b.count(w)) for w in set(a))
    return 2 * common / (len(a) + len(b))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _score_items(score: CorpusScore, expected: list[dict[str, Any]], actual: list[Any]) -> None:
    rows = [row for row in actual if isinstance(row, dict)]
    score.cells[1] += sum(1 for row in rows for v in row.values() if v is not None)
    score.cells[2] += sum(1 for row in expected for v in row.values() if v is not None)
    free = list(range(len(rows)))
    for want in expected:
        best, best_hits = None, 0
        for index in free:
            hits = _row_hits(want, rows[index])
            if hits > best_hits:
                best, best_hits = index, hits
        if best is not None:
            free.remove(best)
            score.cells[0] += best_hits


def _row_hits(want: dict[str, Any], got: dict[str, Any]) -> int:
    return sum(1 for name, value in want.items()
               if value is not None and got.get(name) is not None and matches(name, value, got[name]))


def calibration_table(pairs: list[tuple[float, bool]]) -> tuple[list[str], float]:
    """Markdown rows (bucket, fields, mean confidence, accuracy) and the ECE."""
    rows, ece = [], 0.0
    for low, high in zip(_BUCKETS, _BUCKETS[1:], strict=False):
        inside = [(c, r) for c, r in pairs if low <= c < high]
        if not inside:
            continue
        confidence = sum(c for c, _ in inside) / len(inside)
        accuracy = sum(r for _, r in inside) / len(inside)
        ece += len(inside) / len(pairs) * abs(confidence - accuracy)
        rows.append(f"| {low:.2f}–{min(high, 1.0):.2f} | {len(inside)} | {confidence:.3f} | {accuracy:.1%} |")
    return rows, ece


def report(scores: list[CorpusScore], show_misses: bool) -> str:
    lines = []
    for score in scores:
        lines += [f"## {score.name}: {score.documents} documents", "",
                  "| field | right | labelled | accuracy |", "|---|---|---|---|"]
        for name, (right, total) in score.fields.items():
            lines.append(f"| {name} | {right} | {total} | {right / total:.1%} |")
        lines.append(f"| **all fields** | | | **{score.accuracy:.1%}** |")
        if score.item_f1 is not None:
            matched, extracted, expected = score.cells
            lines.append(f"\nLine-item cells: {matched} matched, {extracted} extracted, "
                         f"{expected} expected; F1 {score.item_f1:.3f}.")
        ms = sorted(score.milliseconds)
        if ms:
            lines.append(f"Extraction time per document (conversion excluded): mean "
                         f"{sum(ms) / len(ms):.0f} ms, max {ms[-1]:.0f} ms.")
        lines.append("")
        if show_misses:
            lines += score.misses + [""]
    pairs = [pair for score in scores for pair in score.calibration]
    if pairs:
        rows, ece = calibration_table(pairs)
        high = [r for c, r in pairs if c >= 0.9]
        lines += ["## Calibration (all corpora, fields with a value)", "",
                  "| confidence | fields | mean confidence | accuracy |", "|---|---|---|---|", *rows, "",
                  f"ECE {ece:.3f}. Confidence ≥ 0.9: {len(high)} fields, "
                  f"{(sum(high) / len(high)) if high else 0:.1%} right.", ""]
    return "\n".join(lines)
