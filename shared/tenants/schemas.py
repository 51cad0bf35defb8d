"""Pydantic shapes for tenant, key and credit administration."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from shared.contract.base import RequestBody
from shared.contract.resources import PlanLimitsOut
from shared.jobs.schemas import printable

# Balances and ledger amounts are 32-bit integers in the database.
MAX_CREDITS = 2**31 - 1
Name = Annotated[str, AfterValidator(printable)]


class MeOut(BaseModel):
    tenant_id: str
    key_id: str
    is_admin: bool
    credits_balance: int
    plan: str
    limits: PlanLimitsOut


class PlanIn(RequestBody):
    plan: str = Field(min_length=1, max_length=64)


class TenantCreate(RequestBody):
    name: Name = Field(min_length=1, max_length=200)
    credits: int = Field(default=0, ge=0, le=MAX_CREDITS)


class TenantOut(BaseModel):
    tenant_id: str
    name: str
    credits_balance: int


class KeyCreate(RequestBody):
    name: Name = Field(default="", max_length=200)
    is_admin: bool = False


class KeyIssued(BaseModel):
    key_id: str
    api_key: str
    tenant_id: str
    name: str
    prefix: str
    is_admin: bool


class KeyOut(BaseModel):
    key_id: str
    name: str
    prefix: str
    is_admin: bool
    created_at: str | None
    revoked_at: str | None


class CreditTopUp(RequestBody):
    amount: int = Field(ge=-MAX_CREDITS, le=MAX_CREDITS)
    reason: Name = Field(default="", max_length=500)


class BalanceOut(BaseModel):
    tenant_id: str
    credits_balance: int


class BucketLimit(RequestBody):
    rate: float = Field(gt=0, le=100_000)
    burst: int = Field(ge=1, le=1_000_000)


class RateLimitsIn(RequestBody):
    heavy: BucketLimit | None = None
    general: BucketLimit | None = None
