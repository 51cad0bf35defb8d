"""Purge what the retention period no longer covers, a bounded slice per run.

A purged job keeps its row (status, timestamps, cost, metadata, error) and its
result is replaced by `{"purged": true, "purged_at": …}`, which the job view
shows. An upload's file is deleted from storage once it is past retention and
no unfinished job still needs it. Objects under `<tenant>/uploads/` that no upload
row names (bytes kept by a transaction that never committed) are deleted once they
are older than `ORPHAN_GRACE`, which outlasts any transaction that could still commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy import exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.clock import isoformat, utcnow
from shared.jobs.models import Job, Upload
from shared.jobs.states import TERMINAL_STATUSES, JobStatus
from shared.retention.models import PurgedUpload
from shared.settings import get_settings
from shared.storage.base import StoredObject
from shared.storage.factory import get_storage

log = logging.getLogger(__name__)
ORPHAN_GRACE = timedelta(hours=1)
ORPHAN_CHUNK = 500


@dataclass(frozen=True)
class PurgeReport:
    jobs: int
    uploads: int
    orphans: int = 0


def retention_cutoff() -> datetime:
    return utcnow() - timedelta(days=get_settings().retention_days)


def purge_expired(session: Session, *, limit: int | None = None) -> PurgeReport:
    limit = limit or get_settings().retention_batch_size
    cutoff = retention_cutoff()
    return PurgeReport(jobs=_purge_jobs(session, cutoff, limit),
                       uploads=_purge_uploads(session, cutoff, limit),
                       orphans=purge_orphans(session, limit=limit))


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


def purge_orphans(session: Session, *, limit: int) -> int:
    """Delete up to `limit` upload objects older than the grace period that no row names."""
    old_enough = utcnow() - ORPHAN_GRACE
    objects = (item for item in get_storage().list_objects()
               if _upload_id(item.key) and item.modified_at < old_enough)
    deleted = 0
    for chunk in _chunks(objects, ORPHAN_CHUNK):
        for key in _orphans(session, [item.key for item in chunk]):
            if deleted >= limit:
                return deleted
            deleted += _delete(key)
    return deleted


def _upload_id(key: str) -> str | None:
    """The upload id in `<tenant>/uploads/<upload_id>/<name>`, None for other keys."""
    parts = key.split("/")
    return parts[2] if len(parts) >= 4 and parts[1] == "uploads" else None


def _orphans(session: Session, keys: list[str]) -> list[str]:
    """The keys no upload row has as its storage key."""
    ids = {_upload_id(key) for key in keys}
    named = set(session.scalars(select(Upload.storage_key).where(Upload.id.in_(ids))))
    return [key for key in keys if key not in named]


def _chunks(items: Iterable[StoredObject], size: int) -> Iterator[list[StoredObject]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _delete(key: str) -> int:
    try:
        get_storage().delete(key)
    except Exception:  # noqa: BLE001 - one failing delete must not stop the rest
        log.warning("could not delete orphan %s; next run retries", key, exc_info=True)
        return 0
    log.info("deleted orphan object %s", key)
    return 1
