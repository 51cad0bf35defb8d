"""Extraction engines: document + JSON Schema → values with evidence.

`extract_document` is the single entry the pipeline calls. It picks the engine
(BYOK model, else the server's default model, else the local engine; a trained pipeline
can pin the local engine or bring LLM guidance, see `choose_engine`), validates the
result against the schema, grounds each value in the document and, in robust mode,
cross-checks against the second (all-OCR) reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.errors import BadRequest, SchemaValidationFailed
from shared.extraction.schema import inline_refs
from shared.jobs.options import ExtractOptions, TrainedPipeline
from worker.pipeline.document import Document
from worker.pipeline.extract.config import DEFAULT_CONFIG, LocalConfig
from worker.pipeline.extract.crosscheck import check_against_candidates, cross_check
from worker.pipeline.extract.evidence import Evidence
from worker.pipeline.extract.grounding import ground
from worker.pipeline.extract.guidance import Guidance
from worker.pipeline.extract.llm_engine import extract_with_llm
from worker.pipeline.extract.local import candidate_evidence, extract_local
from worker.pipeline.extract.payload import build_payload
from worker.pipeline.extract.validate import drop_nulls, validation_errors
from worker.pipeline.extract.values import coerce
from worker.pipeline.llm import LLMConfig, resolve_model

__all__ = ["ExtractionOutcome", "Guidance", "LocalConfig", "choose_engine", "extract_document",
           "llm_guidance", "run_engine"]


@dataclass(frozen=True)
class ExtractionOutcome:
    """The API's extract payload (`result`, `fields`, `confidence`, …) and whether it is partial."""

    payload: dict[str, Any]
    partial: bool = False
    notes: list[str] = field(default_factory=list)


def extract_document(
    document: Document, options: ExtractOptions, alternate: Document | None = None
) -> ExtractionOutcome:
    """Extract per `options.schema_`; `alternate` (robust mode) is the all-OCR reading to cross-check."""
    schema = options.schema_
    if not schema:
        raise BadRequest("This extraction has no schema.", code="invalid_schema")
    model = choose_engine(options)
    config = local_config(options)
    evidence = run_engine(document, schema, model, config, llm_guidance(options) if model else None)
    disputes = None
    if alternate is not None:
        other = extract_local(alternate, inline_refs(schema), config) if model is None else None
        disputes = []
        if model is not None:
            # The LLM's answer against the local engine's own evidence on the page it read.
            own = candidate_evidence(document, inline_refs(schema), config)
            disputes += check_against_candidates(evidence, own)
        disputes += cross_check(evidence, other, alternate)
    result = {name: item.value for name, item in evidence.items()}
    errors = validation_errors(result, schema)
    if errors and not options.allow_partial:
        raise SchemaValidationFailed(validation_errors=errors)
    engine = f"llm:{model.model}" if model else "local"
    payload = build_payload(document=document, schema=schema, result=result, evidence=evidence,
                            errors=errors, mode=options.mode, engine=engine, disputes=disputes)
    return ExtractionOutcome(payload=payload, partial=bool(errors))


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
    plain = inline_refs(schema)
    if model is None:
        evidence = extract_local(document, plain, config)
    else:
        values = extract_with_llm(document, schema, model, guidance)
        evidence = {name: ground(document, value) for name, value in values.items()}
    properties = plain.get("properties") or {}
    for name, item in evidence.items():
        item.value = coerce(item.value, properties.get(name) or {})
    return {name: item for name, item in evidence.items()
            if name in drop_nulls({name: item.value})}
