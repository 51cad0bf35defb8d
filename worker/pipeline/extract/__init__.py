"""Extraction engines: document + JSON Schema → values with evidence.

`extract_document` is the single entry the pipeline calls. It finds the model the job may
call (BYOK model, else the server's default model or chain, else none; a trained pipeline
can pin the local engine or bring LLM guidance, see `choose_engine`), picks the route
(`routing.choose_route`: which engine answers first, and whether the model is asked when the
local answer falls short), validates the result against the schema, grounds each value in
the document and, in robust mode, cross-checks against the second (all-OCR) reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.errors import (
    AllProvidersFailed,
    BadRequest,
    QuarryError,
    SchemaValidationFailed,
    UpstreamError,
)
from shared.extraction.schema import inline_refs
from shared.jobs.options import ExtractOptions, TrainedPipeline
from shared.settings import get_settings
from worker.pipeline.document import Document
from worker.pipeline.extract.config import DEFAULT_CONFIG, LocalConfig
from worker.pipeline.extract.crosscheck import check_against_candidates, cross_check
from worker.pipeline.extract.evidence import Evidence
from worker.pipeline.extract.grounding import ground
from worker.pipeline.extract.guidance import Guidance
from worker.pipeline.extract.llm_engine import answer_with_llm
from worker.pipeline.extract.local import candidate_evidence, extract_local
from worker.pipeline.extract.payload import build_payload, overall_confidence, routing_fields
from worker.pipeline.extract.routing import (
    DocumentShape,
    ModelSource,
    Route,
    SchemaShape,
    choose_route,
)
from worker.pipeline.extract.validate import drop_nulls, validation_errors
from worker.pipeline.extract.values import coerce
from worker.pipeline.llm import LLMConfig, resolve_model

__all__ = ["ExtractionOutcome", "Guidance", "LocalConfig", "Route", "choose_engine",
           "choose_route", "extract_document", "llm_guidance", "plan_route", "run_engine"]


@dataclass(frozen=True)
class ExtractionOutcome:
    """The API's extract payload (`result`, `fields`, `confidence`, …) and whether it is partial.

    `missing_pages` are pages no model answered for (rate-limited past the time budget).
    """

    payload: dict[str, Any]
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    missing_pages: list[int] = field(default_factory=list)

    def pages_done(self, pages: int) -> int:
        """The pages to charge out of `pages` converted: those extracted, at least one (the
        worker read them all); see docs/routing.md."""
        return max(1, pages - len(self.missing_pages)) if self.missing_pages else pages


@dataclass
class Answer:
    """Which engine answered on the route, with what, and what happened on the way."""

    evidence: Evidence
    model: LLMConfig | None = None
    """The model whose answer `evidence` is; None: the local engine's."""
    models: list[str] = field(default_factory=list)
    missing_pages: list[int] = field(default_factory=list)
    escalation: str | None = None
    local_fallback: str | None = None


def extract_document(
    document: Document, options: ExtractOptions, alternate: Document | None = None
) -> ExtractionOutcome:
    """Extract per `options.schema_`; `alternate` (robust mode) is the all-OCR reading to cross-check."""
    schema = options.schema_
    if not schema:
        raise BadRequest("This extraction has no schema.", code="invalid_schema")
    route, model = plan_route(document, options)
    config = local_config(options)
    answer = answer_on_route(route, document, schema, model, config, llm_guidance(options))
    evidence = answer.evidence
    disputes = None
    if alternate is not None:
        by_model = answer.model is not None
        other = extract_local(alternate, inline_refs(schema), config) if not by_model else None
        disputes = []
        if by_model:
            # The LLM's answer against the local engine's own evidence on the page it read.
            own = candidate_evidence(document, inline_refs(schema), config)
            disputes += check_against_candidates(evidence, own)
        disputes += cross_check(evidence, other, alternate)
    result = {name: item.value for name, item in evidence.items()}
    errors = validation_errors(result, schema)
    missing = answer.missing_pages
    # Pages a rate limit kept unread make the result partial whatever `allow_partial` says:
    # the caller gets the finished pages' values and the list of the others, not a failure.
    if errors and not options.allow_partial and not missing:
        raise SchemaValidationFailed(validation_errors=errors)
    # The model that wrote the answer: with a chain or a fallback, not always the one asked.
    answered_by = answer.models[0] if answer.models else answer.model.model if answer.model else None
    engine = f"llm:{answered_by}" if answered_by else "local"
    payload = build_payload(document=document, schema=schema, result=result, evidence=evidence,
                            errors=errors, mode=options.mode, engine=engine, disputes=disputes)
    extra = routing_fields(route, escalation=answer.escalation,
                           local_fallback=answer.local_fallback, models=answer.models,
                           missing_pages=missing)
    payload.update(extra)
    notes = [extra["missing"]["detail"]] if missing else []
    return ExtractionOutcome(payload=payload, partial=bool(errors or missing), notes=notes,
                             missing_pages=missing)


def plan_route(document: Document, options: ExtractOptions) -> tuple[Route, LLMConfig | None]:
    """The route (`routing.choose_route`) and the model it may call."""
    pipeline = options.pipeline or TrainedPipeline()
    # Fast mode never calls a model, so it never needs one either (no `llm_required`).
    model = None if options.mode == "fast" else choose_engine(options)
    source: ModelSource | None = None if model is None else ("byok" if model.byok else "server")
    plain = inline_refs(options.schema_ or {})
    route = choose_route(options.mode, DocumentShape.of(document), SchemaShape.of(plain),
                         model=source, pipeline=pipeline.engine,
                         max_simple_fields=get_settings().routing_simple_schema_max_fields)
    return route, model


def answer_on_route(route: Route, document: Document, schema: dict[str, Any],
                    model: LLMConfig | None, config: LocalConfig,
                    guidance: Guidance | None) -> Answer:
    """The route's answer: the model first, or the local engine first (then the model when
    the route escalates and the local answer is incomplete or unsure). When the server's
    providers all fail and `llm_chain_local_last` is on, the local engine answers instead."""
    if model is not None and route.model_first:
        try:
            return _model_answer(document, schema, model, guidance)
        except QuarryError as exc:
            why = _local_may_answer(exc, model)
            if why is None:
                raise
            return Answer(run_engine(document, schema, None, config), local_fallback=why)
    local = Answer(run_engine(document, schema, None, config))
    if model is None or not route.may_escalate:
        return local
    escalation = escalation_reason(local.evidence, schema)
    if escalation is None:
        return local
    try:
        answer = _model_answer(document, schema, model, None)
    except QuarryError as exc:
        why = _local_may_answer(exc, model)
        if why is None:
            raise
        local.escalation, local.local_fallback = escalation, why
        return local
    answer.escalation = escalation
    return answer


def escalation_reason(evidence: Evidence, schema: dict[str, Any]) -> str | None:
    """Why a local answer goes to the model: a required field missing, a result that fails
    its schema, or an overall confidence under `routing_escalate_below_confidence`."""
    result = {name: item.value for name, item in evidence.items()}
    required = [name for name in inline_refs(schema).get("required") or [] if name not in result]
    if required:
        return f"the local engine did not find the required field(s) {', '.join(required)}"
    if validation_errors(result, schema):
        return "the local result does not satisfy the schema"
    threshold = get_settings().routing_escalate_below_confidence
    confidence = overall_confidence(evidence, inline_refs(schema), True)
    if confidence < threshold:
        return f"the local engine's confidence ({confidence}) is under {threshold}"
    return None


def _model_answer(document: Document, schema: dict[str, Any], model: LLMConfig,
                  guidance: Guidance | None) -> Answer:
    answer = answer_with_llm(document, schema, model, guidance)
    return Answer(_model_evidence(document, schema, answer.values), model=model,
                  models=answer.models, missing_pages=answer.missing_pages)


def _local_may_answer(exc: QuarryError, model: LLMConfig) -> str | None:
    """Why the local engine answers after `exc`, or None when the error stands.

    Only the server's own providers fall back (a caller's BYOK model failing is the caller's
    answer), and only when the operator keeps the local engine as the chain's last link.
    """
    if model.byok or not getattr(get_settings(), "llm_chain_local_last", True):
        return None
    if isinstance(exc, AllProvidersFailed):
        return "every model provider failed (all_providers_failed): the local engine answered"
    if isinstance(exc, UpstreamError):
        code = exc.extra.get("code", exc.code)
        return f"the model provider failed ({code}): the local engine answered"
    return None


def choose_engine(options: ExtractOptions) -> LLMConfig | None:
    """The BYOK model when a key was sent, else the server default, else None (local engine).

    A trained local pipeline keeps the local engine it was trained for, unless the caller
    brought their own model key. A trained LLM pipeline needs a model: without one it falls
    back to its local overrides when training kept some, else the job is a 400.
    """
    pipeline = options.pipeline or TrainedPipeline()
    if pipeline.engine == "local" and options.llm is None:
        return None
    model = resolve_model(options.llm)
    if model is None and pipeline.engine == "llm" and pipeline.local is None:
        raise BadRequest("This artifact was trained for an LLM and the server has no default "
                         "model: send llm_provider_model and llm_api_key with the extraction.",
                         code="llm_required")
    return model


def llm_guidance(options: ExtractOptions) -> Guidance | None:
    """A trained LLM pipeline's hints and few-shot examples, when the job has one."""
    pipeline = options.pipeline
    if pipeline is None or pipeline.engine != "llm":
        return None
    return Guidance.from_pipeline(pipeline.guidance_section())


def local_config(options: ExtractOptions) -> LocalConfig:
    """The local engine's knowledge, with a trained pipeline's overrides when the job has them."""
    overrides = options.pipeline.local if options.pipeline is not None else None
    return DEFAULT_CONFIG.merged(overrides) if overrides is not None else DEFAULT_CONFIG


def run_engine(document: Document, schema: dict[str, Any], model: LLMConfig | None,
               config: LocalConfig = DEFAULT_CONFIG, guidance: Guidance | None = None) -> Evidence:
    """Field evidence from one engine; values are coerced to the schema's types."""
    if model is None:
        return _typed(extract_local(document, inline_refs(schema), config), schema)
    values = answer_with_llm(document, schema, model, guidance).values
    return _model_evidence(document, schema, values)


def _model_evidence(document: Document, schema: dict[str, Any],
                    values: dict[str, Any]) -> Evidence:
    return _typed({name: ground(document, value) for name, value in values.items()}, schema)


def _typed(evidence: Evidence, schema: dict[str, Any]) -> Evidence:
    """Values coerced to the schema's types; fields left without a value dropped."""
    properties = inline_refs(schema).get("properties") or {}
    for name, item in evidence.items():
        item.value = coerce(item.value, properties.get(name) or {})
    return {name: item for name, item in evidence.items()
            if name in drop_nulls({name: item.value})}
