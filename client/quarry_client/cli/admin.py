"""`quarry admin …`: tenants, keys, credits and rate limits (needs an admin key)."""

from __future__ import annotations

from typing import Annotated

import typer

from quarry_client.cli.output import emit, state

admin_app = typer.Typer(help="Operator commands (admin API key).", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@admin_app.command("create-tenant")
def create_tenant(ctx: typer.Context, name: str,
                  credits: Annotated[int, typer.Option(min=0)] = 0, as_json: JsonFlag = False) -> None:
    """Create a tenant, optionally with starting credits."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.admin_create_tenant(name, credits=credits))


@admin_app.command("issue-key")
def issue_key(ctx: typer.Context, tenant_id: str, name: str = "",
              admin: Annotated[bool, typer.Option("--admin")] = False, as_json: JsonFlag = False) -> None:
    """Issue an API key for a tenant (the key is shown once)."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.admin_issue_key(tenant_id, name=name, is_admin=admin))


@admin_app.command("revoke-key")
def revoke_key(ctx: typer.Context, key_id: str, as_json: JsonFlag = False) -> None:
    """Revoke any API key."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.admin_revoke_key(key_id))


@admin_app.command("top-up")
def top_up(ctx: typer.Context, tenant_id: str, amount: int, reason: str = "cli top-up",
           as_json: JsonFlag = False) -> None:
    """Add (or, negative, remove) credits."""
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.admin_top_up(tenant_id, amount, reason=reason))


@admin_app.command("set-limits")
def set_limits(
    ctx: typer.Context, tenant_id: str,
    heavy_rate: Annotated[float | None, typer.Option(help="heavy requests per second")] = None,
    heavy_burst: Annotated[int | None, typer.Option()] = None,
    general_rate: Annotated[float | None, typer.Option(help="other requests per second")] = None,
    general_burst: Annotated[int | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """Override a tenant's rate limits (rate and burst go together)."""
    heavy = _bucket("heavy", heavy_rate, heavy_burst)
    general = _bucket("general", general_rate, general_burst)
    if not heavy and not general:
        raise typer.BadParameter("give --heavy-rate/--heavy-burst and/or --general-rate/--general-burst")
    cli = state(ctx, as_json)
    with cli.client() as quarry:
        emit(cli, quarry.admin_set_rate_limits(tenant_id, heavy=heavy, general=general))


def _bucket(name: str, rate: float | None, burst: int | None) -> dict[str, float] | None:
    if rate is None and burst is None:
        return None
    if rate is None or burst is None:
        raise typer.BadParameter(f"--{name}-rate and --{name}-burst go together")
    return {"rate": rate, "burst": burst}
