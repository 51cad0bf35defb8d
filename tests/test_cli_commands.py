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


def test_version_choices_and_every_extract_option(api: ApiServer, worker: Process, tmp_path: Path) -> None:
    from quarry_client import __version__

    tenant = make_tenant(credits=100)
    env = {"QUARRY_API_KEY": tenant.api_key, "QUARRY_BASE_URL": api.url}
    version = quarry("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"quarry-client {__version__}"
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(make_pdf(lines=INVOICE_LINES))
    bogus = quarry("extract", str(pdf), "--schema", '{"total": "number"}', "--mode", "quick", env=env)
    assert bogus.returncode == 2 and "fast" in bogus.stderr and "robust" in bogus.stderr
    out = tmp_path / "result.json"
    done = quarry("extract", str(pdf), "--schema", '{"total": "number"}', "--mode", "fast",
                  "--metadata", '{"ticket": "T-1"}', "--idempotency-key", "cli-key-1",
                  "--webhook-url", "http://127.0.0.1:9/hook", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == {"total": 1250.0} and done.stdout == ""
    again = as_json(quarry("--json", "extract", str(pdf), "--schema", '{"total": "number"}',
                           "--mode", "fast", "--metadata", '{"ticket": "T-1"}',
                           "--idempotency-key", "cli-key-1",
                           "--webhook-url", "http://127.0.0.1:9/hook", env=env))
    job = as_json(quarry("jobs", "get", again["job_id"], "--json", env=env))
    assert job["metadata"] == {"ticket": "T-1"}
    jobs = as_json(quarry("jobs", "--status", "succeeded", "--json", env=env))
    assert [j["job_id"] for j in jobs] == [again["job_id"]], "the same Idempotency-Key ran twice"
    md_out = tmp_path / "invoice.md"
    converted = quarry("markdown", str(pdf), "--mode", "fast", "--out", str(md_out), env=env)
    assert converted.returncode == 0 and "INV-2024-001" in md_out.read_text()
    assert quarry("markdown", str(pdf), "--mode", "robust", env=env).returncode == 2
    two_pages = tmp_path / "two.pdf"
    two_pages.write_bytes(make_pdf(lines=INVOICE_LINES, pages=2))
    selected = as_json(quarry("--json", "markdown", str(two_pages), "--pages", "2", "--ocr-lang", "en",
                              "--table-format", "html", env=env))
    assert selected["cost"]["pages"] == 1, "only the selected page is billed"
    bad_range = quarry("markdown", str(two_pages), "--pages", "3", env=env)
    assert bad_range.returncode == 1 and "page_range" in bad_range.stderr
    assert quarry("usage", "--group-by", "week", env=env).returncode == 2


def test_batches_jobs_webhooks_artifacts_and_upload_commands(
    api: ApiServer, worker: Process, tmp_path: Path
) -> None:
    tenant = make_tenant(credits=100)
    env = {"QUARRY_API_KEY": tenant.api_key, "QUARRY_BASE_URL": api.url}
    note = tmp_path / "note.txt"
    note.write_text("Hello from a text file.\n")
    uploaded = quarry("upload", str(note), env=env)
    assert uploaded.returncode == 0, uploaded.stderr
    file_uri = uploaded.stdout.strip()
    from quarry_client import Quarry

    with Quarry(tenant.api_key, api.url) as client:
        created = client.create_batch("inference.to_markdown", [{"file_uri": file_uri}] * 3)
    waited = as_json(quarry("batches", "wait", created.batch_id, "--json", env=env))
    assert waited["finished"] == 3 and waited["counts"]["succeeded"] == 3
    listed = as_json(quarry("batches", "--json", env=env))
    assert [b["batch_id"] for b in listed] == [created.batch_id]
    results = tmp_path / "results.jsonl"
    assert quarry("batches", "results", created.batch_id, "--out", str(results), env=env).returncode == 0
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["position"] for line in lines] == [0, 1, 2]
    assert all("Hello from a text file." in line["markdown"] for line in lines)
    waited_job = as_json(quarry("jobs", "wait", lines[0]["job_id"], "--json", env=env))
    assert waited_job["status"] == "succeeded"
    secret = as_json(quarry("webhooks", "secret", "--json", env=env))
    rotated = as_json(quarry("webhooks", "rotate", "--json", env=env))
    assert rotated["secret"] != secret["secret"] and rotated["previous_secret"] == secret["secret"]
    assert as_json(quarry("webhooks", "deliveries", lines[0]["job_id"], "--json", env=env)) == []
    assert as_json(quarry("artifacts", "--json", env=env)) == []
    missing = quarry("artifacts", "get", "art_missing", env=env)
    assert missing.returncode == 1 and "404" in missing.stderr
    assert quarry("training", "get", "trn_missing", env=env).returncode == 1


def test_the_sdk_needs_neither_typer_nor_rich(tmp_path: Path) -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "client" / "pyproject.toml").read_text())
    required = {dep.split(">")[0].split("=")[0].split("<")[0] for dep in project["project"]["dependencies"]}
    assert required == {"httpx", "pydantic"}
    extras = project["project"]["optional-dependencies"]
    assert {"typer", "rich"} <= {dep.split(">")[0] for dep in extras["cli"]}
    assert any(dep.startswith("mcp") for dep in extras["mcp"])
    # Block typer and rich as if they were not installed: the SDK still imports, the CLI explains.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('typer', 'rich', 'mcp'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    sdk = subprocess.run([sys.executable, "-c", "import quarry_client, quarry_client.calls; "
                          "print(quarry_client.Quarry.__name__)"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert sdk.returncode == 0 and sdk.stdout.strip() == "Quarry", sdk.stderr
    cli = subprocess.run([sys.executable, "-m", "quarry_client.cli", "me"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert cli.returncode == 1 and 'pip install "quarry-client[cli]"' in cli.stderr
