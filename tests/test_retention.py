"""Retention: old results and files are purged; the job keeps its metadata and says so."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from shared.clock import utcnow
from shared.db.session import transaction
from shared.jobs.models import Job, Upload
from shared.retention.service import purge_expired
from shared.storage.factory import get_storage
from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process


def age(job_id: str, days: float) -> str:
    """Pretend the job (and its upload) finished `days` ago; return the file's storage key."""
    past = utcnow() - timedelta(days=days)
    with transaction() as session:
        job = session.get_one(Job, job_id)
        session.execute(update(Job).where(Job.id == job_id).values(finished_at=past))
        session.execute(update(Upload).where(Upload.id == job.upload_id).values(created_at=past))
        return session.get_one(Upload, job.upload_id).storage_key


def test_old_results_and_files_are_purged_recent_ones_kept(
    api: ApiServer, worker: Process
) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        old, recent = (client.post("/v1/to-markdown", files={"file": ("d.pdf", make_pdf())},
                                   data={"metadata": '{"ref": "keep-me"}'}).json()
                       for _ in range(2))
        old_key, recent_key = age(old["job_id"], 31), age(recent["job_id"], 1)
        storage = get_storage()
        assert storage.size(old_key) and storage.size(recent_key)
        with transaction() as session:
            report = purge_expired(session)
        assert report.jobs >= 1 and report.uploads >= 1
        purged = client.get(f"/v1/jobs/{old['job_id']}").json()
        kept = client.get(f"/v1/jobs/{recent['job_id']}").json()
    assert purged["purged"] is True and purged["purged_at"]
    assert "markdown" not in purged and "plain_text" not in purged
    assert purged["metadata"] == {"ref": "keep-me"} and purged["status"] == "succeeded"
    assert purged["cost"] == old["cost"]
    assert kept["purged"] is False and kept["markdown"]
    assert storage.size(old_key) is None and storage.size(recent_key)
