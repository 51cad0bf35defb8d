"""`quarry-admin`: operator commands run against the database directly (no API key needed)."""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import Annotated

import typer

from shared.billing.ledger import balance, top_up
from shared.db.migrate import upgrade_database
from shared.db.session import transaction
from shared.errors import QuarryError
from shared.limits.effective import all_plans
from shared.settings import get_settings
from shared.tenants import service

app = typer.Typer(help="Operate a Quarry deployment: migrations, tenants, keys, credits.",
                  no_args_is_help=True)


def _emit(payload: dict[str, object]) -> None:
    print(json.dumps(payload, indent=2))


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    upgrade_database()
    _emit({"status": "migrated"})


@app.command("create-tenant")
def create_tenant(name: str, credits: Annotated[int, typer.Option(min=0)] = 0,
                  plan: str | None = None) -> None:
    """Create a tenant, optionally with starting credits and a plan, and issue its first key."""
    with transaction() as session:
        tenant = service.create_tenant(session, name=name)
        if plan is not None:
            service.set_plan(session, tenant_id=tenant.id, plan=plan)
        if credits:
            top_up(session, tenant_id=tenant.id, amount=credits, reason="initial credits",
                   entry_key=f"topup:{tenant.id}:initial")
        issued = service.issue_key(session, tenant_id=tenant.id, name="default")
        _emit({"tenant_id": tenant.id, "name": name, "credits_balance": credits,
               "key_id": issued.key.id, "api_key": issued.plain})


@app.command("issue-key")
def issue_key(tenant_id: str, name: str = "", admin: bool = False) -> None:
    """Issue an API key for a tenant (shown once)."""
    with transaction() as session:
        issued = service.issue_key(session, tenant_id=tenant_id, name=name, is_admin=admin)
        _emit({"key_id": issued.key.id, "api_key": issued.plain, "is_admin": admin})


@app.command("revoke-key")
def revoke_key(key_id: str) -> None:
    """Revoke an API key."""
    operator = service.Caller(tenant_id="", key_id="", is_admin=True)
    with transaction() as session:
        key = service.revoke_key(session, key_id=key_id, caller=operator)
        _emit({"key_id": key.id, "revoked": True})


@app.command("top-up")
def add_credits(tenant_id: str, amount: int, reason: str = "operator top-up") -> None:
    """Add (or, with a negative amount, remove) credits; a balance never goes below zero."""
    with transaction() as session:
        service.get_tenant(session, tenant_id)
        new_balance = top_up(session, tenant_id=tenant_id, amount=amount, reason=reason,
                             entry_key=f"topup:{tenant_id}:{uuid.uuid4().hex}")
        _emit({"tenant_id": tenant_id, "credits_balance": new_balance})


@app.command("set-rate-limits")
def set_rate_limits(
    tenant_id: str,
    heavy_rate: Annotated[float | None, typer.Option(min=0.001)] = None,
    heavy_burst: Annotated[int | None, typer.Option(min=1)] = None,
    general_rate: Annotated[float | None, typer.Option(min=0.001)] = None,
    general_burst: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Override a tenant's rate limits (requests/s and burst per bucket)."""
    limits: dict[str, dict[str, float]] = {}
    for bucket, rate, burst in (("heavy", heavy_rate, heavy_burst),
                                ("general", general_rate, general_burst)):
        if rate is not None or burst is not None:
            limits[bucket] = {k: v for k, v in (("rate", rate), ("burst", burst)) if v is not None}
    with transaction() as session:
        tenant = service.set_rate_limits(session, tenant_id=tenant_id, limits=limits)
        _emit({"tenant_id": tenant.id, "rate_limits": tenant.rate_limits})


@app.command("set-plan")
def set_plan(tenant_id: str, plan: str) -> None:
    """Put a tenant on a plan (free, premium, standard, or one from QUARRY_PLANS)."""
    with transaction() as session:
        tenant = service.set_plan(session, tenant_id=tenant_id, plan=plan)
        _emit({"tenant_id": tenant.id, "plan": tenant.plan, "rate_limits": tenant.rate_limits})


@app.command("plans")
def list_plans() -> None:
    """The plans this deployment knows, and which one tenants without a plan are on."""
    plans = {name: plan.model_dump(exclude_none=True) for name, plan in all_plans().items()}
    _emit({"default_plan": get_settings().default_plan, "plans": plans})


@app.command("balance")
def show_balance(tenant_id: str) -> None:
    """Show a tenant's credit balance."""
    with transaction() as session:
        service.get_tenant(session, tenant_id)
        _emit({"tenant_id": tenant_id, "credits_balance": balance(session, tenant_id)})


def _use_local_stack_database() -> None:
    """With no database configured, talk to the embedded one `make up` keeps in the data
    directory (started if needed, left running on exit)."""
    from pathlib import Path

    from stack.embedded import EmbeddedPostgres

    settings = get_settings()
    pgdata = Path(settings.data_dir) / "postgres"
    if settings.database_url or not (pgdata / "PG_VERSION").exists():
        return
    url = EmbeddedPostgres(pgdata, stop_at_exit=False).database_url("quarry")
    os.environ["QUARRY_DATABASE_URL"] = url
    get_settings.cache_clear()


def main() -> None:
    _use_local_stack_database()
    try:
        app()
    except QuarryError as exc:
        # A refused operation (an unknown tenant, a debit beyond the balance) is an answer,
        # not a crash: its `{"detail", "code"}` on stderr and exit status 1.
        print(json.dumps(exc.to_body()), file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
