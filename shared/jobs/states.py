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
INTERACTIVE_QUEUE = "interactive"
QUEUES: tuple[str, ...] = (INTERACTIVE_QUEUE,)
