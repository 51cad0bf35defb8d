"""Server-side provider chains through LiteLLM's `Router` (docs/providers.md).

Each link is its own Router model group, and the first group falls back to the others in
order, so the Router does the work: retries with backoff inside a link, fallback to the
next link on errors, timeouts and 429s, per-deployment cooldowns, and `rpm`/`tpm` budgets
checked before a call (`usage-based-routing-v2`). Cooldowns, failure counts and usage live
in Quarry's Redis, so every worker process skips a resting link, not only the one that saw
it fail. One Router per chain per process, built on first use.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.errors import AllProvidersFailed
from shared.net.outbound import deadline, trusting_host_of

log = logging.getLogger(__name__)
ChainKind = Literal["llm", "ocr"]
# Each link's failure in the chain call now running, in order (the Router itself re-raises
# the first link's error, whatever happened after it).
_failures: contextvars.ContextVar[list[Exception] | None] = contextvars.ContextVar(
    "chain_failures", default=None)


@dataclass(frozen=True)
class ChainLink:
    """One deployment, its key read from the environment. Never log `api_key`."""

    model: str
    api_key: str | None = field(default=None, repr=False)
    api_base: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    timeout_s: float = 60.0


@dataclass(frozen=True)
class ProviderChain:
    """An ordered chain of operator-configured links and how the Router treats them."""

    kind: ChainKind
    links: tuple[ChainLink, ...]
    num_retries: int = 2
    cooldown_s: float = 60.0
    allowed_fails: int = 3
    redis_url: str = ""

    @property
    def secrets(self) -> list[str]:
        return [link.api_key for link in self.links if link.api_key]

    def deployment_id(self, index: int) -> str:
        """Stable across processes (Redis keys are named by it), distinct per chain and link."""
        link = self.links[index]
        digest = hashlib.sha256(f"{link.model}|{link.api_base or ''}".encode()).hexdigest()[:10]
        return f"quarry-{self.kind}-{index}-{digest}"

    def model_of(self, deployment_id: str | None) -> str:
        """The link's model name for a Router deployment id (the first link when unknown)."""
        for index, link in enumerate(self.links):
            if self.deployment_id(index) == deployment_id:
                return link.model
        return self.links[0].model


@dataclass(frozen=True)
class ChainReply:
    text: str
    model: str
    response: Any


def run_chain(chain: ProviderChain, messages: list[dict[str, Any]], *,
              response_format: dict[str, Any] | None = None, max_tokens: int | None = None,
              temperature: float | None = None) -> ChainReply:
    """The first link that answers, in order; AllProvidersFailed when none did.

    Every request still goes through the outbound guard: the links' own hosts are
    trusted (the operator configured them), a redirect elsewhere is not. The whole
    walk ends by the sum of the links' time limits over all their tries.
    """
    router = _router(chain)
    kwargs: dict[str, Any] = {"model": _group(0), "messages": messages}
    optional = {"response_format": response_format, "max_tokens": max_tokens,
                "temperature": temperature}
    kwargs.update({name: value for name, value in optional.items() if value is not None})
    budget = sum(link.timeout_s for link in chain.links) * (chain.num_retries + 1) + 30.0
    failures: list[Exception] = []
    token = _failures.set(failures)
    try:
        with ExitStack() as stack:
            for link in chain.links:
                stack.enter_context(trusting_host_of(link.api_base))
            stack.enter_context(deadline(budget))
            response = router.completion(**kwargs)
    except Exception as exc:  # noqa: BLE001 - whatever the links raised, the chain failed
        raise _all_failed(chain, failures[-1] if failures else exc) from None
    finally:
        _failures.reset(token)
    deployment = (getattr(response, "_hidden_params", None) or {}).get("model_id")
    content = _content(response)
    if content is None:
        raise AllProvidersFailed()
    return ChainReply(text=content, model=chain.model_of(deployment), response=response)


def _group(index: int) -> str:
    return f"link-{index}"


def _content(response: Any) -> str | None:
    try:
        content = response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _all_failed(chain: ProviderChain, exc: Exception) -> AllProvidersFailed:
    """The chain's failure from its last attempt's error: `rate_limited` when the last link
    tried was rate-limited, over its budget or resting, so that waiting can help (the
    earlier links were tried, or skipped while resting, already)."""
    from litellm.exceptions import RateLimitError
    from litellm.types.router import RouterRateLimitError

    from worker.pipeline.llm.errors import provider_reason, retry_after_s

    rate_limited = isinstance(exc, (RateLimitError, RouterRateLimitError))
    hint = retry_after_s(exc)
    if isinstance(exc, RouterRateLimitError):
        hint = float(exc.cooldown_time)
    log.warning("every %s chain link failed (%d links; rate limited: %s): %s", chain.kind,
                len(chain.links), rate_limited, provider_reason(exc, chain.secrets))
    return AllProvidersFailed(rate_limited=rate_limited,
                              retry_after_s=hint if rate_limited else None)


@functools.cache
def _router(chain: ProviderChain) -> Any:
    from litellm.router import Router
    from litellm.types.router import AllowedFailsPolicy

    class RecordingRouter(Router):
        """Records each attempt's error: choosing the deployment (cooldowns, rpm/tpm
        budgets) and the provider call both happen inside `_completion`."""

        def _completion(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super()._completion(*args, **kwargs)
            except Exception as exc:
                recorded = _failures.get()
                if recorded is not None:
                    recorded.append(exc)
                raise

    model_list = []
    for index, link in enumerate(chain.links):
        params: dict[str, Any] = {"model": link.model, "timeout": link.timeout_s}
        optional = {"api_key": link.api_key, "api_base": link.api_base, "rpm": link.rpm,
                    "tpm": link.tpm}
        params.update({name: value for name, value in optional.items() if value is not None})
        model_list.append({"model_name": _group(index), "litellm_params": params,
                           "model_info": {"id": chain.deployment_id(index)}})
    rest = [_group(index) for index in range(1, len(chain.links))]
    return RecordingRouter(
        model_list=model_list,
        fallbacks=[{_group(0): rest}] if rest else [],
        max_fallbacks=max(len(rest), 1),
        num_retries=chain.num_retries,
        cooldown_time=chain.cooldown_s,
        allowed_fails=chain.allowed_fails,
        # A 429 rests its link at once (the Router otherwise never rests a model group of
        # one deployment on a 429, and each link here is its own group).
        allowed_fails_policy=AllowedFailsPolicy(RateLimitErrorAllowedFails=0),
        routing_strategy="usage-based-routing-v2",
        redis_url=chain.redis_url or None,
    )
