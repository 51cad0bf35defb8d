"""Which model a job uses, and with what credentials: BYOK options or the server's chain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shared.errors import BadRequest
from shared.jobs.options import SealedModel
from shared.provider_links import ProviderLink
from shared.sealing import unseal
from shared.settings import Settings, get_settings
from worker.pipeline.llm.chain import ChainKind, ChainLink, ProviderChain


@dataclass(frozen=True)
class LLMConfig:
    """Everything one model call needs. `api_key` is plain text: never log or store it."""

    model: str
    api_key: str | None = field(default=None, repr=False)
    api_base: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    num_retries: int = 2
    timeout_s: float = 60.0
    retry_backoff_s: float = 1.0
    byok: bool = False
    chain: ProviderChain | None = None
    """The server's provider chain: answers instead of this one model (the server's own
    config is the chain's first link), or after it fails for a BYOK job that opted in."""

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in an error shown to a client."""
        return [self.api_key] if self.api_key else []


def resolve_model(section: SealedModel | Mapping[str, Any] | None,
                  kind: ChainKind = "llm") -> LLMConfig | None:
    """The model for one job channel (`JobOptions.llm` or `.ocr`), else the server's chain
    of that kind. A BYOK section that opted in (`fallback`) carries the server chain too.

    A channel is only present when the client sent a non-empty key (see
    `ModelConfig.to_options`); None means no model at all — the local engine runs. The
    vision reader still hands over the section as a mapping (`JobOptions.vision_model`,
    the converters' `ocr_model`): it is read into the same typed section here.
    """
    if isinstance(section, Mapping):
        section = SealedModel.model_validate(section) if section else None
    if section is not None:
        config = _byok_model(section)
        return replace(config, chain=server_chain(kind)) if section.fallback else config
    return server_default_model(kind)


def server_default_model(kind: ChainKind = "llm") -> LLMConfig | None:
    """The server's chain as a config (its first link's model, key and endpoint), or None
    when the server has none (no `llm_chain` and `llm_default_model=""`; no `ocr_chain`)."""
    settings = get_settings()
    chain = server_chain(kind)
    if chain is None:
        return None
    first = chain.links[0]
    return LLMConfig(
        model=first.model, api_key=first.api_key, api_base=first.api_base,
        num_retries=settings.llm_num_retries, timeout_s=first.timeout_s,
        retry_backoff_s=settings.llm_retry_backoff_s, chain=chain,
    )


def server_chain(kind: ChainKind = "llm") -> ProviderChain | None:
    """The operator's chain of `kind`: `llm_chain` (else `llm_default_model` as one link) or
    `ocr_chain`; None when it has no link."""
    settings = get_settings()
    if kind == "ocr":
        links = tuple(_link(settings, link) for link in settings.ocr_chain)
    elif settings.llm_chain:
        links = tuple(_link(settings, link) for link in settings.llm_chain)
    elif settings.llm_default_model.strip():
        links = (ChainLink(model=settings.llm_default_model.strip(),
                           api_key=settings.llm_default_api_key or None,
                           api_base=settings.llm_default_api_base or None,
                           timeout_s=settings.llm_timeout_s),)
    else:
        links = ()
    if not links:
        return None
    return ProviderChain(kind=kind, links=links, num_retries=settings.llm_num_retries,
                         cooldown_s=settings.llm_cooldown_s,
                         allowed_fails=settings.llm_allowed_fails, redis_url=settings.redis_url)


def _link(settings: Settings, link: ProviderLink) -> ChainLink:
    return ChainLink(model=link.model, api_key=link.api_key(), api_base=link.api_base,
                     rpm=link.rpm, tpm=link.tpm, timeout_s=link.timeout_s or settings.llm_timeout_s)


def _byok_model(section: SealedModel) -> LLMConfig:
    settings = get_settings()
    model = (section.provider_model or settings.llm_default_model or "").strip()
    if not model:
        raise BadRequest("llm_provider_model is required with llm_api_key (e.g. openai/gpt-4o-mini).",
                         code="invalid_model")
    sealed = section.api_key_sealed
    api_key = unseal(sealed) if sealed else None
    if sealed and api_key is None:
        # Sealed under a rotated server secret: the job cannot recover the key.
        raise BadRequest("The provider API key sent with this job can no longer be read; resend it.")
    retries = section.num_retries
    return LLMConfig(
        model=model, api_key=api_key, api_base=section.api_base or None,
        max_tokens=section.max_tokens, temperature=section.temperature,
        num_retries=settings.llm_num_retries if retries is None else retries,
        timeout_s=settings.llm_timeout_s, retry_backoff_s=settings.llm_retry_backoff_s,
        byok=True,
    )
