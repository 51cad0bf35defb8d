"""Per-tenant signing secrets: read, rotate, and the list that signs right now."""

from __future__ import annotations

import base64
import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.settings import get_settings
from shared.tenants.models import Tenant
from shared.tenants.service import get_tenant
from shared.webhooks.models import WebhookSecretRotation

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class SecretState:
    secret: str
    previous_secret: str | None
    previous_valid_until: datetime | None


def current_secrets(session: Session, tenant_id: str) -> SecretState:
    """The tenant's secret (created on first use) and, during an overlap, the previous one."""
    tenant = get_tenant(session, tenant_id)
    if not tenant.webhook_secret:
        tenant.webhook_secret = new_secret()
        session.flush()
    rotation = session.get(WebhookSecretRotation, tenant_id)
    if tenant.webhook_secret_previous and rotation and rotation.previous_valid_until > utcnow():
        return SecretState(tenant.webhook_secret, tenant.webhook_secret_previous,
                           rotation.previous_valid_until)
    return SecretState(tenant.webhook_secret, None, None)


def signing_secrets(session: Session, tenant_id: str) -> list[str]:
    """Every secret that signs now: the current one, plus the previous during an overlap."""
    state = current_secrets(session, tenant_id)
    return [state.secret] + ([state.previous_secret] if state.previous_secret else [])


def rotate_secret(session: Session, tenant_id: str) -> SecretState:
    """A new secret signs from now on; the old one keeps signing for the overlap window."""
    tenant: Tenant = get_tenant(session, tenant_id)
    now = utcnow()
    until = now + timedelta(seconds=get_settings().webhook_secret_overlap_s)
    tenant.webhook_secret_previous = tenant.webhook_secret
    tenant.webhook_secret = new_secret()
    rotation = session.get(WebhookSecretRotation, tenant_id)
    if rotation is None:
        session.add(WebhookSecretRotation(tenant_id=tenant_id, rotated_at=now,
                                          previous_valid_until=until))
    else:
        rotation.rotated_at, rotation.previous_valid_until = now, until
    session.flush()
    return current_secrets(session, tenant_id)
