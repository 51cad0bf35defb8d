"""The one way anything in the worker calls a language model (LiteLLM underneath).

`resolve_model` turns job options (BYOK, sealed) or the server default into an
`LLMConfig`; `complete_text` sends chat messages — text or image parts — and
returns the reply text with retries and provider errors mapped to Quarry errors.
"""

from worker.pipeline.llm.client import Completion, complete, complete_text, image_part, text_part
from worker.pipeline.llm.config import LLMConfig, resolve_model, server_default_model

__all__ = [
    "Completion", "LLMConfig", "complete", "complete_text", "image_part", "resolve_model",
    "server_default_model", "text_part",
]
