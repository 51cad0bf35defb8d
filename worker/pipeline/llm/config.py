"""Which model a job uses, and with what credentials: BYOK options or the server default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import BadRequest
from shared.jobs.options import SealedModel
from shared.sealing import unseal
from shared.settings import get_settings


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

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in an error shown to a client."""
        return [self.api_key] if self.api_key else []


def resolve_model(section: SealedModel | Mapping[str, Any] | None) -> LLMConfig | None:
    """The model for one job channel (`JobOptions.llm` or `.ocr`), else the server's.

    A channel is only present when the client sent a non-empty key (see
    `ModelConfig.to_options`); None means no model at all — the local engine runs. The
    vision reader still hands over the section as a mapping (`JobOptions.vision_model`,
    the converters' `ocr_model`): it is read into the same typed section here.
    """
    if isinstance(section, Mapping):
        section = SealedModel.model_validate(section) if section else None
    if section is not None:
        return _byok_model(section)
    return server_default_model()


def server_default_model() -> LLMConfig | None:
    """The operator's configured model, or None when the server has none (`llm_default_model=""`)."""
    settings = get_settings()
    if not settings.llm_default_model.strip():
        return None
    return LLMConfig(
        model=settings.llm_default_model.strip(),
        api_key=settings.llm_default_api_key or None,
        api_base=settings.llm_default_api_base or None,
        num_retries=settings.llm_num_retries,
        timeout_s=settings.llm_timeout_s,
        retry_backoff_s=settings.llm_retry_backoff_s,
    )


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
