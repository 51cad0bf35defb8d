"""`quarry mcp` as an agent uses it: an MCP client calls its tools over stdio and over
streamable HTTP, and the tools run real jobs on the real stack."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.factories import INVOICE_LINES, make_pdf, make_tenant
from tests.stack import ApiServer, Process

SCHEMA = {"invoice_number": "string", "total": "number"}


def _env(api: ApiServer, key: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    return {**clean, "QUARRY_API_KEY": key, "QUARRY_BASE_URL": api.url}


def _structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    if isinstance(result.structured_content, dict):
        data = result.structured_content
        return data.get("result", data) if set(data) == {"result"} else data
    return json.loads(result.content[0].text)  # type: ignore[no-any-return]


async def _exercise(client: Client, pdf: Path, encoded: str) -> dict[str, Any]:
    tools = {tool.name for tool in (await client.list_tools()).tools}
    extracted = _structured(await client.call_tool(
        "extract", {"schema": SCHEMA, "file_path": str(pdf), "mode": "fast"}))
    markdown = _structured(await client.call_tool(
        "to_markdown", {"file_base64": encoded, "file_name": "invoice.pdf"}))
    status = _structured(await client.call_tool("job_status", {"job_id": extracted["job_id"]}))
    usage = _structured(await client.call_tool("usage", {"group_by": "operation"}))
    missing = await client.call_tool("job_status", {"job_id": "job_doesnotexist"})
    bad = await client.call_tool("extract", {"schema": SCHEMA})
    return {"tools": tools, "extracted": extracted, "markdown": markdown, "status": status,
            "usage": usage, "missing": missing, "bad": bad}


def _check(seen: dict[str, Any]) -> None:
    assert {"extract", "to_markdown", "job_status", "usage"} <= seen["tools"]
    extracted = seen["extracted"]
    assert extracted["done"] and extracted["data"] == {"invoice_number": "INV-2024-001", "total": 1250.0}
    assert "INV-2024-001" in seen["markdown"]["markdown"]
    assert seen["status"]["done"] and seen["status"]["status"] == "succeeded"
    assert seen["status"]["result"] == extracted["data"]
    assert seen["usage"]["totals"]["credits"] == 1 + 2  # fast extract + markdown, one page each
    assert seen["missing"].is_error and "404" in seen["missing"].content[0].text
    assert seen["bad"].is_error and "file_path" in seen["bad"].content[0].text


def test_mcp_tools_over_stdio(api: ApiServer, worker: Process, tmp_path: Path) -> None:
    tenant = make_tenant(credits=100)
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(make_pdf(lines=INVOICE_LINES))
    params = StdioServerParameters(command=sys.executable, args=["-m", "quarry_client.cli", "mcp"],
                                   env=_env(api, tenant.api_key))

    async def run() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            return await _exercise(client, pdf, base64.b64encode(pdf.read_bytes()).decode())

    _check(asyncio.run(run()))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _http_server(api: ApiServer, key: str, *options: str) -> Iterator[str]:
    """`quarry mcp --transport http` with these options, until it answers; its URL."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "quarry_client.cli", "mcp", "--transport", "http", "--port", str(port),
         *options], env=_env(api, key), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the MCP server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _refusal(result: Any) -> str:
    assert result.is_error, result.content
    text: str = result.content[0].text
    return text


def test_mcp_tools_over_streamable_http(api: ApiServer, worker: Process, tmp_path: Path) -> None:
    tenant = make_tenant(credits=100)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    pdf = allowed / "invoice.pdf"
    pdf.write_bytes(make_pdf(lines=INVOICE_LINES))
    # Outside the allowed directory: a secret, reachable by `..` and by a symlink inside it.
    secret = tmp_path / "secret-key"
    secret.write_text("do-not-read")
    (allowed / "link-out").symlink_to(secret)
    (allowed / "docs-link").symlink_to(tmp_path)

    async def run(url: str) -> tuple[dict[str, Any], list[str]]:
        async with Client(url, read_timeout_seconds=120) as client:
            seen = await _exercise(client, pdf, base64.b64encode(pdf.read_bytes()).decode())
            refusals = [_refusal(await client.call_tool("to_markdown", {"file_path": path}))
                        for path in ("/etc/passwd", str(secret), f"{allowed}/../secret-key",
                                     str(allowed / "link-out"), str(allowed / "docs-link" / "secret-key"))]
            return seen, refusals

    with _http_server(api, tenant.api_key, "--allow-dir", str(allowed)) as url:
        seen, refusals = asyncio.run(run(url))
    _check(seen)  # file_path inside the allowed directory works
    for text in refusals:
        assert "must be inside an allowed directory" in text, text
        assert "do-not-read" not in text and "root:" not in text


def test_mcp_over_http_reads_no_local_file_unless_allowed(api: ApiServer, tmp_path: Path) -> None:
    tenant = make_tenant(credits=100)
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(make_pdf(lines=INVOICE_LINES))

    async def run(url: str) -> list[str]:
        async with Client(url, read_timeout_seconds=60) as client:
            calls = [("to_markdown", {"file_path": "/etc/passwd"}),
                     ("extract", {"schema": SCHEMA, "file_path": str(pdf)}),
                     ("to_markdown", {"file_base64": base64.b64encode(b"x" * 2048).decode(),
                                      "file_name": "big.pdf"})]
            return [_refusal(await client.call_tool(tool, args)) for tool, args in calls]

    with _http_server(api, tenant.api_key, "--max-file-bytes", "1024") as url:
        passwd, local, too_big = asyncio.run(run(url))
    assert "file_path is not accepted by this server" in passwd and "root:" not in passwd
    assert "file_path is not accepted by this server" in local
    assert "at most 1024 bytes" in too_big
    with api.client(tenant.api_key) as client:  # nothing reached the API
        assert client.get("/v1/jobs").json()["data"] == []
