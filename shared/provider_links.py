"""One link of a server-side provider chain, as operators write it (`QUARRY_LLM_CHAIN`).

Settings hold these typed, so nonsense fails when settings load, not at the first job.
Keys are never in the JSON: a link names the environment variable that holds its key.
"""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ProviderLink(BaseModel):
    """A LiteLLM deployment: model, endpoint, key variable and its own budgets and timeout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=3, max_length=200)
    """A LiteLLM model name with its provider prefix (`openai/gpt-4o-mini`)."""
    api_base: str | None = Field(default=None, max_length=2000)
    api_key_env: str | None = None
    """The environment variable holding this link's key (none: the provider needs none)."""
    rpm: int | None = Field(default=None, gt=0)
    """Requests per minute this deployment may take, across all workers."""
    tpm: int | None = Field(default=None, gt=0)
    """Tokens per minute this deployment may take, across all workers."""
    timeout_s: float | None = Field(default=None, gt=0, le=3600)
    """One request's time limit; none: `llm_timeout_s`."""

    @field_validator("model")
    @classmethod
    def _provider_prefixed(cls, value: str) -> str:
        value = value.strip()
        if "/" not in value or value.startswith("/") or value.endswith("/"):
            raise ValueError(f"model {value!r} needs a provider prefix, e.g. openai/gpt-4o-mini")
        return value

    @field_validator("api_base")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"api_base {value!r} must be an http(s) URL")
        return value or None

    @field_validator("api_key_env")
    @classmethod
    def _set_variable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _ENV_NAME.match(value):
            raise ValueError(f"api_key_env {value!r} is not an environment variable name")
        if not os.environ.get(value):
            raise ValueError(f"api_key_env names {value}, which is not set in the environment")
        return value

    def api_key(self) -> str | None:
        """The key, read from the environment now (never stored in settings or logged)."""
        return os.environ.get(self.api_key_env) or None if self.api_key_env else None
