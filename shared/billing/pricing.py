"""Credits per page by operation and mode; BYOK calls pay a reduced rate."""

from __future__ import annotations

from typing import Any

from shared.jobs.states import Operation

EXTRACT_RATES = {"fast": 1, "standard": 3, "robust": 6}
MARKDOWN_RATES = {"fast": 1, "default": 2}
BYOK_RATE_PERCENT = 50


def pricing_mode(operation: str, options: dict[str, Any]) -> str:
    if operation == Operation.TO_MARKDOWN:
        return str(options.get("conversion_mode") or "default")
    return str(options.get("mode") or "standard")


def credits_for(operation: str, options: dict[str, Any], pages: int) -> int:
    """What a job with `pages` pages costs; BYOK halves the rate, rounding up."""
    rates = MARKDOWN_RATES if operation == Operation.TO_MARKDOWN else EXTRACT_RATES
    per_page = rates.get(pricing_mode(operation, options), max(rates.values()))
    total = per_page * max(pages, 1)
    if options.get("byok"):
        total = -(-total * BYOK_RATE_PERCENT // 100)
    return total
