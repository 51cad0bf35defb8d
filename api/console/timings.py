"""A job's timings as the job page shows them: when each step happened and how long the
wait in the queue and the processing took."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.contract.jobs import JobOut


@dataclass(frozen=True)
class Timing:
    label: str
    value: str


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _shown(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else None


def _duration(start: datetime | None, end: datetime | None) -> str | None:
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def job_timings(job: JobOut) -> list[Timing]:
    created, started, finished = (_instant(job.created_at), _instant(job.started_at),
                                  _instant(job.finished_at))
    rows = [("Created", _shown(created)), ("Started", _shown(started)),
            ("Finished", _shown(finished)), ("Waited in queue", _duration(created, started)),
            ("Processing", _duration(started, finished)), ("Total", _duration(created, finished))]
    return [Timing(label, value) for label, value in rows if value]
