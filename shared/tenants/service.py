"""What tenants and keys do: create, issue, authenticate, revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.contract.paging import DEFAULT_LIMIT, Slice, keyset_page
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.ids import new_id
from shared.limits.effective import EffectiveLimits, effective_limits, require_plan
from shared.tenants.models import ApiKey, Tenant

KEY_PREFIX = "qk_"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's tenant and whether the key is an admin key."""

    tenant_id: str
    key_id: str
    is_admin: bool
    rate_limits: dict[str, Any] | None = None
    plan: str | None = None

    @property
    def limits(self) -> EffectiveLimits:
        """The tenant's plan with its overrides on top, as of this key lookup."""
        return effective_limits(self.plan, self.rate_limits)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("This route needs an admin key.")

    def require_tenant(self, tenant_id: str) -> None:
        """A key acts on its own tenant; admin keys on any."""
        if tenant_id != self.tenant_id and not self.is_admin:
            raise Forbidden("This key may not act on that tenant.")


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plain: str


def hash_key(plain: str) -> str:
    # Keys are 192-bit random tokens, so a fast hash is enough; no password stretching needed.
    return hashlib.sha256(plain.encode()).hexdigest()


def create_tenant(session: Session, *, name: str) -> Tenant:
    tenant = Tenant(id=new_id("ten"), name=name, webhook_secret=_new_webhook_secret())
    session.add(tenant)
    session.flush()
    return tenant


def _new_webhook_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


def find_tenant_by_name(session: Session, name: str) -> Tenant | None:
    return session.scalars(select(Tenant).where(Tenant.name == name)).first()


def list_tenants(session: Session, *, limit: int = DEFAULT_LIMIT,
                 cursor: str | None = None) -> Slice[Tenant]:
    """Every tenant, newest first, a page at a time (operators only: callers check admin)."""
    return keyset_page(session, select(Tenant), created=Tenant.created_at, ident=Tenant.id,
                       limit=limit, cursor=cursor)


def issue_key(session: Session, *, tenant_id: str, name: str = "", is_admin: bool = False) -> IssuedKey:
    get_tenant(session, tenant_id)
    plain = KEY_PREFIX + secrets.token_urlsafe(24)
    key = ApiKey(
        id=new_id("key"),
        tenant_id=tenant_id,
        name=name,
        prefix=plain[:10],
        key_hash=hash_key(plain),
        is_admin=is_admin,
    )
    session.add(key)
    session.flush()
    return IssuedKey(key=key, plain=plain)


def authenticate(session: Session, plain: str | None) -> Caller:
    if not plain:
        raise Unauthorized()
    found = session.execute(
        select(ApiKey, Tenant.rate_limits, Tenant.plan)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.key_hash == hash_key(plain))
    ).first()
    if found is None or found[0].revoked_at is not None:
        raise Unauthorized()
    key, rate_limits, plan = found
    return Caller(tenant_id=key.tenant_id, key_id=key.id, is_admin=key.is_admin,
                  rate_limits=rate_limits, plan=plan)


def set_rate_limits(session: Session, *, tenant_id: str, limits: dict[str, Any]) -> Tenant:
    tenant = get_tenant(session, tenant_id)
    tenant.rate_limits = limits
    session.flush()
    return tenant


def set_plan(session: Session, *, tenant_id: str, plan: str) -> Tenant:
    """Put the tenant on `plan` (400 for an unknown one); its rate overrides stay on top."""
    tenant = get_tenant(session, tenant_id)
    tenant.plan = require_plan(plan)
    session.flush()
    return tenant


def tenant_limits(session: Session, tenant_id: str) -> EffectiveLimits:
    """The effective limits of a tenant known only by id (no key in hand)."""
    found = session.execute(select(Tenant.plan, Tenant.rate_limits)
                            .where(Tenant.id == tenant_id)).first()
    return effective_limits(found[0], found[1]) if found else effective_limits(None, None)


def list_keys(session: Session, tenant_id: str, *, limit: int = DEFAULT_LIMIT,
              cursor: str | None = None) -> Slice[ApiKey]:
    """Oldest first, a page at a time."""
    return keyset_page(session, select(ApiKey).where(ApiKey.tenant_id == tenant_id),
                       created=ApiKey.created_at, ident=ApiKey.id, limit=limit, cursor=cursor,
                       newest_first=False)


def revoke_key(session: Session, *, key_id: str, caller: Caller) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or (key.tenant_id != caller.tenant_id and not caller.is_admin):
        raise NotFound("API key not found.")
    if key.is_admin and not caller.is_admin:
        raise Forbidden("Only an admin key may revoke an admin key.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    session.flush()
    return key
