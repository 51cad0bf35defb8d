"""`Quarry`: the synchronous client."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar, Unpack, overload

import httpx

from quarry_client import calls, models
from quarry_client.errors import QuarryConnectionError, QuarryTimeout, error_from_response
from quarry_client.files import FileInput, load_file
from quarry_client.flow import (
    USER_AGENT,
    ClientSettings,
    ExtractKwargs,
    ModelT,
    PollSchedule,
    SchemaInput,
    build_request,
    extract_result,
    job_id_of,
    markdown_result,
    schema_for_request,
)
from quarry_client.options import EXTRACT, TO_MARKDOWN, JobOptions, ModelConfig, Operation, TableFormat
from quarry_client.retry import RetryPolicy

T = TypeVar("T")


class Quarry:
    """Sync Quarry client. Use as a context manager, or call `close()`.

        with Quarry(api_key="...", base_url="http://127.0.0.1:8000") as quarry:
            result = quarry.extract("invoice.pdf", {"invoice_number": "string"})
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *,
                 timeout: float = 60.0, retry: RetryPolicy | None = None,
                 presign_threshold: int | None = None, transport: httpx.BaseTransport | None = None,
                 max_connections: int = 20) -> None:
        defaults = ClientSettings()
        self.settings = ClientSettings(
            api_key=api_key, base_url=base_url, timeout=timeout, retry=retry or defaults.retry,
            presign_threshold=presign_threshold or defaults.presign_threshold)
        self._key = self.settings.resolved_key()
        self._http = httpx.Client(
            base_url=self.settings.resolved_url(), timeout=self.settings.httpx_timeout(),
            headers={"User-Agent": USER_AGENT}, transport=transport,
            limits=httpx.Limits(max_connections=max_connections))

    # -- plumbing ---------------------------------------------------------------------------

    def __enter__(self) -> Quarry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def with_options(self, *, timeout: float | None = None, max_retries: int | None = None,
                     retry: RetryPolicy | None = None) -> Quarry:
        """A view of this client with another per-request timeout and/or retry budget, sharing
        its connection pool: `quarry.with_options(timeout=5, max_retries=0).me()`."""
        policy = retry or self.settings.retry
        if max_retries is not None:
            policy = replace(policy, max_retries=max_retries)
        clone = copy.copy(self)
        clone.settings = replace(self.settings, retry=policy,
                                 timeout=self.settings.timeout if timeout is None else timeout)
        return clone

    def call(self, call: calls.Call[T]) -> T:
        """Send one prepared call (with retries) and parse its answer."""
        timeout = self.settings.httpx_timeout()
        response = self._send(lambda: build_request(self._http, call, self._key, timeout),
                              replayable=call.replayable)
        return call.parse(response)

    def _send(self, make_request: Callable[[], httpx.Request], *, replayable: bool) -> httpx.Response:
        policy, attempt = self.settings.retry, 0
        while True:
            try:
                response = self._http.send(make_request())
            except httpx.TransportError as error:
                delay = policy.delay_for_error(attempt, error, replayable=replayable)
                if delay is None:
                    raise QuarryConnectionError(f"{type(error).__name__}: {error}") from error
            else:
                delay = policy.delay_for_response(attempt, response, replayable=replayable)
                if delay is None:
                    if response.is_error:
                        raise error_from_response(response)
                    return response
            attempt += 1
            time.sleep(delay)

    @contextmanager
    def _stream(self, call: calls.Call[Any]) -> Iterator[httpx.Response]:
        """Open a streamed answer (retrying like any call until the body starts), and close it."""
        policy, attempt, timeout = self.settings.retry, 0, self.settings.httpx_timeout()
        while True:
            request = build_request(self._http, call, self._key, timeout)
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as error:
                delay = policy.delay_for_error(attempt, error, replayable=call.replayable)
                if delay is None:
                    raise QuarryConnectionError(f"{type(error).__name__}: {error}") from error
            else:
                if not response.is_error:
                    try:
                        yield response
                    finally:
                        response.close()
                    return
                response.read()
                response.close()
                delay = policy.delay_for_response(attempt, response, replayable=call.replayable)
                if delay is None:
                    raise error_from_response(response)
            attempt += 1
            time.sleep(delay)

    def _all(self, page: Callable[[str | None], calls.Call[models.ItemPage[T]]]) -> list[T]:
        """Follow a list's cursors to its end (for the short lists: keys, artifacts, deliveries)."""
        items: list[T] = []
        cursor: str | None = None
        while True:
            current = self.call(page(cursor))
            items.extend(current.data)
            if not (current.has_more and current.next_cursor):
                return items
            cursor = current.next_cursor

    # -- jobs: the high-level calls ---------------------------------------------------------

    @overload
    def extract(self, file: FileInput | None, schema: type[ModelT], **options: Unpack[ExtractKwargs]
                ) -> models.ExtractResult[ModelT]: ...

    @overload
    def extract(self, file: FileInput | None, schema: dict[str, Any] | str | None = None,
                **options: Unpack[ExtractKwargs]) -> models.ExtractResult[Any]: ...

    def extract(self, file: FileInput | None, schema: SchemaInput = None, *,
                mode: str | None = None, allow_partial: bool = False, artifact_id: str | None = None,
                llm: ModelConfig | None = None, ocr: ModelConfig | None = None,
                webhook_url: str | None = None, metadata: dict[str, Any] | None = None,
                page_range: str | None = None, ocr_lang: str | None = None,
                table_format: TableFormat | None = None, file_url: str | None = None,
                wait: float = 60, timeout: float | None = None, idempotency_key: str | None = None,
                file_name: str | None = None) -> models.ExtractResult[Any]:
        """Extract JSON matching `schema` (a pydantic model class, a JSON Schema or a shorthand
        map); waits for the result, polling past `wait`. With a model, `.data` is an instance."""
        options = JobOptions(EXTRACT, schema=schema_for_request(schema), mode=mode,
                             allow_partial=allow_partial, artifact_id=artifact_id, llm=llm, ocr=ocr,
                             webhook_url=webhook_url, metadata=metadata, page_range=page_range,
                             ocr_lang=ocr_lang, table_format=table_format)
        job = self.submit(file, options, wait=wait, idempotency_key=idempotency_key, file_name=file_name,
                             file_url=file_url)
        return extract_result(self.wait(job, timeout=timeout), schema)

    def to_markdown(self, file: FileInput | None = None, *, conversion_mode: str | None = None,
                    ocr: ModelConfig | None = None, webhook_url: str | None = None,
                    metadata: dict[str, Any] | None = None, page_range: str | None = None,
                    ocr_lang: str | None = None, table_format: TableFormat | None = None,
                    file_url: str | None = None, wait: float = 60,
                    timeout: float | None = None, idempotency_key: str | None = None,
                    file_name: str | None = None) -> models.MarkdownResult:
        """Convert a document to markdown; waits for the result."""
        options = JobOptions(TO_MARKDOWN, conversion_mode=conversion_mode, ocr=ocr,
                             webhook_url=webhook_url, metadata=metadata, page_range=page_range,
                             ocr_lang=ocr_lang, table_format=table_format)
        job = self.submit(file, options, wait=wait, idempotency_key=idempotency_key, file_name=file_name,
                             file_url=file_url)
        return markdown_result(self.wait(job, timeout=timeout))

    def submit(self, file: FileInput | None = None, options: JobOptions | None = None, *,
               file_uri: str | None = None, wait: float = 0, idempotency_key: str | None = None,
               file_name: str | None = None, file_url: str | None = None) -> models.Job:
        """Create a job: multipart; presign + PUT + canonical for big files; canonical for an
        uploaded `file_uri` or a `file_url` the server fetches itself.

        One `Idempotency-Key` (given or generated) covers every retry of this call.
        """
        options = options or JobOptions()
        key = idempotency_key or calls.new_idempotency_key()
        if file_url is not None:
            return self.call(calls.submit_canonical(None, options, file_name=file_name, wait=wait,
                                                    idempotency_key=key, file_url=file_url))
        if file_uri is None:
            if file is None:
                raise ValueError("pass a file or a file_uri")
            loaded = load_file(file, file_name)
            if len(loaded.data) <= self.settings.presign_threshold:
                return self.call(calls.submit_multipart(loaded, options, wait=wait, idempotency_key=key))
            file_uri, file_name = self.upload(loaded).file_uri, loaded.name
        return self.call(calls.submit_canonical(file_uri, options, file_name=file_name, wait=wait,
                                                idempotency_key=key))

    def wait(self, job: str | models.Job, *, timeout: float | None = None,
             poll: PollSchedule | None = None) -> models.Job:
        """Poll until the job is finished; `QuarryTimeout` after `timeout` seconds."""
        if isinstance(job, models.Job) and job.done:
            return job
        job_id, schedule = job_id_of(job), poll or PollSchedule()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self.get_job(job_id)
            if current.done:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise QuarryTimeout(f"job {job_id} still {current.status} after {timeout:g}s",
                                    body={"job_id": job_id})
            time.sleep(schedule.next())

    def upload(self, file: FileInput, *, file_name: str | None = None) -> models.PresignedUpload:
        """Presign, then PUT the bytes; the answer's `file_uri` can be submitted."""
        loaded = load_file(file, file_name)
        presigned = self.call(calls.presign_upload(loaded.name, loaded.content_type, len(loaded.data)))
        self._send(lambda: self._http.build_request(
            presigned.method, presigned.upload_url, content=loaded.data, headers=presigned.headers),
            replayable=True)
        return presigned

    # -- routes, one method each ------------------------------------------------------------

    def me(self) -> models.Me:
        return self.call(calls.me())

    def list_api_keys(self) -> list[models.ApiKey]:
        """Every key of the tenant (all pages)."""
        return self._all(calls.list_api_keys)

    def create_api_key(self, name: str = "", *, is_admin: bool = False) -> models.IssuedKey:
        return self.call(calls.create_api_key(name, is_admin))

    def revoke_api_key(self, key_id: str) -> models.ApiKey:
        return self.call(calls.revoke_api_key(key_id))

    def admin_create_tenant(self, name: str, *, credits: int = 0) -> models.Tenant:
        return self.call(calls.admin_create_tenant(name, credits))

    def admin_issue_key(self, tenant_id: str, *, name: str = "", is_admin: bool = False) -> models.IssuedKey:
        return self.call(calls.admin_issue_key(tenant_id, name, is_admin))

    def admin_revoke_key(self, key_id: str) -> models.ApiKey:
        return self.call(calls.admin_revoke_key(key_id))

    def admin_top_up(self, tenant_id: str, amount: int, *, reason: str = "") -> models.CreditBalance:
        return self.call(calls.admin_top_up(tenant_id, amount, reason))

    def admin_set_rate_limits(self, tenant_id: str, *, heavy: dict[str, float] | None = None,
                              general: dict[str, float] | None = None) -> models.RateLimits:
        return self.call(calls.admin_set_rate_limits(tenant_id, heavy=heavy, general=general))

    def admin_set_plan(self, tenant_id: str, plan: str) -> models.TenantPlan:
        return self.call(calls.admin_set_plan(tenant_id, plan))

    def presign_upload(self, file_name: str, *, content_type: str | None = None,
                       size: int | None = None) -> models.PresignedUpload:
        return self.call(calls.presign_upload(file_name, content_type, size))

    def ocr_to_markdown(self, file_uri: str, *, tenant_id: str | None = None, file_name: str | None = None,
                        mode: str | None = None, ocr: ModelConfig | None = None,
                        webhook_url: str | None = None, metadata: dict[str, Any] | None = None,
                        wait: float = 60, timeout: float | None = None,
                        idempotency_key: str | None = None,
                        page_range: str | None = None) -> models.MarkdownResult:
        tenant = tenant_id or self.me().tenant_id
        job = self.call(calls.ocr_to_markdown(
            tenant, file_uri, file_name=file_name, mode=mode, ocr=ocr, webhook_url=webhook_url,
            wait=wait, metadata=metadata, idempotency_key=idempotency_key, page_range=page_range))
        return markdown_result(self.wait(job, timeout=timeout))

    def get_job(self, job_id: str) -> models.Job:
        return self.call(calls.get_job(job_id))

    def list_jobs(self, *, status: str | None = None, limit: int | None = None,
                  cursor: str | None = None) -> models.JobPage:
        return self.call(calls.list_jobs(status, limit, cursor))

    def iter_jobs(self, *, status: str | None = None, page_size: int = 200) -> Iterator[models.Job]:
        """Every job of the tenant, newest first, fetched a page at a time as you iterate."""
        cursor: str | None = None
        while True:
            page = self.list_jobs(status=status, limit=page_size, cursor=cursor)
            yield from page.jobs
            if not (page.has_more and page.next_cursor):
                return
            cursor = page.next_cursor

    def cancel_job(self, job_id: str) -> models.Job:
        return self.call(calls.cancel_job(job_id))

    def page_image(self, job_id: str, number: int = 1) -> models.PageImage:
        """Page `number` of the job's file as a PNG, with its size in the boxes' unit."""
        return self.call(calls.page_image(job_id, number))

    def create_batch(self, operation: Operation, items: list[dict[str, Any]], *,
                     defaults: dict[str, Any] | None = None, webhook_url: str | None = None,
                     idempotency_key: str | None = None) -> models.BatchCreated:
        return self.call(calls.create_batch(operation, items, defaults=defaults, webhook_url=webhook_url,
                                            idempotency_key=idempotency_key))

    def list_batches(self, *, limit: int | None = None, cursor: str | None = None) -> models.BatchPage:
        return self.call(calls.list_batches(limit, cursor))

    def iter_batches(self, *, page_size: int = 100) -> Iterator[models.Batch]:
        """Every batch of the tenant, newest first, fetched a page at a time as you iterate."""
        cursor: str | None = None
        while True:
            page = self.list_batches(limit=page_size, cursor=cursor)
            yield from page.data
            if not (page.has_more and page.next_cursor):
                return
            cursor = page.next_cursor

    def get_batch(self, batch_id: str) -> models.Batch:
        return self.call(calls.get_batch(batch_id))

    def batch_results(self, batch_id: str) -> Iterator[models.Job]:
        """The batch's finished jobs in item order, read line by line from the streamed JSON
        Lines answer (a 10,000-item batch is never held in memory). Each job's `raw` has the
        item's `position`. Iterate to the end, or close the generator, to free the connection."""
        with self._stream(calls.batch_results(batch_id)) as response:
            for line in response.iter_lines():
                if line.strip():
                    yield models.Job.from_json(json.loads(line))

    def cancel_batch(self, batch_id: str) -> models.Batch:
        return self.call(calls.cancel_batch(batch_id))

    def get_webhook_secret(self) -> models.WebhookSecret:
        return self.call(calls.get_webhook_secret())

    def rotate_webhook_secret(self) -> models.WebhookSecret:
        return self.call(calls.rotate_webhook_secret())

    def list_deliveries(self, job_id: str) -> list[models.Delivery]:
        """Every webhook delivery of the job (all pages)."""
        return self._all(lambda cursor: calls.list_deliveries(job_id, cursor))

    def redeliver(self, job_id: str, delivery_id: str) -> models.Delivery:
        """Send a webhook delivery again (answers 202 with the delivery)."""
        return self.call(calls.redeliver(job_id, delivery_id))

    def balance(self, tenant_id: str | None = None) -> models.Balance:
        return self.call(calls.balance(tenant_id or self.me().tenant_id))

    def usage(self, tenant_id: str | None = None, *, start: str | None = None, end: str | None = None,
              group_by: str | None = None) -> models.Usage:
        return self.call(calls.usage(tenant_id or self.me().tenant_id, start=start, end=end,
                                     group_by=group_by))

    def create_training_job(self, schema: dict[str, Any] | str, examples: list[dict[str, Any]], *,
                            name: str | None = None, mode: str | None = None,
                            idempotency_key: str | None = None) -> models.TrainingJob:
        """`examples`: `[{"file_uri": ..., "expected": {...}}]` (see `upload`)."""
        return self.call(calls.create_training_job(schema, examples, name=name, mode=mode,
                                                   idempotency_key=idempotency_key))

    def get_training_job(self, training_job_id: str) -> models.TrainingJob:
        return self.call(calls.get_training_job(training_job_id))

    def wait_training_job(self, training_job_id: str, *, timeout: float | None = None) -> models.TrainingJob:
        """Poll a training job until it has finished."""
        schedule = PollSchedule(interval=0.5, maximum=5.0)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self.get_training_job(training_job_id)
            if current.done:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise QuarryTimeout(f"training job {training_job_id} still {current.status}")
            time.sleep(schedule.next())

    def list_artifacts(self, *, include_retired: bool | None = None) -> list[models.Artifact]:
        """Every artifact of the tenant (all pages)."""
        return self._all(lambda cursor: calls.list_artifacts(include_retired, cursor))

    def get_artifact(self, artifact_id: str) -> models.Artifact:
        return self.call(calls.get_artifact(artifact_id))

    def delete_artifact(self, artifact_id: str) -> models.Artifact:
        """Retire an artifact."""
        return self.call(calls.delete_artifact(artifact_id))
