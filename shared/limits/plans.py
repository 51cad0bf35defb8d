"""Plans: named sets of limits a tenant is on (docs/plans.md). Pure values, no settings, so
`shared.settings` can type `QUARRY_PLANS` with them and check the default plan at start."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

MIB = 1024 * 1024
# The plan built from the older flat settings (QUARRY_RATE_*, QUARRY_MAX_UPLOAD_BYTES,
# QUARRY_FREE_PAGES_PER_MONTH): what every tenant had before plans existed.
STANDARD_PLAN = "standard"


@dataclass(frozen=True)
class Limit:
    """One GCRA bucket: a sustained rate and how many requests may come at once."""

    rate_per_s: float
    burst: int

    @property
    def per_minute(self) -> float:
        return self.rate_per_s * 60


class BucketRate(BaseModel):
    """A bucket in requests per minute. The burst defaults to a whole minute's worth, so
    "10 per minute" lets 10 through at once and then one every 6 seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_minute: float = Field(gt=0, le=6_000_000)
    burst: int | None = Field(default=None, ge=1, le=1_000_000)

    def limit(self) -> Limit:
        return Limit(self.per_minute / 60, self.burst or max(1, math.ceil(self.per_minute)))


class Plan(BaseModel):
    """What a tenant on this plan may do: heavy (job-creating) and general request rates,
    the largest file it may upload, and the pages it processes free each month."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heavy: BucketRate
    general: BucketRate
    max_upload_mb: float = Field(gt=0, le=1024 * 1024)
    free_pages_per_month: int = Field(default=0, ge=0)
    # One batch request creates many jobs for one heavy token: without a cap of its own, a
    # plan's jobs-per-minute would mean nothing. None: the deployment's `batch_max_items`.
    max_batch_items: int | None = Field(default=None, ge=1, le=1_000_000)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MIB)


# The second seed's tiers: 10 and 100 heavy requests a minute, 5 MB files on free.
BUILTIN_PLANS: dict[str, Plan] = {
    "free": Plan(heavy=BucketRate(per_minute=10), general=BucketRate(per_minute=300, burst=60),
                 max_upload_mb=5, free_pages_per_month=100, max_batch_items=10),
    "premium": Plan(heavy=BucketRate(per_minute=100),
                    general=BucketRate(per_minute=3000, burst=200),
                    max_upload_mb=50, free_pages_per_month=1000),
}
