"""`quarry` single commands against the real stack; key and URL from flags, env or config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, Process


def quarry(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    return subprocess.run([sys.executable, "-m", "quarry_client.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**clean, **(env or {})})


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_extract_markdown_jobs_balance_usage(api: ApiServer, worker: Process, tmp_path: Path) -> None:
    tenant = make_tenant(credits=100)
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(make_pdf(lines=INVOICE_LINES))
    schema = tmp_path / "schema.json"
    schema.write_text('{"invoice_number": "string", "total": "number"}')
    env = {"QUARRY_API_KEY": tenant.api_key, "QUARRY_URL": api.url}
    extracted = as_json(quarry("extract", str(pdf), "--schema", str(schema), env=env))
    assert extracted == {"invoice_number": "INV-2024-001", "total": 1250.0}
    full = as_json(quarry("--json", "extract", str(pdf), "--schema", '{"total": "number"}',
                          "--mode", "fast", env=env))
    assert full["result"] == {"total": 1250.0} and full["cost"]["credits_used"] == 1
    markdown = quarry("markdown", str(pdf), env=env)
    assert markdown.returncode == 0 and "INV-2024-001" in markdown.stdout
    jobs = as_json(quarry("jobs", "--json", env=env))
    assert len(jobs) == 3 and {job["status"] for job in jobs} == {"succeeded"}
    balance = as_json(quarry("balance", "--json", env=env))
    assert balance["credits_balance"] == 100 - 3 - 1 - 2
    usage = as_json(quarry("usage", "--group-by", "operation", "--json", env=env))
    assert usage["totals"]["credits"] == 6


def test_key_and_url_from_flags_env_and_config_file(api: ApiServer, tmp_path: Path) -> None:
    tenant, other = make_tenant(), make_tenant()
    config = tmp_path / "config.toml"
    config.write_text(f'api_key = "{tenant.api_key}"\nurl = "{api.url}"\n')
    from_file = as_json(quarry("me", "--json", env={"QUARRY_CONFIG": str(config)}))
    assert from_file["tenant_id"] == tenant.tenant_id
    env_wins = as_json(quarry("me", "--json", env={"QUARRY_CONFIG": str(config),
                                                  "QUARRY_API_KEY": other.api_key}))
    assert env_wins["tenant_id"] == other.tenant_id
    flag_wins = as_json(quarry("--api-key", tenant.api_key, "me", "--json",
                               env={"QUARRY_CONFIG": str(config), "QUARRY_API_KEY": other.api_key}))
    assert flag_wins["tenant_id"] == tenant.tenant_id
    refused = quarry("--api-key", "bad", "--url", api.url, "me")
    assert refused.returncode == 1 and "401" in refused.stderr


def test_admin_commands(api: ApiServer, tmp_path: Path) -> None:
    admin = make_tenant(is_admin=True)
    env = {"QUARRY_API_KEY": admin.api_key, "QUARRY_URL": api.url}
    tenant = as_json(quarry("--json", "admin", "create-tenant", "cli-tenant", "--credits", "7", env=env))
    key = as_json(quarry("--json", "admin", "issue-key", tenant["tenant_id"], "--name", "ci", env=env))
    topped = as_json(quarry("--json", "admin", "top-up", tenant["tenant_id"], "3", env=env))
    assert topped["credits_balance"] == 10
    limits = as_json(quarry("--json", "admin", "set-limits", tenant["tenant_id"], "--heavy-rate", "2",
                            "--heavy-burst", "4", env=env))
    assert limits["rate_limits"]["heavy"] == {"rate": 2.0, "burst": 4}
    own = as_json(quarry("--api-key", key["api_key"], "--url", api.url, "--json", "me"))
    assert own["tenant_id"] == tenant["tenant_id"] and own["credits_balance"] == 10
    as_json(quarry("--json", "admin", "revoke-key", key["key_id"], env=env))
    assert quarry("--api-key", key["api_key"], "--url", api.url, "me").returncode == 1
