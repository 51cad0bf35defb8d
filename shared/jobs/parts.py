"""Page-range parts of a long PDF job: one row per range, per claim of the job.

A worker that claims a long PDF job plans its parts here and sends one message
per part. Each part converts its pages, stores them, and marks itself done;
under the job's row lock, the part that leaves no part pending is the last,
and its caller sends the join. Rows belong to one claim (job, attempt): a
job taken over by a new claim plans new parts, and the old ones are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.clock import utcnow
from shared.db.base import Base, created_at_column
from shared.jobs.lifecycle import Claim, extend_lease, held_job, lease_s, record_progress

PENDING = "pending"
DONE = "done"


class JobPart(Base):
    """Pages `start` to `stop` (0-based, `stop` excluded) of one claim of a job."""

    __tablename__ = "job_parts"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[int] = mapped_column(primary_key=True)
    stop: Mapped[int] = mapped_column()
    storage_key: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    converted_by: Mapped[str | None] = mapped_column(String(200), default=None)
    """The worker process (`host:pid`) whose conversion of the range was kept."""
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class PartsProgress:
    parts_done: int
    parts_total: int

    @property
    def complete(self) -> bool:
        return self.parts_done == self.parts_total


def page_ranges(page_count: int, per_part: int) -> list[tuple[int, int]]:
    return [(start, min(start + per_part, page_count)) for start in range(0, page_count, per_part)]


def part_key(tenant_id: str, claim: Claim, start: int) -> str:
    return f"{tenant_id}/parts/{claim.job_id}/{claim.attempt}/{start:06d}.json"


def plan_parts(session: Session, claim: Claim, *, page_count: int, per_part: int) -> list[JobPart]:
    """Create the claim's parts; the lease covers them all run one after another."""
    job = held_job(session, claim, lock=True)
    if job is None:
        return []
    parts = [JobPart(job_id=claim.job_id, attempt=claim.attempt, start=start, stop=stop,
                     storage_key=part_key(job.tenant_id, claim, start))
             for start, stop in page_ranges(page_count, per_part)]
    session.add_all(parts)
    extend_lease(session, claim, seconds=lease_s() * len(parts))
    session.flush()
    return parts


def finish_part(session: Session, claim: Claim, start: int, *, converted_by: str) -> PartsProgress | None:
    """Mark a part done (again, if redelivered: the newer conversion overwrote the file).

    None when the claim no longer holds the job (failed, or taken over): the part is moot.
    The job row lock orders concurrent finishes, so exactly one sees the last part done.
    """
    job = held_job(session, claim, lock=True)
    part = session.get(JobPart, (claim.job_id, claim.attempt, start))
    if job is None or part is None:
        return None
    part.status, part.converted_by, part.finished_at = DONE, converted_by, utcnow()
    session.flush()
    done_filter = JobPart.status == DONE
    pages = JobPart.stop - JobPart.start
    parts_done, parts_total, pages_done, pages_total = session.execute(
        select(func.count().filter(done_filter), func.count(),
               func.coalesce(func.sum(pages).filter(done_filter), 0), func.sum(pages))
        .where(JobPart.job_id == claim.job_id, JobPart.attempt == claim.attempt)
    ).one()
    # The remaining parts could run one after another; the join needs one lease of its own.
    extend_lease(session, claim, seconds=lease_s() * max(parts_total - parts_done, 1))
    record_progress(session, claim, done=int(pages_done), total=int(pages_total))
    return PartsProgress(parts_done=int(parts_done), parts_total=int(parts_total))


def parts_in_order(session: Session, claim: Claim) -> list[JobPart]:
    query = (select(JobPart).where(JobPart.job_id == claim.job_id, JobPart.attempt == claim.attempt)
             .order_by(JobPart.start))
    return list(session.scalars(query))
