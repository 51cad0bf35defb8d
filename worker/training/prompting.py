"""LLM guidance learned from the training split: per-field hints and few-shot examples.

Hints restate what the local learner found in words a model can use ("labelled 'Ref. No.';
the value is in the line below the label", "written day-first"). Few-shot examples are
training documents (text excerpts) with their expected JSON: chosen greedily so that each
adds fields the others lack, shortest first, up to three within the prompt budget.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from worker.pipeline.extract.chunking import page_text
from worker.pipeline.extract.guidance import FewShotExample, Guidance, bounded_examples
from worker.pipeline.extract.values import parse_date
from worker.training.learn import (
    LabeledDocument,
    Learned,
    array_fields,
    lookup_path,
    scalar_fields,
)

MAX_SHOTS = 3
_WHERE = {"inline": "the value follows the label on the same line",
          "right": "the value is in the cell to the right of the label",
          "below": "the value is on the line below the label"}
_NUMERIC_DATE = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b")


def learned_hints(learned: Learned, examples: list[LabeledDocument],
                  schema: dict[str, Any]) -> dict[str, str]:
    """One line per field the training split taught something about."""
    hints: dict[str, str] = {}
    day_first = _dates_day_first(examples, schema)
    for name, spec, path in scalar_fields(schema):
        key = ".".join(path)
        parts = []
        if learned.aliases.get(name):
            labels = " or ".join(f"'{phrase}'" for phrase in learned.aliases[name])
            parts.append(f"labelled {labels}")
            if learned.field_positions.get(name) in _WHERE:
                parts.append(_WHERE[learned.field_positions[name]])
        if spec.get("format") == "date" and day_first is not None:
            parts.append("dates are written day-first (DD/MM/YYYY); answer YYYY-MM-DD" if day_first
                         else "dates are written month-first (MM/DD/YYYY); answer YYYY-MM-DD")
        if parts:
            hints[key] = "; ".join(parts)
    for name, items in array_fields(schema):
        for prop in items.get("properties") or {}:
            if learned.columns.get(prop):
                hints[f"{name}[].{prop}"] = f"the table column headed '{learned.columns[prop][0]}'"
    return hints


def _dates_day_first(examples: list[LabeledDocument], schema: dict[str, Any]) -> bool | None:
    """Whether the training documents write their expected dates day-first (None: no evidence)."""
    votes: Counter[bool] = Counter()
    for example in examples:
        written = _NUMERIC_DATE.findall(example.document.plain_text)
        for _name, spec, path in scalar_fields(schema):
            expected = lookup_path(example.expected, path)
            if spec.get("format") != "date" or not isinstance(expected, str):
                continue
            for text in written:
                as_dmy, as_mdy = parse_date(text, day_first=True), parse_date(text)
                if as_dmy != as_mdy and expected in (as_dmy, as_mdy):
                    votes[expected == as_dmy] += 1
    if not votes or votes[True] == votes[False]:
        return None
    return votes[True] > votes[False]


def few_shot_examples(examples: list[LabeledDocument]) -> tuple[FewShotExample, ...]:
    """Up to MAX_SHOTS training examples: each adds fields not yet shown, shortest first."""
    remaining = sorted(examples, key=lambda ex: (len(document_text(ex)), ex.name))
    chosen: list[LabeledDocument] = []
    shown: set[str] = set()
    while remaining and len(chosen) < MAX_SHOTS:
        best = max(remaining, key=lambda ex: len(_filled(ex.expected) - shown))
        if chosen and not _filled(best.expected) - shown:
            break  # nothing new to show: more examples only cost tokens
        chosen.append(best)
        shown |= _filled(best.expected)
        remaining.remove(best)
    return bounded_examples([FewShotExample(document_text(ex), _without_nulls(ex.expected))
                             for ex in chosen])


def guidance_for(variant: tuple[str, ...], hints: dict[str, str],
                 shots: tuple[FewShotExample, ...]) -> Guidance | None:
    """The guidance an LLM variant (`("hints",)`, `("few_shot",)`, both or none) sends."""
    guidance = Guidance(hints if "hints" in variant else {},
                        shots if "few_shot" in variant else ())
    return guidance if guidance.hints or guidance.examples else None


def document_text(example: LabeledDocument) -> str:
    """The document as the LLM engine shows it (pages marked)."""
    return "\n\n".join(page_text(page) for page in example.document.pages)


def _filled(expected: dict[str, Any]) -> set[str]:
    return {name for name, value in expected.items() if value not in (None, "", [], {})}


def _without_nulls(expected: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in expected.items() if value is not None}

