"""LLM variants of a trained pipeline: the plain model, + learned hints, + few-shot examples.

Hints and examples come from the training split only; the variants are scored on the
held-out split (scoring them on the training split would flatter the few-shot variants,
whose examples are training documents). One model call per held-out example and variant,
at most `llm_max_parallel_chunks` at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from shared.extraction.schema import inline_refs
from shared.settings import get_settings
from worker.pipeline.extract import run_engine
from worker.pipeline.extract.guidance import Guidance
from worker.pipeline.llm import LLMConfig
from worker.training.learn import LabeledDocument, Learned
from worker.training.prompting import few_shot_examples, guidance_for, learned_hints
from worker.training.scoring import Scorecard, score_example

# Cheapest first: on equal held-out accuracy the earlier (shorter prompt) variant wins.
LLM_COMPONENTS: tuple[tuple[str, ...], ...] = ((), ("hints",), ("few_shot",), ("hints", "few_shot"))


@dataclass(frozen=True)
class LLMVariant:
    """One way of prompting the model; `guidance` is what it adds to the prompt."""

    components: tuple[str, ...]
    guidance: Guidance | None

    @property
    def name(self) -> str:
        return "+".join(("llm", *self.components))

    def pipeline(self, model: LLMConfig) -> dict[str, Any]:
        """The artifact pipeline for this variant: the model's name, never its key."""
        guidance = self.guidance.to_pipeline() if self.guidance else {"hints": {}, "few_shot": []}
        return {"engine": "llm", "variant": self.name, "model": model.model, **guidance}


def llm_variants(learned: Learned, train_set: list[LabeledDocument],
                 schema: dict[str, Any]) -> list[LLMVariant]:
    """The plain model and each guided variant the training split gives material for."""
    hints = learned_hints(learned, train_set, inline_refs(schema))
    shots = few_shot_examples(train_set)
    return [LLMVariant(parts, guidance_for(parts, hints, shots)) for parts in LLM_COMPONENTS
            if ("hints" not in parts or hints) and ("few_shot" not in parts or shots)]


def evaluate_llm(variant: LLMVariant, examples: list[LabeledDocument], schema: dict[str, Any],
                 model: LLMConfig) -> Scorecard:
    """Held-out field accuracy of one LLM variant (provider errors propagate)."""
    def extract(example: LabeledDocument) -> dict[str, Any]:
        evidence = run_engine(example.document, schema, model, guidance=variant.guidance)
        return {name: item.value for name, item in evidence.items()}

    workers = max(1, min(get_settings().llm_max_parallel_chunks, len(examples)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm-train") as pool:
        results = list(pool.map(extract, examples))
    card = Scorecard()
    plain = inline_refs(schema)
    for example, actual in zip(examples, results, strict=True):
        score_example(card, example.name, plain, example.expected, actual)
    return card
