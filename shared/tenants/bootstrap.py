"""First-start setup for a stack: a dev tenant with credits, a tenant key and an admin key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from shared.billing.ledger import top_up
from shared.db.session import transaction
from shared.tenants.service import authenticate, create_tenant, find_tenant_by_name, issue_key


@dataclass(frozen=True)
class DevKeys:
    api_key: str
    admin_key: str
    tenant_id: str


def ensure_dev_keys(keys_file: Path, *, tenant_name: str, credits: int) -> DevKeys:
    """Create the dev tenant and its keys once; later starts read them back from `keys_file`."""
    if keys_file.exists():
        saved = DevKeys(**json.loads(keys_file.read_text()))
        if _still_valid(saved):
            return saved
    with transaction() as session:
        tenant = find_tenant_by_name(session, tenant_name) or create_tenant(session, name=tenant_name)
        top_up(session, tenant_id=tenant.id, amount=credits, reason="dev starting credits",
               entry_key=f"topup:{tenant.id}:dev-start")
        api_key = issue_key(session, tenant_id=tenant.id, name="dev").plain
        admin_key = issue_key(session, tenant_id=tenant.id, name="dev-admin", is_admin=True).plain
        keys = DevKeys(api_key=api_key, admin_key=admin_key, tenant_id=tenant.id)
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps(keys.__dict__))
    keys_file.chmod(0o600)
    return keys


def _still_valid(keys: DevKeys) -> bool:
    try:
        with transaction() as session:
            authenticate(session, keys.api_key)
            authenticate(session, keys.admin_key)
        return True
    except Exception:  # the database was reset: make new keys
        return False
