"""The training task's name and queue, and how a training job is enqueued."""

from __future__ import annotations

from shared.jobs.states import SWEEP_TRAINING_TASK, TRAIN_TASK, TRAINING_QUEUE
from shared.queue import send_task_quietly

__all__ = ["SWEEP_TRAINING_TASK", "TRAIN_TASK", "TRAINING_QUEUE", "send_training_job"]



def send_training_job(training_job_id: str) -> None:
    """Enqueue a committed training job by id; a broker outage leaves it for the sweep."""
    send_task_quietly(TRAIN_TASK, [training_job_id], TRAINING_QUEUE)
