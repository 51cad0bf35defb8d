"""The LLM engine: schema-constrained extraction through LiteLLM with one repair round."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from shared.errors import AllProvidersFailed, QuarryError, UpstreamError
from shared.settings import get_settings
from worker.pipeline.document import Document
from worker.pipeline.extract.chunking import chunk_pages, chunk_text, merge_results
from worker.pipeline.extract.guidance import Guidance
from worker.pipeline.extract.validate import drop_nulls, validation_errors, without_required
from worker.pipeline.extract.values import coerce
from worker.pipeline.llm import LLMConfig, complete
from worker.pipeline.llm.client import context_tokens, supports_json_schema

SYSTEM_PROMPT = (
    "You extract structured data from documents. Answer with one JSON object that satisfies "
    "the given JSON Schema and nothing else. Use only values written in the document; leave a "
    "field out when the document does not give it. Numbers are plain JSON numbers (no currency "
    "signs or thousands separators), dates are ISO 8601 (YYYY-MM-DD), booleans are true/false."
)
log = logging.getLogger(__name__)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


@dataclass(frozen=True)
class ChunkResult:
    result: dict[str, Any]
    problems: list[str]
    models: tuple[str, ...] = ()
    """The model (deployment) that wrote each reply, in order."""


@dataclass(frozen=True)
class LLMAnswer:
    """The model's values for a document, who answered, and the pages no chunk answered for."""

    values: dict[str, Any]
    models: list[str] = field(default_factory=list)
    missing_pages: list[int] = field(default_factory=list)
    """Page numbers whose chunk a provider's rate limit kept unfinished within the time budget."""


def extract_with_llm(document: Document, schema: dict[str, Any], config: LLMConfig,
                     guidance: Guidance | None = None) -> dict[str, Any]:
    """The model's result for the whole document (see `answer_with_llm`)."""
    return answer_with_llm(document, schema, config, guidance).values


def answer_with_llm(document: Document, schema: dict[str, Any], config: LLMConfig,
                    guidance: Guidance | None = None) -> LLMAnswer:
    """The model's result for the whole document, chunked by pages when it is long.

    `guidance` (a trained LLM pipeline's hints and few-shot examples) goes into every call.
    Chunks a rate limit stopped are retried while the time budget lasts (`ChunkRetries`);
    when some still have no answer the others' values are kept and their pages listed as
    missing. When no chunk answered at all, the last rate-limit error is raised.
    """
    settings = get_settings()
    chunk_tokens = _chunk_budget(config, settings.llm_chunk_tokens)
    chunks = chunk_pages(document, chunk_tokens)
    if len(chunks) == 1:
        reply = extract_chunk(config, schema, chunk_text(chunks[0], chunk_tokens), guidance)
        return LLMAnswer(reply.result, list(dict.fromkeys(reply.models)))
    # Each range may lack fields the whole document has: `required` is checked after merging.
    relaxed = without_required(schema)
    results = ChunkRetries.from_settings().run(
        len(chunks), lambda index: extract_chunk(
            config, relaxed, chunk_text(chunks[index], chunk_tokens), guidance),
        workers=settings.llm_max_parallel_chunks)
    parts = [(r.result, Document(pages=pages, file_type=document.file_type))
             for r, pages in zip(results, chunks, strict=True) if r is not None]
    models = [m for r in results if r is not None for m in r.models]
    missing = [page.number for r, pages in zip(results, chunks, strict=True) if r is None
               for page in pages]
    return LLMAnswer(merge_results(parts, schema), list(dict.fromkeys(models)), missing)


@dataclass
class ChunkRetries:
    """Runs every chunk, then again those a rate limit stopped, until the budget is spent.

    The wait between rounds doubles from `backoff_s`, and is at least the providers'
    Retry-After (or cooldown) hint; a round never starts when its wait would end past the
    deadline.
    """

    budget_s: float
    backoff_s: float

    @classmethod
    def from_settings(cls) -> ChunkRetries:
        settings = get_settings()
        # Never past the job's soft time limit: the job must still write its partial result.
        ceiling = settings.job_soft_time_limit_s - settings.routing_time_margin_s
        return cls(budget_s=max(0.0, min(settings.routing_chunk_retry_budget_s, ceiling)),
                   backoff_s=settings.routing_chunk_retry_backoff_s)

    def run(self, count: int, call: Callable[[int], ChunkResult],
            workers: int) -> list[ChunkResult | None]:
        deadline = time.monotonic() + self.budget_s
        results: list[ChunkResult | None] = [None] * count
        pending = list(range(count))
        attempt = 0
        while True:
            limited = self._round(pending, call, results, workers)
            pending = [index for index in pending if results[index] is None]
            if not pending:
                return results
            attempt += 1
            wait = max(_hinted_wait(limited) or 0.0, self.backoff_s * 2 ** (attempt - 1))
            if all(r is None for r in results) and time.monotonic() + wait > deadline:
                raise limited[-1]  # nothing to keep: the job fails (or the local engine answers)
            if time.monotonic() + wait > deadline:
                log.warning("LLM chunks %s still rate-limited: the result is partial", pending)
                return results
            log.warning("LLM chunks %s rate-limited: retrying in %.1fs", pending, wait)
            time.sleep(wait)

    @staticmethod
    def _round(pending: list[int], call: Callable[[int], ChunkResult],
               results: list[ChunkResult | None], workers: int) -> list[QuarryError]:
        """One pass over `pending`; the rate-limit errors met (any other error is raised)."""
        limited: list[QuarryError] = []
        size = max(1, min(workers, len(pending)))
        with ThreadPoolExecutor(max_workers=size, thread_name_prefix="llm-chunk") as pool:
            futures = {index: pool.submit(call, index) for index in pending}
            for index, future in futures.items():
                try:
                    results[index] = future.result()
                except QuarryError as exc:
                    if not is_rate_limited(exc):
                        raise
                    limited.append(exc)
        return limited


def is_rate_limited(exc: BaseException) -> bool:
    """A failure that may pass with time: a provider chain out of capacity, or one model's 429."""
    if isinstance(exc, AllProvidersFailed):
        return exc.rate_limited
    return isinstance(exc, UpstreamError) and exc.extra.get("code") == "llm_rate_limited"


def _hinted_wait(errors: list[QuarryError]) -> float | None:
    hints = [e.retry_after_s for e in errors
             if isinstance(e, AllProvidersFailed) and e.retry_after_s is not None]
    return max(hints) if hints else None


def extract_chunk(config: LLMConfig, schema: dict[str, Any], text: str,
                  guidance: Guidance | None = None) -> ChunkResult:
    """One call, and one repair call showing the model what was wrong with its answer."""
    structured = supports_json_schema(config.model)
    messages = _messages(_user_prompt(text, schema, structured), guidance)
    response_format = _response_format(schema, structured)
    reply = complete(config, messages, response_format)
    result, problems = _read_reply(reply.text, schema)
    if not problems:
        return ChunkResult(result, [], (reply.model,))
    messages += [{"role": "assistant", "content": reply.text},
                 {"role": "user", "content": _repair_prompt(problems, schema)}]
    repair = complete(config, messages, response_format)
    repaired, still = _read_reply(repair.text, schema)
    if repaired or not result:
        return ChunkResult(repaired, still, (reply.model, repair.model))
    return ChunkResult(result, still, (reply.model,))


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
