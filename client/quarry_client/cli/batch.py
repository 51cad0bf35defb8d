"""`quarry batch --interactive`: one interactive job per file, resumably, with bounded
concurrency (the default path, server batches, is `bulk.py`; both share the pieces here).

Every file's `Idempotency-Key` is derived from its relative path, its content hash
and the job options, so a re-run after Ctrl-C (or a crash) resubmits an unfinished
file under the same key: the server answers with the job it already has, and
nothing is processed or charged twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from quarry_client.async_client import AsyncQuarry
from quarry_client.cli.results_file import ResultsFile
from quarry_client.errors import AuthenticationError, InsufficientCredits, PermissionDenied, QuarryError
from quarry_client.files import LoadedFile, derived_idempotency_key, load_file
from quarry_client.models import Job
from quarry_client.options import JobOptions

FATAL_ERRORS = (AuthenticationError, InsufficientCredits, PermissionDenied)
"""Errors every further file would hit too: stop the batch, write no line for the file."""


@dataclass(frozen=True)
class BatchConfig:
    root: Path
    out: Path
    options: JobOptions
    pattern: str = "*"
    recursive: bool = True
    concurrency: int = 8
    wait: float = 30
    retry_failed: bool = False


@dataclass
class BatchSummary:
    total: int = 0
    skipped: int = 0
    succeeded: int = 0
    failed: int = 0
    stopped_by: QuarryError | None = field(default=None)

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed


ProgressHook = Callable[[str, bool], None]
"""Called after each file with (relative path, ok)."""


def discover(config: BatchConfig) -> list[Path]:
    """Files under `root` matching `pattern`, sorted; hidden files and the output skipped."""
    found = config.root.rglob(config.pattern) if config.recursive else config.root.glob(config.pattern)
    own = {config.out.resolve(), upload_journal_path(config.out).resolve()}
    return sorted(
        path for path in found
        if path.is_file() and path.resolve() not in own
        and not any(part.startswith(".") for part in path.relative_to(config.root).parts)
    )


def upload_journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".uploads")


def file_key(rel_path: str, digest: str, options: JobOptions, salt: str | None = None) -> str:
    return derived_idempotency_key("quarry-batch", rel_path, digest, options.fingerprint(), salt)


class BatchRunner:
    """Runs one batch with `concurrency` workers; each finished file becomes one output line."""

    def __init__(self, client: AsyncQuarry, config: BatchConfig, results: ResultsFile) -> None:
        self.client, self.config, self.results = client, config, results
        self.summary = BatchSummary()
        self.journal = _UploadJournal(upload_journal_path(config.out))
        self._salts: dict[str, str] = {}
        self._stop = asyncio.Event()

    def pending(self, files: list[Path]) -> list[Path]:
        if self.config.retry_failed:
            for record in self.results.drop_failures():
                if record.get("job_id"):  # that job failed for good: a fresh key, still deterministic
                    self._salts[record["path"]] = str(record["job_id"])
        todo = [p for p in files if not self.results.is_done(self.rel(p), retry_failed=False)]
        self.summary.total, self.summary.skipped = len(files), len(files) - len(todo)
        return todo

    def rel(self, path: Path) -> str:
        return path.relative_to(self.config.root).as_posix()

    async def run(self, todo: list[Path], on_file: ProgressHook | None = None) -> BatchSummary:
        queue: asyncio.Queue[Path] = asyncio.Queue()
        for path in todo:
            queue.put_nowait(path)
        workers = [asyncio.create_task(self._worker(queue, on_file))
                   for _ in range(max(1, self.config.concurrency))]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
        return self.summary

    async def _worker(self, queue: asyncio.Queue[Path], on_file: ProgressHook | None) -> None:
        while not self._stop.is_set():
            try:
                path = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            record = await self._process(path)
            if record is None:
                continue
            self.results.append(record)
            ok = record["status"] == "ok"
            self.summary.succeeded += ok
            self.summary.failed += not ok
            if on_file:
                on_file(record["path"], ok)

    async def _process(self, path: Path) -> dict[str, Any] | None:
        rel = self.rel(path)
        loaded = await asyncio.to_thread(load_file, path)
        options = replace(self.config.options, metadata={**(self.config.options.metadata or {}),
                                                         "path": rel})
        key = file_key(rel, loaded.sha256, self.config.options, self._salts.get(rel))
        try:
            job = await self._submit(loaded, options, key)
            job = await self.client.wait(job)
        except FATAL_ERRORS as error:
            self.summary.stopped_by = error
            self._stop.set()
            return None
        except QuarryError as error:
            return _error_record(rel, error)
        return job_record(rel, job)

    async def _submit(self, loaded: LoadedFile, options: JobOptions, key: str) -> Job:
        wait = self.config.wait
        if len(loaded.data) <= self.client.settings.presign_threshold:
            return await self.client.submit(loaded, options, wait=wait, idempotency_key=key)
        file_uri = self.journal.get(key)
        if file_uri is None:  # upload once per key, so a re-run sends the same canonical body
            file_uri = (await self.client.upload(loaded)).file_uri
            self.journal.add(key, file_uri)
        return await self.client.submit(file_uri=file_uri, options=options, wait=wait,
                                        idempotency_key=key, file_name=loaded.name)


def job_record(rel: str, job: Job) -> dict[str, Any]:
    record: dict[str, Any] = {"path": rel, "status": "ok" if job.ok else "error", "job_id": job.job_id,
                              "job_status": job.status}
    for name in ("result", "markdown", "validation_errors", "confidence", "cost"):
        if job.get(name) is not None:
            record[name] = job.get(name)
    if not job.ok:
        record["error"] = job.error or {"detail": f"job {job.status}"}
    return record


def _error_record(rel: str, error: QuarryError) -> dict[str, Any]:
    return {"path": rel, "status": "error", "job_id": error.job_id,
            "error": {"status_code": error.status_code, "code": error.code, "detail": error.detail}}


class _UploadJournal:
    """Idempotency key -> `file_uri` of big files already uploaded (presign + PUT)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = dict(_journal_lines(path))

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def add(self, key: str, file_uri: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"key": key, "file_uri": file_uri}) + "\n")
            handle.flush()
        self.entries[key] = file_uri


def _journal_lines(path: Path) -> Iterator[tuple[str, str]]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            yield str(entry["key"]), str(entry["file_uri"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
