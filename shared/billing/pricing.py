"""Credits per page by operation and mode; BYOK calls pay a reduced rate. Rates live in settings."""

from __future__ import annotations

from typing import Any

from shared.jobs.states import Operation
from shared.settings import get_settings


def pricing_mode(operation: str, options: dict[str, Any]) -> str:
    if operation == Operation.TO_MARKDOWN:
        return str(options.get("conversion_mode") or "default")
    return str(options.get("mode") or "standard")


def price_per_page(operation: str, mode: str) -> int:
    settings = get_settings()
    if operation == Operation.TO_MARKDOWN:
        return settings.price_markdown_fast if mode == "fast" else settings.price_markdown_default
    return {"fast": settings.price_extract_fast, "robust": settings.price_extract_robust}.get(
        mode, settings.price_extract_standard
    )


def credits_for(operation: str, options: dict[str, Any], pages: int) -> int:
    """What a job of `pages` pages costs; BYOK pays `byok_rate_percent`, rounded up."""
    total = price_per_page(operation, pricing_mode(operation, options)) * max(pages, 1)
    if options.get("byok"):
        total = -(-total * get_settings().byok_rate_percent // 100)
    return total


TRAINING = "training"
"""The ledger's `operation` for a training job's charge."""


def training_credits(mode: str, options: dict[str, Any], pages: int) -> int:
    """A training job reads and extracts every page of its examples: priced as extraction in
    its mode (BYOK rate when the request brought its own model key)."""
    byok = bool((options.get("llm") or {}).get("api_key_sealed"))
    return credits_for(Operation.EXTRACT, {"mode": mode, "byok": byok}, pages)
