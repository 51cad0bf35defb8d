"""Pipeline variants built from what was learned, scored on train and held-out examples.

Each learned component (label aliases, column headers, value positions, day-first dates)
can be switched on or off; forward selection on the training split proposes a short path
of variants (baseline, then one more component at a time). The variant with the best
held-out field accuracy wins (ties: better on the training split, then fewer components),
and the untrained engine is always a candidate, so training never makes held-out worse.

With a model available (BYOK or the server default), LLM variants (`llm_variants`) are
scored on the same held-out split and compete with the best local variant; on equal
accuracy the cheaper one wins (local, then the shorter prompt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.errors import QuarryError
from shared.extraction.schema import inline_refs
from worker.pipeline.extract import run_engine
from worker.pipeline.extract.config import DEFAULT_CONFIG
from worker.pipeline.llm import LLMConfig
from worker.training.learn import LabeledDocument, Learned, has_dates, learn
from worker.training.llm_variants import LLMVariant, evaluate_llm, llm_variants
from worker.training.scoring import Scorecard, score_example

MAX_FAILURES_REPORTED = 50
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Variant:
    """A named set of `LocalConfig` overrides; `components` lists what it switches on."""

    components: tuple[str, ...]
    overrides: dict[str, Any]

    @property
    def name(self) -> str:
        return "+".join(self.components) or "baseline"


@dataclass(frozen=True)
class TrainingOutcome:
    """The best local variant, the pipeline to store (local or LLM) and the report."""

    variant: Variant
    report: dict[str, Any]
    pipeline: dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """A scored variant of either engine; `on_train` is None for LLM variants."""

    name: str
    engine: str
    on_train: Scorecard | None
    held_out: Scorecard
    pipeline: dict[str, Any]


def held_out_indices(count: int, fraction: float) -> list[int]:
    """Which examples are held out: evenly spread over the list, the same every time."""
    held = min(count - 1, max(1, round(count * fraction)))
    return sorted({int((i + 0.5) * count / held) for i in range(held)})


def components(learned: Learned, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each learned component as the `LocalConfig` overrides it contributes."""
    found: dict[str, dict[str, Any]] = {}
    if learned.aliases:
        # A label learned over part of a packed row is only of use if extraction reads just
        # the words under it, so the two come as one component.
        below = {"below_words": True} if learned.below_words else {}
        found["aliases"] = {"field_aliases": learned.aliases, **below}
    if learned.columns:
        found["columns"] = {"field_aliases": learned.columns}
    if learned.positions:
        dominant = max(sorted(learned.positions), key=lambda p: learned.positions[p])
        weights = {p: min(w, 0.9) for p, w in DEFAULT_CONFIG.position_weights.items()}
        found["positions"] = {"position_weights": {**weights, dominant: 1.0}}
    if has_dates(schema):
        found["day_first"] = {"day_first": True}
    return found


def variant_of(parts: dict[str, dict[str, Any]], chosen: tuple[str, ...]) -> Variant:
    return Variant(chosen, _combine([parts[name] for name in chosen]))


def _combine(overrides: list[dict[str, Any]]) -> dict[str, Any]:
    combined: dict[str, Any] = {}
    for part in overrides:
        for key, value in part.items():
            if key == "field_aliases":
                aliases = combined.setdefault(key, {})
                for name, phrases in value.items():
                    aliases[name] = list(dict.fromkeys([*aliases.get(name, []), *phrases]))
            else:
                combined[key] = value
    return combined


def evaluate(variant: Variant, examples: list[LabeledDocument], schema: dict[str, Any]) -> Scorecard:
    config = DEFAULT_CONFIG.merged(variant.overrides)
    card = Scorecard()
    for example in examples:
        evidence = run_engine(example.document, schema, None, config)
        actual = {name: item.value for name, item in evidence.items()}
        score_example(card, example.name, inline_refs(schema), example.expected, actual)
    return card


def train(examples: list[LabeledDocument], schema: dict[str, Any], *, holdout_fraction: float,
          progress: Progress | None = None, model: LLMConfig | None = None) -> TrainingOutcome:
    """Learn on the training split, keep the variant that does best on the held-out split."""
    held = set(held_out_indices(len(examples), holdout_fraction))
    train_set = [ex for i, ex in enumerate(examples) if i not in held]
    held_out = [ex for i, ex in enumerate(examples) if i in held]
    learned = learn(train_set, inline_refs(schema))
    parts = components(learned, schema)
    path = _forward_selection(parts, train_set, schema, progress)
    local = []
    for done, (variant, on_train) in enumerate(path):
        if progress:
            progress("evaluating held-out", done, len(path))
        local.append((variant, on_train, evaluate(variant, held_out, schema)))
    best_local = max(local, key=lambda s: (round(s[2].accuracy, 6), round(s[1].accuracy, 6),
                                           -len(s[0].components)))
    candidates = [Candidate(v.name, "local", tr, ho, _local_pipeline(v)) for v, tr, ho in local]
    llm_report: dict[str, Any] | None = None
    if model is not None:
        fallback = best_local[0] if best_local[0].components else None
        scored, llm_report = _llm_candidates(learned, train_set, held_out, schema, model,
                                             fallback, progress)
        candidates += scored
    # Cheapest first among equals: the best local variant, then LLM variants in prompt order.
    ranked = [c for c in candidates if c.name == best_local[0].name and c.engine == "local"]
    ranked += [c for c in candidates if c.engine == "llm"]
    best = max(ranked, key=lambda c: (round(c.held_out.accuracy, 6), -ranked.index(c)))
    plain_llm = next((c for c in candidates if c.name == "llm"), None)
    baseline = plain_llm or candidates[0]
    report = _report(learned, candidates, best, baseline, train_set, held_out, llm_report)
    return TrainingOutcome(variant=best_local[0], report=report, pipeline=best.pipeline)


def _local_pipeline(variant: Variant) -> dict[str, Any]:
    return {"engine": "local", "variant": variant.name, "local": variant.overrides}


def _llm_candidates(learned: Learned, train_set: list[LabeledDocument],
                    held_out: list[LabeledDocument], schema: dict[str, Any], model: LLMConfig,
                    fallback: Variant | None, progress: Progress | None,
                    ) -> tuple[list[Candidate], dict[str, Any]]:
    """LLM variants scored on held-out; a provider failure skips them (reported, not fatal)."""
    variants = llm_variants(learned, train_set, schema)
    report: dict[str, Any] = {"model": model.model, "byok": model.byok}
    scored: list[tuple[LLMVariant, Scorecard]] = []
    try:
        for done, variant in enumerate(variants):
            if progress:
                progress("evaluating LLM variants", done, len(variants))
            scored.append((variant, evaluate_llm(variant, held_out, schema, model)))
    except QuarryError as exc:
        # Details are already scrubbed of keys (worker/pipeline/llm/errors.py).
        body = exc.to_body()
        return [], {**report, "skipped": body["detail"], "code": body["code"]}
    guided = next((v for v in reversed(variants) if v.guidance), None)
    if guided and guided.guidance:
        report.update(hints=guided.guidance.hints, few_shot=len(guided.guidance.examples))
    local = {"local": fallback.overrides} if fallback else {}
    return [Candidate(v.name, "llm", None, card, {**v.pipeline(model), **local})
            for v, card in scored], report


def _forward_selection(parts: dict[str, dict[str, Any]], train_set: list[LabeledDocument],
                       schema: dict[str, Any], progress: Progress | None,
                       ) -> list[tuple[Variant, Scorecard]]:
    """Baseline, then greedily the component (or, when none alone helps, the pair) that most
    improves training accuracy, while any does.

    Greedy rather than every combination: the local engine costs tens of milliseconds a
    document, and 2^k variants over every example would make training slow for no gain.
    """
    chosen: tuple[str, ...] = ()
    current = (variant_of(parts, chosen), evaluate(variant_of(parts, chosen), train_set, schema))
    path = [current]
    remaining = sorted(parts)
    while remaining:
        if progress:
            progress("evaluating variants", len(path), len(parts) + 1)
        step = _best_step(parts, chosen, [(name,) for name in remaining], train_set, schema)
        if step[2].accuracy <= current[1].accuracy + 1e-9:
            # Some components only help together: a label learned over its value is read
            # at the wrong place until its position is trusted too. Try pairs before stopping.
            pairs: list[tuple[str, ...]] = [(a, b) for i, a in enumerate(remaining)
                                            for b in remaining[i + 1:]]
            step = _best_step(parts, chosen, pairs, train_set, schema) if pairs else step
            if step[2].accuracy <= current[1].accuracy + 1e-9:
                break
        added, variant, card = step
        chosen, current = (*chosen, *added), (variant, card)
        remaining = [name for name in remaining if name not in added]
        path.append(current)
    return path


def _best_step(parts: dict[str, dict[str, Any]], chosen: tuple[str, ...],
               steps: list[tuple[str, ...]], train_set: list[LabeledDocument],
               schema: dict[str, Any]) -> tuple[tuple[str, ...], Variant, Scorecard]:
    """The step (components to add) that scores best on the training split; first on ties."""
    scored = [(step, variant_of(parts, (*chosen, *step))) for step in steps]
    cards = [(step, v, evaluate(v, train_set, schema)) for step, v in scored]
    return max(cards, key=lambda s: (round(s[2].accuracy, 6), -steps.index(s[0])))


def _report(learned: Learned, candidates: list[Candidate], best: Candidate, baseline: Candidate,
            train_set: list[LabeledDocument], held_out: list[LabeledDocument],
            llm: dict[str, Any] | None) -> dict[str, Any]:
    before, after = baseline.held_out.by_field(), best.held_out.by_field()
    report = {
        "engine": best.engine,
        "examples": {"train": [ex.name for ex in train_set],
                     "held_out": [ex.name for ex in held_out]},
        "learned": {"aliases": learned.aliases, "columns": learned.columns,
                    "positions": learned.positions},
        "variants": [{"name": c.name, "engine": c.engine,
                      "train_accuracy": round(c.on_train.accuracy, 4) if c.on_train else None,
                      "held_out_accuracy": round(c.held_out.accuracy, 4)} for c in candidates],
        "chosen": best.name,
        "baseline": baseline.name,
        "accuracy": {"before": round(baseline.held_out.accuracy, 4),
                     "after": round(best.held_out.accuracy, 4)},
        "fields": {name: {"before": before.get(name, 0.0), "after": after.get(name, 0.0)}
                   for name in sorted(set(before) | set(after))},
        "still_failing": [{"example": m.example, "field": m.field, "expected": m.expected,
                           "got": m.got, "why": m.why}
                          for m in best.held_out.misses[:MAX_FAILURES_REPORTED]],
    }
    if llm is not None:
        report["llm"] = llm
    return report
