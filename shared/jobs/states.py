"""Job states, operations and queue names, as both sides name them."""

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELED = "canceled"


TERMINAL_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELED}
)


class Operation(StrEnum):
    EXTRACT = "inference.extract"
    TO_MARKDOWN = "inference.to_markdown"


RUN_JOB_TASK = "jobs.run"
SWEEP_TASK = "jobs.sweep"
CONVERT_PART_TASK = "convert.part"
"""Converts one page range of a long PDF job; sent to the queue the job came on."""
JOIN_PARTS_TASK = "convert.join"
"""Joins a long PDF job's converted parts and records the job's outcome."""
INTERACTIVE_QUEUE = "interactive"
WEBHOOKS_QUEUE = "webhooks"
BULK_QUEUE = "bulk"
OCR_QUEUE = "ocr"
"""Single jobs that need OCR (images, robust mode): minutes of CPU must not sit in front of
the seconds-long text jobs on `interactive`."""
"""Batch items: workers consume all three queues, so single jobs never wait behind a batch."""
TRAINING_QUEUE = "training"
"""Its own queue: a training run takes seconds to minutes and must not delay single jobs."""
QUEUES: tuple[str, ...] = (INTERACTIVE_QUEUE, OCR_QUEUE, WEBHOOKS_QUEUE, BULK_QUEUE, TRAINING_QUEUE)

DELIVER_WEBHOOK_TASK = "webhooks.deliver"
SWEEP_WEBHOOKS_TASK = "webhooks.sweep"
DISPATCH_BATCHES_TASK = "batches.dispatch"
PURGE_EXPIRED_TASK = "retention.purge"
TRAIN_TASK = "training.run"
SWEEP_TRAINING_TASK = "training.sweep"
