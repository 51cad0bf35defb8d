"""What a trained LLM pipeline adds to the extraction prompt: field hints and few-shot examples.

A trained artifact with `pipeline["engine"] == "llm"` carries `hints` (field → one line
learned from the training split, e.g. where the label sits and how values are written)
and `few_shot` (document excerpts with their expected JSON). Both are bounded here, at
read time too, so that a stored pipeline can never blow up a prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_HINTS = 40
MAX_HINT_CHARS = 300
MAX_EXAMPLES = 3
EXAMPLE_CHARS = 3000  # per few-shot document excerpt (~750 tokens)
EXAMPLES_BUDGET_CHARS = 7500  # all few-shot excerpts and answers together
TRUNCATED = "\n[… document text truncated …]"


@dataclass(frozen=True)
class FewShotExample:
    """A training document's text (an excerpt) and the JSON it should yield."""

    text: str
    expected: dict[str, Any]


@dataclass(frozen=True)
class Guidance:
    """Prompt additions for the LLM engine; empty guidance changes nothing."""

    hints: dict[str, str]
    examples: tuple[FewShotExample, ...] = ()

    @classmethod
    def from_pipeline(cls, pipeline: dict[str, Any] | None) -> Guidance | None:
        """The guidance stored in an artifact's pipeline, bounded; None when it has none."""
        pipeline = pipeline or {}
        raw_hints = pipeline.get("hints")
        raw_hints = raw_hints if isinstance(raw_hints, dict) else {}
        hints = {str(name): str(text)[:MAX_HINT_CHARS]
                 for name, text in list(raw_hints.items())[:MAX_HINTS] if text}
        shots = pipeline.get("few_shot")
        shots = shots if isinstance(shots, list) else []
        examples = bounded_examples([FewShotExample(str(s.get("text") or ""), s["expected"])
                                     for s in shots
                                     if isinstance(s, dict) and isinstance(s.get("expected"), dict)])
        guidance = cls(hints, examples)
        return guidance if hints or examples else None

    def to_pipeline(self) -> dict[str, Any]:
        """The JSON an artifact stores (`hints`, `few_shot`)."""
        return {"hints": dict(self.hints),
                "few_shot": [{"text": ex.text, "expected": ex.expected} for ex in self.examples]}

    def system_addition(self) -> str:
        """Hints for the system message, or "" when there are none."""
        if not self.hints:
            return ""
        lines = "\n".join(f"- {name}: {text}" for name, text in self.hints.items())
        return ("Hints learned from labeled documents of this type (follow them when they "
                f"apply):\n{lines}")

    def example_messages(self) -> list[dict[str, Any]]:
        """Few-shot turns: each example document as a user message, its JSON as the answer."""
        messages: list[dict[str, Any]] = []
        for example in self.examples:
            messages += [
                {"role": "user", "content": "Example document:\n" + example.text},
                {"role": "assistant", "content": json.dumps(example.expected, ensure_ascii=False)},
            ]
        return messages


def excerpt(text: str, limit: int = EXAMPLE_CHARS) -> str:
    """`text` cut to `limit` characters, marked when it was cut."""
    return text if len(text) <= limit else text[:limit].rstrip() + TRUNCATED


def bounded_examples(examples: list[FewShotExample]) -> tuple[FewShotExample, ...]:
    """At most MAX_EXAMPLES excerpts that fit EXAMPLES_BUDGET_CHARS together, in order."""
    kept: list[FewShotExample] = []
    used = 0
    for example in examples:
        if len(kept) == MAX_EXAMPLES:
            break
        shown = FewShotExample(excerpt(example.text), example.expected)
        size = len(shown.text) + len(json.dumps(shown.expected, ensure_ascii=False))
        if used + size > EXAMPLES_BUDGET_CHARS:
            continue  # a huge expected JSON is skipped, not cut: a cut answer would mislead
        kept.append(shown)
        used += size
    return tuple(kept)
