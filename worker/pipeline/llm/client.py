"""Chat completion through LiteLLM: messages (text and image parts) in, reply text out."""

from __future__ import annotations

import base64
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from shared.errors import BadRequest, UpstreamError
from shared.metrics import LLM_CALLS, LLM_TOKENS
from shared.net.outbound import GuardedTransport, deadline, outbound_client, trusting_host_of
from shared.settings import get_settings
from worker.pipeline.llm.chain import run_chain
from worker.pipeline.llm.config import LLMConfig
from worker.pipeline.llm.errors import (
    is_retryable,
    provider_reason,
    retry_after_s,
    to_quarry_error,
)

# Before LiteLLM is imported anywhere: its import would otherwise fetch a cost map over the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

log = logging.getLogger(__name__)
Message = dict[str, Any]
_MAX_BACKOFF_S = 30.0
PROVIDER_URL_FIELD = "The provider URL"
_import_lock = threading.Lock()


def text_part(text: str) -> dict[str, Any]:
    """A text content part for a multimodal message."""
    return {"type": "text", "text": text}


def image_part(data: bytes, mime: str = "image/png") -> dict[str, Any]:
    """An inline image content part (data URL) for vision models."""
    encoded = base64.b64encode(data).decode()
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{encoded}"}}


@dataclass(frozen=True)
class Completion:
    """A model's reply and which model (deployment) wrote it."""

    text: str
    model: str


def complete(config: LLMConfig, messages: list[Message],
             response_format: dict[str, Any] | None = None) -> Completion:
    """The reply and the model that answered (with a provider chain, possibly not the first).

    A server config walks its chain (AllProvidersFailed when every link failed). A BYOK
    config calls only the caller's model, and its failure is the caller's upstream error —
    unless the job opted in (`llm_fallback`): then the server chain gets the request next.
    Client mistakes (an unknown model, an endpoint the guard refuses) never fall back.
    """
    chain = config.chain
    if chain is None or config.byok:
        try:
            return Completion(text=complete_text(config, messages, response_format),
                              model=config.model)
        except UpstreamError as exc:
            if chain is None:
                raise
            log.warning("BYOK model %s failed (%s); trying the server's %s chain",
                        config.model, exc.code, chain.kind)
    assert chain is not None
    _litellm()  # the outbound guard is in place before the Router sends anything
    reply = run_chain(chain, messages, response_format=response_format,
                      max_tokens=config.max_tokens, temperature=config.temperature)
    provider = reply.model.split("/", 1)[0]
    LLM_CALLS.labels(provider, "ok").inc()
    _count_tokens(provider, reply.response)
    return Completion(text=reply.text, model=reply.model)


def complete_text(config: LLMConfig, messages: list[Message],
                  response_format: dict[str, Any] | None = None) -> str:
    """The model's reply to `messages`, retrying rate limits and 5xx per `config.num_retries`.
    Each attempt ends by `config.timeout_s` in total, however slowly the provider answers.

    Raises BadRequest (unknown model) or UpstreamError (everything the provider did wrong).
    """
    litellm = _litellm()
    check_model_name(config.model)
    kwargs = _request_kwargs(config, messages, response_format)
    attempt = 0
    while True:
        try:
            with (trusting_host_of(None if config.byok else config.api_base),
                  deadline(config.timeout_s)):
                response = litellm.completion(**kwargs)
            text = _reply_text(response, config)
            _count_call(config, "ok", response)
            return text
        except Exception as exc:  # noqa: BLE001 - every provider failure is mapped below
            if not _is_provider_error(exc, litellm):
                raise
            _count_call(config, "error", None)
            if is_retryable(exc) and attempt < config.num_retries:
                attempt += 1
                delay = _backoff(config, attempt, exc)
                log.warning("LLM call retry %d/%d in %.1fs: %s", attempt, config.num_retries,
                            delay, provider_reason(exc, config.secrets))
                time.sleep(delay)
                continue
            log.warning("LLM call failed (%s): %s", config.model,
                        provider_reason(exc, config.secrets))
            raise to_quarry_error(exc, model=config.model, api_base=config.api_base,
                                  secrets=config.secrets) from None


def check_model_name(model: str) -> None:
    """400 for a model name LiteLLM cannot route (no or unknown provider prefix)."""
    litellm = _litellm()
    try:
        litellm.get_llm_provider(model)
    except Exception as exc:  # noqa: BLE001 - LiteLLM raises several types for this
        raise BadRequest(
            f"Unknown model {model!r}: use a LiteLLM model name such as openai/gpt-4o-mini.",
            code="invalid_model") from exc


def supports_json_schema(model: str) -> bool:
    """Whether LiteLLM knows the model to accept `response_format` with a JSON Schema."""
    try:
        return bool(_litellm().supports_response_schema(model=model))
    except Exception:  # noqa: BLE001 - unknown models are simply "not known to support it"
        return False


def context_tokens(model: str) -> int | None:
    """The model's input context in tokens, when LiteLLM's (local) model map knows it."""
    try:
        value = _litellm().get_model_info(model).get("max_input_tokens")
    except Exception:  # noqa: BLE001 - unknown models simply have no known context
        return None
    return int(value) if value else None


def _request_kwargs(config: LLMConfig, messages: list[Message],
                    response_format: dict[str, Any] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": config.model, "messages": messages, "timeout": config.timeout_s,
        # Retries are ours (above), so that they honour the job's num_retries exactly.
        "num_retries": 0, "max_retries": 0,
    }
    optional = {"api_key": config.api_key, "api_base": config.api_base,
                "max_tokens": config.max_tokens, "temperature": config.temperature,
                "response_format": response_format}
    kwargs.update({name: value for name, value in optional.items() if value is not None})
    return kwargs


def _count_call(config: LLMConfig, outcome: str, response: Any) -> None:
    provider = config.model.split("/", 1)[0]
    LLM_CALLS.labels(provider, outcome).inc()
    _count_tokens(provider, response)


def _count_tokens(provider: str, response: Any) -> None:
    usage = getattr(response, "usage", None)
    for kind in ("prompt_tokens", "completion_tokens"):
        tokens = getattr(usage, kind, None)
        if isinstance(tokens, int) and tokens > 0:
            LLM_TOKENS.labels(provider, kind.removesuffix("_tokens")).inc(tokens)


def _reply_text(response: Any, config: LLMConfig) -> str:
    try:
        content = response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        content = None
    if not isinstance(content, str):
        raise UpstreamError(f"The LLM provider returned no message content ({config.model}).",
                            code="llm_provider_error")
    return content


def _backoff(config: LLMConfig, attempt: int, exc: Exception) -> float:
    hinted = retry_after_s(exc)
    if hinted is not None:
        return min(hinted, _MAX_BACKOFF_S)
    return min(float(config.retry_backoff_s * 2 ** (attempt - 1)), _MAX_BACKOFF_S)


def _is_provider_error(exc: Exception, litellm: Any) -> bool:
    import openai

    return isinstance(exc, (openai.OpenAIError, litellm.exceptions.APIError,
                            litellm.exceptions.BadRequestError))


def _litellm() -> Any:
    # Imported lazily: it costs seconds, and processes that never call a model should not pay it.
    with _import_lock:
        import litellm

        _configure(litellm)
    return litellm


@functools.cache
def _configure(litellm: Any) -> None:
    litellm.suppress_debug_info = True
    # The Router logs each failed link with the provider's own words at ERROR; the chain
    # logs one scrubbed line per failure instead (chain.py).
    logging.getLogger("LiteLLM Router").setLevel(logging.CRITICAL)
    litellm.drop_params = True
    _route_through_guard(litellm)


def _route_through_guard(litellm: Any) -> None:
    """Every provider request, and each redirect hop, connects only to a vetted address."""
    from litellm.llms.custom_httpx.http_handler import HTTPHandler

    timeout_s = get_settings().llm_timeout_s
    client = outbound_client(field=PROVIDER_URL_FIELD, timeout_s=timeout_s, follow_redirects=True)
    litellm.client_session = client  # the OpenAI SDK path: openai/, azure/, compatible bases
    litellm.sync_transport = GuardedTransport(  # LiteLLM's own handler
        field=PROVIDER_URL_FIELD, total_timeout_s=timeout_s)
    litellm.module_level_client = HTTPHandler(client=client)  # its helpers (image URL fetches)
