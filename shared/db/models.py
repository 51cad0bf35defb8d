"""Every table, imported in one place for Alembic and for `Base.metadata`."""

from shared.artifacts.models import Artifact, TrainingJob
from shared.batches.models import Batch, BatchItem
from shared.billing.models import LedgerEntry
from shared.db.base import Base
from shared.jobs.models import Job, Upload
from shared.jobs.parts import JobPart
from shared.retention.models import PurgedUpload
from shared.tenants.models import ApiKey, Tenant
from shared.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSecretRotation

__all__ = [
    "ApiKey",
    "Artifact",
    "Base",
    "Batch",
    "BatchItem",
    "Job",
    "JobPart",
    "LedgerEntry",
    "PurgedUpload",
    "Tenant",
    "TrainingJob",
    "Upload",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSecretRotation",
]
