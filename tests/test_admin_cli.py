"""The operator CLI creates tenants and keys that the API then accepts."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.stack import ApiServer


def run_cli(env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_cli_tenant_key_top_up_and_revoke(base_env: dict[str, str], api: ApiServer) -> None:
    created = run_cli(base_env, "create-tenant", "cli-co", "--credits", "25")
    key = str(created["api_key"])
    with api.client(key) as client:
        assert client.get("/v1/me").json()["credits_balance"] == 25
    topped = run_cli(base_env, "top-up", str(created["tenant_id"]), "75")
    assert topped["credits_balance"] == 100
    limited = run_cli(base_env, "set-rate-limits", str(created["tenant_id"]),
                      "--general-rate", "1", "--general-burst", "1")
    assert limited["rate_limits"] == {"general": {"rate": 1.0, "burst": 1}}
    with api.client(key) as client:
        assert [client.get("/v1/jobs").status_code for _ in range(2)] == [200, 429]
    run_cli(base_env, "revoke-key", str(created["key_id"]))
    with api.client(key) as client:
        assert client.get("/v1/me").status_code == 401
