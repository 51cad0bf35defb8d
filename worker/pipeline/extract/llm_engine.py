"""The LLM engine: schema-constrained extraction through LiteLLM with one repair round."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from shared.settings import get_settings
from worker.pipeline.document import Document
from worker.pipeline.extract.chunking import chunk_pages, chunk_text, merge_results
from worker.pipeline.extract.guidance import Guidance
from worker.pipeline.extract.validate import drop_nulls, validation_errors, without_required
from worker.pipeline.extract.values import coerce
from worker.pipeline.llm import LLMConfig, complete_text
from worker.pipeline.llm.client import context_tokens, supports_json_schema

SYSTEM_PROMPT = (
    "You extract structured data from documents. Answer with one JSON object that satisfies "
    "the given JSON Schema and nothing else. Use only values written in the document; leave a "
    "field out when the document does not give it. Numbers are plain JSON numbers (no currency "
    "signs or thousands separators), dates are ISO 8601 (YYYY-MM-DD), booleans are true/false."
)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


@dataclass(frozen=True)
class ChunkResult:
    result: dict[str, Any]
    problems: list[str]


def extract_with_llm(document: Document, schema: dict[str, Any], config: LLMConfig,
                     guidance: Guidance | None = None) -> dict[str, Any]:
    """The model's result for the whole document, chunked by pages when it is long.

    `guidance` (a trained LLM pipeline's hints and few-shot examples) goes into every call.
    """
    settings = get_settings()
    chunk_tokens = _chunk_budget(config, settings.llm_chunk_tokens)
    chunks = chunk_pages(document, chunk_tokens)
    if len(chunks) == 1:
        return extract_chunk(config, schema, chunk_text(chunks[0], chunk_tokens), guidance).result
    # Each range may lack fields the whole document has: `required` is checked after merging.
    relaxed = without_required(schema)
    workers = max(1, min(settings.llm_max_parallel_chunks, len(chunks)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm-chunk") as pool:
        results = list(pool.map(
            lambda pages: extract_chunk(config, relaxed, chunk_text(pages, chunk_tokens), guidance),
            chunks))
    parts = [(r.result, Document(pages=pages, file_type=document.file_type))
             for r, pages in zip(results, chunks, strict=True)]
    return merge_results(parts, schema)


def extract_chunk(config: LLMConfig, schema: dict[str, Any], text: str,
                  guidance: Guidance | None = None) -> ChunkResult:
    """One call, and one repair call showing the model what was wrong with its answer."""
    structured = supports_json_schema(config.model)
    messages = _messages(_user_prompt(text, schema, structured), guidance)
    response_format = _response_format(schema, structured)
    reply = complete_text(config, messages, response_format)
    result, problems = _read_reply(reply, schema)
    if not problems:
        return ChunkResult(result, [])
    messages += [{"role": "assistant", "content": reply},
                 {"role": "user", "content": _repair_prompt(problems, schema)}]
    reply = complete_text(config, messages, response_format)
    repaired, still = _read_reply(reply, schema)
    return ChunkResult(repaired if repaired or not result else result, still)


def _messages(user_prompt: str, guidance: Guidance | None) -> list[dict[str, Any]]:
    """System prompt (+ learned hints), few-shot turns if any, then the document."""
    system = SYSTEM_PROMPT
    if guidance and guidance.system_addition():
        system += "\n\n" + guidance.system_addition()
    examples = guidance.example_messages() if guidance else []
    return [{"role": "system", "content": system}, *examples,
            {"role": "user", "content": user_prompt}]


def _chunk_budget(config: LLMConfig, configured: int) -> int:
    context = context_tokens(config.model) or 0
    # Leave room for the instructions, the schema and the answer.
    return min(configured, context - 4000) if context > 8000 else configured


def _user_prompt(text: str, schema: dict[str, Any], structured: bool) -> str:
    parts = []
    if not structured:
        parts.append("JSON Schema of the answer:\n" + json.dumps(schema, ensure_ascii=False))
    parts.append("Document:\n" + text)
    return "\n\n".join(parts)


def _response_format(schema: dict[str, Any], structured: bool) -> dict[str, Any]:
    if structured:
        return {"type": "json_schema",
                "json_schema": {"name": "extraction", "schema": schema, "strict": False}}
    return {"type": "json_object"}


def _repair_prompt(problems: list[str], schema: dict[str, Any]) -> str:
    listed = "\n".join(f"- {p}" for p in problems[:20])
    return (f"Your answer has problems:\n{listed}\n\nReply again with only the corrected JSON "
            f"object for this schema:\n{json.dumps(schema, ensure_ascii=False)}")


def _read_reply(reply: str, schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    text = _FENCE.sub("", reply.strip())
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        found = _outermost_object(text)
        if found is None:
            return {}, [f"the reply is not valid JSON ({exc.msg} at position {exc.pos})"]
        parsed = found
    if not isinstance(parsed, dict):
        return {}, ["the reply must be a JSON object, not " + type(parsed).__name__]
    result = drop_nulls(coerce(parsed, schema))
    return result, validation_errors(result, schema)


def _outermost_object(text: str) -> Any:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return None
