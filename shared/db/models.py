"""Every table, imported in one place for Alembic and for `Base.metadata`."""

from shared.billing.models import LedgerEntry
from shared.db.base import Base
from shared.jobs.models import Job, Upload
from shared.tenants.models import ApiKey, Tenant

__all__ = ["ApiKey", "Base", "Job", "LedgerEntry", "Tenant", "Upload"]
