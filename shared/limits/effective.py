"""A tenant's effective limits: its plan (or the default plan), with the tenant's own rate
overrides on top. Rate limiting, upload size checks and free pages all read them here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import BadRequest
from shared.limits.plans import BUILTIN_PLANS, STANDARD_PLAN, BucketRate, Limit, Plan
from shared.settings import Settings, get_settings

BUCKETS = ("heavy", "general")


@dataclass(frozen=True)
class EffectiveLimits:
    plan: str
    heavy: Limit
    general: Limit
    max_upload_bytes: int
    free_pages_per_month: int
    max_batch_items: int

    def bucket(self, name: str) -> Limit:
        return self.heavy if name == "heavy" else self.general


def standard_plan(settings: Settings) -> Plan:
    """The flat settings as a plan, so deployments that never named plans keep their limits."""
    return Plan(
        heavy=BucketRate(per_minute=settings.rate_heavy_per_s * 60, burst=settings.rate_heavy_burst),
        general=BucketRate(per_minute=settings.rate_general_per_s * 60,
                           burst=settings.rate_general_burst),
        max_upload_mb=settings.max_upload_bytes / (1024 * 1024),
        free_pages_per_month=settings.free_pages_per_month,
    )


def all_plans() -> dict[str, Plan]:
    """Every plan by name: the built-ins, then the operator's `QUARRY_PLANS` over them."""
    settings = get_settings()
    return {STANDARD_PLAN: standard_plan(settings), **BUILTIN_PLANS, **settings.plans}


def require_plan(name: str) -> str:
    """`name` if it is a plan, else 400 listing the plans there are."""
    known = all_plans()
    if name not in known:
        raise BadRequest(f"Unknown plan {name!r}; the plans are: {', '.join(sorted(known))}.")
    return name


def plan_name(plan: str | None) -> str:
    """The tenant's plan; the default plan for none, or for one an operator since removed."""
    settings = get_settings()
    return plan if plan and plan in all_plans() else settings.default_plan


def effective_limits(plan: str | None, overrides: dict[str, Any] | None) -> EffectiveLimits:
    name = plan_name(plan)
    chosen = all_plans()[name]
    heavy, general = (_with_override(getattr(chosen, b).limit(), (overrides or {}).get(b))
                      for b in BUCKETS)
    ceiling = get_settings().batch_max_items
    return EffectiveLimits(plan=name, heavy=heavy, general=general,
                           max_upload_bytes=chosen.max_upload_bytes,
                           free_pages_per_month=chosen.free_pages_per_month,
                           max_batch_items=min(chosen.max_batch_items or ceiling, ceiling))


def upload_ceiling() -> int:
    """The largest upload any plan allows: the edge's cap before it knows the caller."""
    return max(plan.max_upload_bytes for plan in all_plans().values())


def _with_override(limit: Limit, custom: dict[str, Any] | None) -> Limit:
    # Overrides are stored per second (`PUT .../rate-limits`), field by field.
    custom = custom or {}
    return Limit(float(custom.get("rate", limit.rate_per_s)), int(custom.get("burst", limit.burst)))
