"""Celery tasks for long PDFs: convert one page range, join the ranges (see `worker.parts`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task

from shared.jobs.lifecycle import Claim
from shared.jobs.states import CONVERT_PART_TASK, JOIN_PARTS_TASK
from worker.celery_app import app
from worker.parts.convert import convert_part
from worker.parts.join import join_parts
from worker.tasks import run_for_job


@app.task(name=CONVERT_PART_TASK, bind=True, max_retries=None)
def convert_part_task(self: Task[Any, Any], job_id: str, attempt: int, claimed_by: str,
                      start: int, queue: str) -> None:
    claim = Claim(job_id=job_id, attempt=attempt, claimed_by=claimed_by)
    run_for_job(self, job_id, partial(convert_part, claim, start, queue,
                                      retries=self.request.retries))


@app.task(name=JOIN_PARTS_TASK, bind=True, max_retries=None)
def join_parts_task(self: Task[Any, Any], job_id: str, attempt: int, claimed_by: str) -> None:
    claim = Claim(job_id=job_id, attempt=attempt, claimed_by=claimed_by)
    run_for_job(self, job_id, partial(join_parts, claim, retries=self.request.retries))
