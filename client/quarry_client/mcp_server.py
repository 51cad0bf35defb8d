"""`quarry mcp`: Quarry as tools for an agent, over the Model Context Protocol.

Tools: `extract`, `to_markdown`, `job_status` and `usage`. A document is given as a local
`file_path` (what an agent on the same machine has; over HTTP only inside the directories the
operator allowed, see `mcp_documents`) or as `file_base64` + `file_name` (what a remote agent
over streamable HTTP can send). A call waits up to `wait_seconds` for the job;
a longer one answers with the job's id and status, to follow with `job_status`.

Needs the `mcp` extra (the official MCP Python SDK, 2.x); configured by the same settings
as the SDK and CLI (QUARRY_API_KEY, QUARRY_BASE_URL / QUARRY_URL, the config file).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from quarry_client import __version__
from quarry_client.async_client import AsyncQuarry
from quarry_client.errors import QuarryError
from quarry_client.flow import PollSchedule, extract_result, markdown_result
from quarry_client.mcp_documents import DocumentPolicy
from quarry_client.models import Job
from quarry_client.options import EXTRACT, TO_MARKDOWN, JobOptions

INSTRUCTIONS = """Quarry turns documents (PDF, scans, Office files, images, HTML) into
schema-valid JSON (`extract`) or markdown (`to_markdown`). Give a document as `file_path`
(a path on the machine running this server, where it allows local files) or `file_base64`
with `file_name`. Each call
costs credits (see `usage`). If a job is still running after `wait_seconds`, the answer has
`"done": false` and a `job_id`: call `job_status` with it until `done` is true."""

FilePath = Annotated[str | None, Field(
    description="Path of the document on the server's machine (refused over HTTP unless the "
                "server allows that directory; then use file_base64).")]
FileBase64 = Annotated[str | None, Field(description="The document's bytes, base64-encoded.")]
FileName = Annotated[str | None, Field(description="File name (with extension) for file_base64.")]
PageRange = Annotated[str | None, Field(
    description='Only these 1-based pages, like "1-3,7" (only they are billed).')]
WaitSeconds = Annotated[float, Field(ge=0, le=600, description="How long to wait for the result.")]


def _schema(schema: dict[str, Any] | str) -> dict[str, Any] | str:
    if isinstance(schema, str):
        try:
            parsed = json.loads(schema)
        except json.JSONDecodeError as error:
            raise ToolError(f"schema is not JSON: {error}") from error
        return parsed if isinstance(parsed, dict) else schema
    return schema


def _pending(job: Job) -> dict[str, Any]:
    return {"done": False, "job_id": job.job_id, "status": job.status, "progress": job.progress}


def build_server(api_key: str | None = None, base_url: str | None = None,
                 documents: DocumentPolicy | None = None) -> MCPServer:
    """The MCP server; each tool call uses one SDK client with these credentials, and takes
    its document as `documents` allows (default: any local path, as over stdio)."""
    policy = documents or DocumentPolicy()
    server = MCPServer("quarry", instructions=INSTRUCTIONS, version=__version__)

    def client() -> AsyncQuarry:
        return AsyncQuarry(api_key, base_url)

    async def finish(quarry: AsyncQuarry, job: Job, wait_seconds: float) -> Job:
        import asyncio
        import time

        deadline, schedule = time.monotonic() + wait_seconds, PollSchedule(interval=0.5, maximum=3.0)
        while not job.done and time.monotonic() < deadline:
            await asyncio.sleep(min(schedule.next(), max(0.0, deadline - time.monotonic())))
            job = await quarry.get_job(job.job_id)
        return job

    @server.tool()
    async def extract(
        schema: Annotated[dict[str, Any] | str, Field(
            description='JSON Schema, or a shorthand map like {"total": "number", '
                        '"invoice_number": "string"}, of the JSON to extract.')],
        file_path: FilePath = None, file_base64: FileBase64 = None, file_name: FileName = None,
        mode: Annotated[Literal["fast", "standard", "robust"], Field(
            description="fast: text rules; standard: model; robust: model with per-field checks")
        ] = "standard",
        allow_partial: Annotated[bool, Field(
            description="Return what was found even when some fields fail validation.")] = False,
        page_range: PageRange = None, wait_seconds: WaitSeconds = 120,
    ) -> dict[str, Any]:
        """Extract JSON matching `schema` from a document."""
        document = policy.load(file_path, file_base64, file_name)
        options = JobOptions(EXTRACT, schema=_schema(schema), mode=mode, allow_partial=allow_partial,
                             page_range=page_range)
        try:
            async with client() as quarry:
                job = await quarry.submit(document, options, wait=min(wait_seconds, 60))
                job = await finish(quarry, job, wait_seconds)
                if not job.done:
                    return _pending(job)
                result = extract_result(job)
        except QuarryError as error:
            raise ToolError(str(error)) from error
        return {"done": True, "job_id": result.job_id, "status": result.status, "data": result.result,
                "validation_errors": result.validation_errors, "confidence": result.confidence,
                "cost": result.cost, "credits_remaining": result.credits_remaining}

    @server.tool()
    async def to_markdown(
        file_path: FilePath = None, file_base64: FileBase64 = None, file_name: FileName = None,
        conversion_mode: Annotated[Literal["default", "fast"], Field(
            description="default: layout and OCR where needed; fast: text layer only")] = "default",
        page_range: PageRange = None, wait_seconds: WaitSeconds = 120,
    ) -> dict[str, Any]:
        """Convert a document to markdown (tables, headings, reading order kept)."""
        document = policy.load(file_path, file_base64, file_name)
        options = JobOptions(TO_MARKDOWN, conversion_mode=conversion_mode, page_range=page_range)
        try:
            async with client() as quarry:
                job = await quarry.submit(document, options, wait=min(wait_seconds, 60))
                job = await finish(quarry, job, wait_seconds)
                if not job.done:
                    return _pending(job)
                result = markdown_result(job)
        except QuarryError as error:
            raise ToolError(str(error)) from error
        return {"done": True, "job_id": result.job_id, "markdown": result.markdown,
                "pages": result.meta.get("pages"), "cost": result.cost,
                "credits_remaining": result.credits_remaining}

    @server.tool()
    async def job_status(
        job_id: Annotated[str, Field(description="The job_id an earlier call answered with.")],
    ) -> dict[str, Any]:
        """A job's status; when done, its result (`result` for extract, `markdown` for markdown)."""
        try:
            async with client() as quarry:
                job = await quarry.get_job(job_id)
        except QuarryError as error:
            raise ToolError(str(error)) from error
        view = {name: job.raw.get(name) for name in (
            "job_id", "operation", "status", "progress", "error", "cost", "result", "markdown",
            "validation_errors") if job.raw.get(name) is not None}
        return {"done": job.done, **view}

    @server.tool()
    async def usage(
        group_by: Annotated[Literal["day", "operation", "mode"], Field(
            description="How to group the credits used.")] = "day",
        start: Annotated[str | None, Field(description="First day, YYYY-MM-DD.")] = None,
        end: Annotated[str | None, Field(description="Last day, YYYY-MM-DD.")] = None,
    ) -> dict[str, Any]:
        """Credits used (grouped) and the balance left."""
        try:
            async with client() as quarry:
                report = await quarry.usage(start=start, end=end, group_by=group_by)
        except QuarryError as error:
            raise ToolError(str(error)) from error
        return {"group_by": report.group_by, "rows": report.rows, "totals": report.totals,
                "credits_remaining": report.credits_remaining}

    return server
