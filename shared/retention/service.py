"""Purge what the retention period no longer covers, a bounded slice per run.

A purged job keeps its row (status, timestamps, cost, metadata, error) and its
result is replaced by `{"purged": true, "purged_at": …}`, which the job view
shows. An upload's file is deleted from storage once it is past retention and
no unfinished job still needs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.clock import isoformat, utcnow
from shared.jobs.models import Job, Upload
from shared.jobs.states import TERMINAL_STATUSES, JobStatus
from shared.retention.models import PurgedUpload
from shared.settings import get_settings
from shared.storage.factory import get_storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    jobs: int
    uploads: int


def retention_cutoff() -> datetime:
    return utcnow() - timedelta(days=get_settings().retention_days)


def purge_expired(session: Session, *, limit: int | None = None) -> PurgeReport:
    limit = limit or get_settings().retention_batch_size
    cutoff = retention_cutoff()
    return PurgeReport(jobs=_purge_jobs(session, cutoff, limit),
                       uploads=_purge_uploads(session, cutoff, limit))


def _purge_jobs(session: Session, cutoff: datetime, limit: int) -> int:
    expired = (
        select(Job.id).where(Job.status.in_(TERMINAL_STATUSES), Job.finished_at < cutoff,
                             or_(Job.result.is_(None), ~Job.result.has_key("purged")))
        .limit(limit).with_for_update(skip_locked=True)
    )
    marker = {"purged": True, "purged_at": isoformat(utcnow())}
    purged = session.scalars(
        update(Job).where(Job.id.in_(expired.scalar_subquery())).values(result=marker)
        .returning(Job.id).execution_options(synchronize_session=False)
    )
    return len(list(purged))


def _purge_uploads(session: Session, cutoff: datetime, limit: int) -> int:
    still_needed = exists().where(Job.upload_id == Upload.id,
                                  Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    already = exists().where(PurgedUpload.upload_id == Upload.id)
    uploads = session.execute(
        select(Upload.id, Upload.storage_key)
        .where(Upload.created_at < cutoff, ~still_needed, ~already).limit(limit)
    ).all()
    storage = get_storage()
    purged = []
    for upload_id, key in uploads:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - one failing delete must not stop the rest
            log.warning("could not delete %s; next run retries", key, exc_info=True)
            continue
        purged.append(upload_id)
    if purged:
        session.execute(pg_insert(PurgedUpload).values([{"upload_id": upload_id, "purged_at": utcnow()}
                                                        for upload_id in purged])
                        .on_conflict_do_nothing())
    return len(purged)
