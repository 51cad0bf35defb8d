"""`quarry batch` as a user runs it (a subprocess) against the real stack.

By default the files go up in parallel and run as one server batch (`/v1/batches`, the bulk
queue); `--interactive` sends one job per file instead. 500 files complete with one line
each; a SIGINT mid-run leaves whole lines and a re-run follows the same batch to the end
without processing or charging any file twice; a tenant held to a low rate limit still gets
every file through.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from quarry_client import Quarry

from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process

SCHEMA = {"invoice_number": "string", "total": "number"}


def make_folder(root: Path, count: int) -> Path:
    """`count` distinct one-page invoices spread over sub-folders, plus files the glob skips."""
    for index in range(count):
        folder = root / f"part-{index % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"Invoice Number: INV-{index:05d}", f"Total: ${index}.00"]
        (folder / f"invoice-{index:05d}.pdf").write_bytes(make_pdf(lines=lines))
    (root / "notes.txt").write_text("not a pdf")
    (root / ".hidden.pdf").write_bytes(make_pdf())
    return root


def batch_command(api: ApiServer, key: str, folder: Path, out: Path, *extra: str) -> list[str]:
    schema = folder.parent / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    return [sys.executable, "-m", "quarry_client.cli", "--api-key", key, "--url", api.url, "batch",
            str(folder), "--schema", str(schema), "--mode", "fast", "--glob", "*.pdf",
            "--out", str(out), "--no-progress", "--json", *extra]


def read_lines(out: Path) -> list[dict[str, Any]]:
    text = out.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "the output ends in a torn line"
    return [json.loads(line) for line in text.splitlines()]


def all_jobs(api: ApiServer, key: str) -> list[dict[str, Any]]:
    with Quarry(key, api.url) as quarry:
        return [job.raw for job in quarry.iter_jobs()]


@pytest.fixture(scope="module")
def folder_500(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("batch") / "docs", 500)


def test_500_files_interrupted_and_resumed_process_each_file_once(
    api: ApiServer, worker: Process, folder_500: Path, tmp_path: Path
) -> None:
    tenant = make_tenant(credits=10_000)
    out = tmp_path / "results.jsonl"
    command = batch_command(api, tenant.api_key, folder_500, out, "--concurrency", "8")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 120):
        assert first.poll() is None, first.communicate()
        time.sleep(0.1)
    first.send_signal(signal.SIGINT)
    _, errors = first.communicate(timeout=60)
    assert first.returncode == 130, errors
    assert "run the same command again to resume" in errors
    interrupted = read_lines(out)
    assert 120 <= len(interrupted) < 500
    assert len({line["path"] for line in interrupted}) == len(interrupted)

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["skipped"] == len(interrupted) and summary["failed"] == 0
    lines = read_lines(out)
    paths = Counter(line["path"] for line in lines)
    assert len(lines) == 500 and len(paths) == 500 and max(paths.values()) == 1
    assert all(line["status"] == "ok" for line in lines)
    sample = next(line for line in lines if line["path"] == "part-2/invoice-00007.pdf")
    assert sample["result"] == {"invoice_number": "INV-00007", "total": 7.0}
    assert "notes.txt" not in paths and ".hidden.pdf" not in paths

    jobs = all_jobs(api, tenant.api_key)
    assert len(jobs) == 500, "a file was processed twice"
    with Quarry(tenant.api_key, api.url) as quarry:
        batches = list(quarry.iter_batches())
    assert [b.total for b in batches] == [500], "the re-run created another batch"
    assert {job["metadata"]["path"] for job in jobs} == set(paths)
    with Quarry(tenant.api_key, api.url) as quarry:
        balance = quarry.balance()
    assert (balance.credits_balance, balance.credits_held) == (10_000 - 500, 0)

    third = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert json.loads(third.stdout)["skipped"] == 500 and len(all_jobs(api, tenant.api_key)) == 500


def rate_limited(api: ApiServer, route: str) -> float:
    metrics = httpx.get(f"{api.url}/metrics", timeout=10).text
    route_label = r'(?=[^}]*"' + re.escape(route) + r'")'
    pattern = re.compile(r'^\S*requests_total\{' + route_label + r'(?=[^}]*"429")[^}]*\}\s+(\S+)$',
                         re.MULTILINE)
    return sum(float(value) for value in pattern.findall(metrics))


def test_interactive_batch_rides_out_429s_from_a_low_rate_limit(
    api: ApiServer, worker: Process, tmp_path: Path
) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant(credits=1_000)
    with Quarry(admin.api_key, api.url) as operator:
        operator.admin_set_rate_limits(tenant.tenant_id, heavy={"rate": 4, "burst": 1})
    folder = make_folder(tmp_path / "docs", 24)
    out = tmp_path / "limited.jsonl"
    before = rate_limited(api, "/v1/extract")
    started = time.monotonic()
    done = subprocess.run(batch_command(api, tenant.api_key, folder, out, "--concurrency", "8",
                                        "--interactive"),
                          capture_output=True, text=True, timeout=180)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    lines = read_lines(out)
    assert len(lines) == 24 and all(line["status"] == "ok" for line in lines)
    assert rate_limited(api, "/v1/extract") > before, "the server never pushed back"
    assert elapsed >= 23 / 4 * 0.9  # the limit held: ~4 files/s at most
    assert len(all_jobs(api, tenant.api_key)) == 24
    with Quarry(tenant.api_key, api.url) as quarry:
        assert list(quarry.iter_batches()) == [], "--interactive used /v1/batches"


def test_bulk_uploads_ride_out_429s_and_submit_one_batch(
    api: ApiServer, worker: Process, tmp_path: Path
) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant(credits=1_000)
    with Quarry(admin.api_key, api.url) as operator:
        operator.admin_set_rate_limits(tenant.tenant_id, general={"rate": 8, "burst": 2})
    folder = make_folder(tmp_path / "docs", 24)
    out = tmp_path / "limited.jsonl"
    before = rate_limited(api, "/v1/uploads/presign")
    done = subprocess.run(batch_command(api, tenant.api_key, folder, out, "--concurrency", "8"),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = read_lines(out)
    assert len(lines) == 24 and all(line["status"] == "ok" for line in lines)
    assert rate_limited(api, "/v1/uploads/presign") > before, "the server never pushed back"
    with Quarry(tenant.api_key, api.url) as quarry:
        batches = list(quarry.iter_batches())
        jobs = list(quarry.iter_jobs())
        balance = quarry.balance()
    assert [(b.total, b.counts.get("succeeded")) for b in batches] == [(24, 24)]
    assert len(jobs) == 24 and balance.credits_balance == 1_000 - 24


def test_bulk_batch_short_of_credits_charges_nothing_and_resumes_after_top_up(
    api: ApiServer, worker: Process, tmp_path: Path
) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant(credits=5)
    folder = make_folder(tmp_path / "docs", 12)
    out = tmp_path / "broke.jsonl"
    command = batch_command(api, tenant.api_key, folder, out, "--concurrency", "4")
    broke = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert broke.returncode == 1 and "insufficient_credits" in broke.stdout
    assert read_lines(out) == []  # the batch is refused as a whole: nothing ran
    environment = {**os.environ, "QUARRY_API_KEY": admin.api_key, "QUARRY_BASE_URL": api.url}
    top_up = [sys.executable, "-m", "quarry_client.cli", "--json", "admin", "top-up", tenant.tenant_id, "20"]
    topped = subprocess.run(top_up, capture_output=True, text=True, timeout=60, env=environment)
    assert json.loads(topped.stdout)["credits_balance"] == 25, topped.stderr
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_lines(out)) == 12 and len(all_jobs(api, tenant.api_key)) == 12
    with Quarry(tenant.api_key, api.url) as quarry:
        assert quarry.balance().credits_balance == 25 - 12


def test_interactive_batch_stops_cleanly_when_credits_run_out_and_resumes_after_top_up(
    api: ApiServer, worker: Process, tmp_path: Path
) -> None:
    admin, tenant = make_tenant(is_admin=True), make_tenant(credits=5)
    folder = make_folder(tmp_path / "docs", 12)
    out = tmp_path / "broke.jsonl"
    command = batch_command(api, tenant.api_key, folder, out, "--concurrency", "2", "--interactive")
    broke = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert broke.returncode == 1 and "insufficient_credits" in broke.stdout
    assert 0 < len(read_lines(out)) <= 5
    environment = {**os.environ, "QUARRY_API_KEY": admin.api_key, "QUARRY_URL": api.url}
    top_up = [sys.executable, "-m", "quarry_client.cli", "--json", "admin", "top-up", tenant.tenant_id, "20"]
    topped = subprocess.run(top_up, capture_output=True, text=True, timeout=60, env=environment)
    assert json.loads(topped.stdout)["credits_balance"] == 20 + 5 - len(read_lines(out)), topped.stderr
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_lines(out)) == 12 and len(all_jobs(api, tenant.api_key)) == 12


def test_bulk_markdown_batch_writes_markdown_lines(api: ApiServer, worker: Process, tmp_path: Path) -> None:
    tenant = make_tenant(credits=100)
    folder = tmp_path / "notes"
    folder.mkdir()
    for index in range(3):
        (folder / f"note-{index}.txt").write_text(f"# Note {index}\n\nBody of note {index}.\n")
    out = tmp_path / "notes.jsonl"
    command = [sys.executable, "-m", "quarry_client.cli", "--api-key", tenant.api_key, "--base-url",
               api.url, "batch", str(folder), "--mode", "fast", "--metadata", '{"run": "r1"}',
               "--out", str(out), "--no-progress", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = sorted(read_lines(out), key=lambda line: line["path"])
    assert [line["path"] for line in lines] == ["note-0.txt", "note-1.txt", "note-2.txt"]
    assert all(f"Body of note {i}." in line["markdown"] for i, line in enumerate(lines))
    jobs = all_jobs(api, tenant.api_key)
    assert {job["operation"] for job in jobs} == {"inference.to_markdown"}
    assert all(job["metadata"]["run"] == "r1" for job in jobs)
    wrong = subprocess.run([*command[:9], "--mode", "robust", *command[11:]], capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 2 and "not a mode for this operation" in wrong.stderr
