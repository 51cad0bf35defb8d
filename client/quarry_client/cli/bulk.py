"""`quarry batch` through `/v1/batches`: upload every file, submit them as server batches (the
bulk queue, fair to other tenants), then write each item's JSON line as its job finishes.

Resumable and charged once:
- each upload's `file_uri` is journalled in `<out>.uploads` before any batch uses it;
- each batch's id and item paths are journalled right after it is created, and a re-run
  follows that batch instead of creating another;
- the batch's `Idempotency-Key` is derived from its items (paths, content hashes) and the
  options, so a run stopped between "created" and "journalled" gets the same batch back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quarry_client.async_client import AsyncQuarry
from quarry_client.cli.batch import (
    FATAL_ERRORS,
    BatchConfig,
    BatchSummary,
    file_key,
    job_record,
    upload_journal_path,
)
from quarry_client.cli.results_file import ResultsFile
from quarry_client.files import derived_idempotency_key, load_file
from quarry_client.models import Batch, Job
from quarry_client.options import JobOptions

MAX_ITEMS = 10_000
"""The server's limit per batch; bigger folders become several batches."""


@dataclass
class TrackedBatch:
    batch_id: str
    paths: list[str]
    written: set[int] = field(default_factory=set)
    finished: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return len(self.written) >= len(self.paths)


@dataclass
class BulkEvents:
    """What the command shows while it runs (all optional)."""

    uploading: Callable[[int], None] | None = None
    """Called once with the number of files to upload."""
    uploaded: Callable[[], None] | None = None
    following: Callable[[int], None] | None = None
    """Called once with the number of items whose results are awaited."""
    written: Callable[[str, bool], None] | None = None
    counts: Callable[[dict[str, int]], None] | None = None


class BulkJournal:
    """`<out>.uploads`: one JSON line per upload (`key`, `file_uri`) or batch (`batch_id`, `paths`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.uploads: dict[str, str] = {}
        self.batches: list[TrackedBatch] = []
        for entry in _entries(path):
            if "batch_id" in entry and isinstance(entry.get("paths"), list):
                self.batches.append(TrackedBatch(str(entry["batch_id"]), [str(p) for p in entry["paths"]]))
            elif "key" in entry and "file_uri" in entry:
                self.uploads[str(entry["key"])] = str(entry["file_uri"])

    def add_upload(self, key: str, file_uri: str) -> None:
        self._write({"key": key, "file_uri": file_uri})
        self.uploads[key] = file_uri

    def add_batch(self, batch: TrackedBatch) -> None:
        self._write({"batch_id": batch.batch_id, "paths": batch.paths})
        self.batches.append(batch)

    def _write(self, entry: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line from a hard kill
        if isinstance(entry, dict):
            yield entry


def batch_defaults(options: JobOptions) -> dict[str, Any]:
    """The job options as a batch's `defaults` (the canonical body minus per-file fields)."""
    body = options.canonical_body("", None, 0)
    for name in ("operation", "file_uri", "file_name", "wait", "metadata"):
        body.pop(name, None)
    return {name: value for name, value in body.items() if value is not None}


class BulkRunner:
    """Uploads, submits and follows server batches; each finished item becomes one output line."""

    def __init__(self, client: AsyncQuarry, config: BatchConfig, results: ResultsFile,
                 events: BulkEvents | None = None) -> None:
        self.client, self.config, self.results = client, config, results
        self.events = events or BulkEvents()
        self.summary = BatchSummary()
        self.journal = BulkJournal(upload_journal_path(config.out))
        self._retried: dict[str, str] = {}
        """Path -> the failed job it had, for `--retry-failed` (a new key, a new batch)."""

    def rel(self, path: Path) -> str:
        return path.relative_to(self.config.root).as_posix()

    def pending(self, files: list[Path]) -> list[Path]:
        if self.config.retry_failed:
            for record in self.results.drop_failures():
                self._retried[record["path"]] = str(record.get("job_id") or "")
        todo = [p for p in files if not self.results.is_done(self.rel(p))]
        self.summary.total, self.summary.skipped = len(files), len(files) - len(todo)
        return todo

    async def run(self, todo: list[Path]) -> BatchSummary:
        wanted = {self.rel(path): path for path in todo}
        followed = self._resumable(set(wanted))
        covered = {path for batch in followed for path in batch.paths}
        fresh = [path for rel, path in wanted.items() if rel not in covered]
        try:
            await self._submit(fresh, followed)
        except FATAL_ERRORS as error:  # e.g. 402 for a later chunk: finish the batches already made
            self.summary.stopped_by = error
        if self.events.following:
            self.events.following(sum(len(b.paths) - len(b.written) for b in followed))
        await self._follow(followed)
        return self.summary

    def _resumable(self, wanted: set[str]) -> list[TrackedBatch]:
        """Journalled batches still owing lines; items already written are marked so."""
        open_batches, claimed = [], set(self._retried)
        for batch in reversed(self.journal.batches):  # a later batch's item wins over an earlier one
            batch.written = {i for i, rel in enumerate(batch.paths) if rel not in wanted or rel in claimed}
            claimed.update(batch.paths)
            if not batch.done:
                open_batches.append(batch)
        return open_batches

    async def _submit(self, files: list[Path], followed: list[TrackedBatch]) -> None:
        """Upload `files`, then create their batches (appended to `followed` one by one)."""
        if not files:
            return
        if self.events.uploading:
            self.events.uploading(len(files))
        uploaded = await self._upload_all(files)
        for start in range(0, len(uploaded), MAX_ITEMS):
            followed.append(await self._create(uploaded[start:start + MAX_ITEMS]))

    async def _upload_all(self, files: list[Path]) -> list[tuple[str, str, str]]:
        """(relative path, content hash, file_uri) per file, uploading in parallel once each."""
        gate = asyncio.Semaphore(max(1, self.config.concurrency))

        async def one(path: Path) -> tuple[str, str, str]:
            async with gate:
                rel = self.rel(path)
                loaded = await asyncio.to_thread(load_file, path)
                key = file_key(rel, loaded.sha256, self.config.options, self._retried.get(rel))
                file_uri = self.journal.uploads.get(key)
                if file_uri is None:
                    file_uri = (await self.client.upload(loaded)).file_uri
                    self.journal.add_upload(key, file_uri)
                if self.events.uploaded:
                    self.events.uploaded()
                return rel, loaded.sha256, file_uri

        return list(await asyncio.gather(*(one(path) for path in files)))

    async def _create(self, items: list[tuple[str, str, str]]) -> TrackedBatch:
        options = self.config.options
        key = derived_idempotency_key(
            "quarry-bulk", [(rel, digest, self._retried.get(rel)) for rel, digest, _ in items],
            options.fingerprint())
        body = [{"file_uri": file_uri, "metadata": {**(options.metadata or {}), "path": rel}}
                for rel, _, file_uri in items]
        created = await self.client.create_batch(options.operation, body,
                                                 defaults=batch_defaults(options),
                                                 webhook_url=options.webhook_url,
                                                 idempotency_key=key)
        batch = TrackedBatch(created.batch_id, [rel for rel, _, _ in items])
        self.journal.add_batch(batch)
        return batch

    async def _follow(self, batches: list[TrackedBatch]) -> None:
        """Poll each batch's counts; when more items finished, read the new result lines."""
        delay = 0.25
        while not all(batch.done for batch in batches):
            for batch in batches:
                if batch.done:
                    continue
                described = await self.client.get_batch(batch.batch_id)
                self._show_counts(batches, batch, described)
                if described.finished > len(batch.written) or described.completed_at:
                    await self._read_results(batch)
                if described.completed_at and not batch.done:
                    self._write_missing(batch)  # finished, yet items without a result: never hang
            # Re-reading a big batch's results costs more: poll it less often.
            ceiling = max(2.0, sum(len(b.paths) for b in batches) / 2000)
            await asyncio.sleep(delay)
            delay = min(ceiling, delay * 1.5)

    def _show_counts(self, batches: list[TrackedBatch], batch: TrackedBatch, described: Batch) -> None:
        batch.counts, batch.finished = dict(described.counts), described.finished
        if self.events.counts:
            total: dict[str, int] = {}
            for each in batches:
                for name, count in each.counts.items():
                    total[name] = total.get(name, 0) + count
            self.events.counts(total)

    async def _read_results(self, batch: TrackedBatch) -> None:
        """Stream the finished items (never held as a list) and write the ones not yet written."""
        async for job in self.client.batch_results(batch.batch_id):
            position = int(job.raw.get("position", -1))
            if 0 <= position < len(batch.paths) and position not in batch.written:
                self._write(batch.paths[position], job)
                batch.written.add(position)

    def _write_missing(self, batch: TrackedBatch) -> None:
        for position, rel in enumerate(batch.paths):
            if position not in batch.written:
                batch.written.add(position)
                detail = "the batch finished without a result for this item"
                self._write_record({"path": rel, "status": "error", "job_id": None,
                                    "batch_id": batch.batch_id,
                                    "error": {"code": "no_result", "detail": detail}})

    def _write(self, rel: str, job: Job) -> None:
        self._write_record(job_record(rel, job))

    def _write_record(self, record: dict[str, Any]) -> None:
        self.results.append(record)
        ok = record["status"] == "ok"
        self.summary.succeeded += ok
        self.summary.failed += not ok
        if self.events.written:
            self.events.written(record["path"], ok)

