"""Quarry client: typed sync/async SDK and webhook verification.

The `quarry` CLI (`quarry-client[cli]`) and MCP server (`quarry-client[mcp]`) are optional
extras; importing this package never loads them.
"""

from quarry_client.async_client import AsyncQuarry
from quarry_client.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    InsufficientCredits,
    JobCanceled,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    QuarryConnectionError,
    QuarryError,
    QuarryTimeout,
    RateLimited,
    SchemaValidationFailed,
    ServerError,
    ServiceUnavailable,
    UpstreamError,
)
from quarry_client.files import derived_idempotency_key
from quarry_client.models import (
    ApiKey,
    Artifact,
    Balance,
    Batch,
    BatchCreated,
    BatchPage,
    CreditBalance,
    ExtractResult,
    IssuedKey,
    Job,
    JobPage,
    MarkdownResult,
    Me,
    PageMarkdown,
    PresignedUpload,
    Tenant,
    TrainingJob,
    Usage,
)
from quarry_client.options import EXTRACT, TO_MARKDOWN, JobOptions, ModelConfig
from quarry_client.retry import RetryPolicy
from quarry_client.sync_client import Quarry
from quarry_client.webhooks import WebhookVerificationError, sign_webhook, verify_webhook

__version__ = "0.1.0"
__all__ = [
    "EXTRACT", "TO_MARKDOWN", "ApiKey", "Artifact", "AsyncQuarry", "AuthenticationError", "BadRequest",
    "Balance", "Batch", "BatchCreated", "BatchPage", "Conflict", "CreditBalance", "ExtractResult",
    "InsufficientCredits", "IssuedKey", "Job", "JobCanceled", "JobOptions", "JobPage", "MarkdownResult",
    "Me", "ModelConfig", "NotFound", "PageMarkdown", "PayloadTooLarge", "PermissionDenied",
    "PresignedUpload", "Quarry", "QuarryConnectionError", "QuarryError", "QuarryTimeout", "RateLimited",
    "RetryPolicy", "SchemaValidationFailed", "ServerError", "ServiceUnavailable", "Tenant",
    "TrainingJob", "UpstreamError", "Usage", "WebhookVerificationError", "derived_idempotency_key",
    "sign_webhook", "verify_webhook",
]
