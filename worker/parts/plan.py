"""Whether a job is converted in page-range parts, and sending those parts."""

from __future__ import annotations

from functools import partial

from shared.db.session import after_commit, transaction
from shared.files.checks import FileInfo
from shared.jobs.lifecycle import Claim
from shared.jobs.options import ExtractOptions, MarkdownOptions
from shared.jobs.parts import plan_parts
from shared.jobs.states import CONVERT_PART_TASK
from shared.queue import send_task_quietly
from shared.settings import get_settings


def pages_to_split(options: ExtractOptions | MarkdownOptions, info: FileInfo) -> int:
    """The page count of a PDF to convert in parts, or 0 to convert it in this process.

    `info` is the worker's own check of the file (parts skip `convert_document`, which
    would run it). Only jobs that convert the whole file once are split: robust extraction
    (two readings) and a `page_range` (only some pages) stay in one process.
    """
    threshold = get_settings().split_pages_threshold
    if (threshold <= 0 or options.reads_twice or options.page_range is not None
            or info.kind != "pdf" or info.pages <= threshold):
        return 0
    return info.pages


def send_parts(claim: Claim, *, page_count: int, queue: str) -> None:
    """Plan the claim's parts and send one message each, on `queue`, once committed."""
    per_part = get_settings().split_pages_per_part
    with transaction() as session:
        for part in plan_parts(session, claim, page_count=page_count, per_part=per_part):
            args: list[object] = [claim.job_id, claim.attempt, claim.claimed_by, part.start, queue]
            after_commit(session, partial(send_task_quietly, CONVERT_PART_TASK, args, queue))
