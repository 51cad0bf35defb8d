"""All configuration, in one typed object read from `QUARRY_*` variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.limits.plans import BUILTIN_PLANS, STANDARD_PLAN, Plan
from shared.provider_links import ProviderLink

DEV_SECRET = "dev-secret-change-me"
# Values that mean "nobody set a secret": refused in production, like the dev default.
PLACEHOLDER_SECRETS = frozenset({
    "replace-me", "replaceme", "change-me", "changeme", "secret", "password", "dev", "test",
    "dev-secret", "test-secret", "default", "example", "quarry", "quarry-secret", "todo", "xxx",
})
MIN_PRODUCTION_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Quarry settings. Every field maps to `QUARRY_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="QUARRY_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEV_SECRET
    data_dir: Path = Path("data")
    public_base_url: str = "http://127.0.0.1:8000"
    # The web console's session cookie lives this long; sign in again after it.
    console_session_ttl_s: int = Field(default=3600, ge=60, le=86400)
    # Failed console sign-ins one client address may make in a window before it gets 429
    # (guessing API keys through the form); successful sign-ins do not count.
    console_sign_in_max_failures: int = Field(default=10, ge=1, le=10_000)
    console_sign_in_window_s: int = Field(default=900, ge=1, le=86400)
    log_level: str = "INFO"

    database_url: str = Field(
        default="", validation_alias=AliasChoices("QUARRY_DATABASE_URL", "DATABASE_URL")
    )
    redis_url: str = Field(
        default="", validation_alias=AliasChoices("QUARRY_REDIS_URL", "REDIS_URL")
    )
    db_pool_size: int = 10
    # The API's thread pool runs 40 requests at once; each may need a connection.
    db_max_overflow: int = 30
    db_pool_timeout_s: float = 10.0
    db_connect_timeout_s: int = 3
    redis_socket_timeout_s: float = 3.0

    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None
    s3_bucket: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_presign_endpoint_url: str | None = None

    max_upload_bytes: int = 50 * 1024 * 1024
    # Bodies without a file: 1 MiB of fields and room for a 100 KB schema, with margin.
    # Batches carry up to 10,000 items, each with its own options.
    max_json_body_bytes: int = 2 * 1024 * 1024
    max_batch_body_bytes: int = 32 * 1024 * 1024
    presign_expiry_s: int = 900
    max_pages: int = 2000
    # Documents in: decompression and archive bomb limits, per-page work, local OCR.
    max_image_pixels: int = 100_000_000
    max_archive_entries: int = 10_000
    max_archive_uncompressed_bytes: int = 512 * 1024 * 1024
    max_archive_compression_ratio: float = 200.0
    # Office parsers hold each XML part whole in memory (XLSX worksheets are streamed).
    max_office_xml_part_bytes: int = 20 * 1024 * 1024
    # HTML (files, e-mail bodies) nesting elements deeper than this is refused up front.
    max_html_depth: int = Field(default=256, ge=16)
    page_time_limit_s: float = 20.0
    # Page images (`GET /v1/jobs/{id}/pages/{n}.png`) are drawn in a child process killed
    # past the timeout (413 `page_too_complex`, remembered beside the file for about an
    # hour), with its own heap cap; renders at once per API process and per tenant (429).
    page_image_timeout_s: float = Field(default=10.0, gt=0)
    page_image_memory_mb: int = 1536
    page_image_max_concurrent: int = Field(default=4, ge=1)
    page_image_max_per_tenant: int = Field(default=2, ge=1)
    # Long PDFs: above this many pages a job is converted in page-range parts by several
    # worker processes and joined (0: never split); pages per part.
    split_pages_threshold: int = Field(default=200, ge=0)
    split_pages_per_part: int = Field(default=50, ge=1)
    ocr_dpi: int = 150
    ocr_threads: int = 0
    # Schemas and metadata from tenants: bounds far above real extraction schemas. The
    # expanded size counts every value once `$ref`s are inlined (a few KB of `$defs` can
    # expand to billions of nodes); metadata is a small object echoed back on the job.
    max_schema_bytes: int = 100_000
    max_schema_properties: int = 1_000
    max_schema_expanded_nodes: int = 50_000
    max_metadata_bytes: int = 16_384
    max_metadata_depth: int = 16

    default_wait_s: float = 60.0
    max_wait_s: float = 300.0
    idempotency_ttl_s: int = 24 * 3600

    job_soft_time_limit_s: int = 300
    job_hard_time_limit_s: int = 360
    job_max_retries: int = 3
    job_retry_backoff_s: int = 2
    worker_max_tasks_per_child: int = 500
    worker_max_memory_per_child_kb: int = 1_000_000
    # Hard cap on a worker process's heap (RLIMIT_DATA): a file that needs more fails with 413.
    job_max_memory_mb: int = 3072
    broker_visibility_timeout_s: int = 900
    sweeper_interval_s: float = 30.0
    worker_metrics_port: int = 9808
    # OTLP/HTTP collector base URL (e.g. http://otel-collector:4318); empty: no tracing.
    otel_exporter_endpoint: str = ""
    sweeper_stale_queued_s: float = 60.0

    # Billing and fairness. Prices are credits per page.
    price_extract_fast: int = 1
    price_extract_standard: int = 3
    price_extract_robust: int = 6
    price_markdown_fast: int = 1
    price_markdown_default: int = 2
    byok_rate_percent: int = 50
    free_pages_per_month: int = 0
    rate_heavy_per_s: float = 5.0
    rate_heavy_burst: int = 20
    rate_general_per_s: float = 50.0
    rate_general_burst: int = 200
    max_inflight_heavy: int = 32
    # One tenant's share of an API server: heavy requests reading a body or submitting, and
    # sync calls waiting for a result (past it a sync call answers 202 at once).
    max_inflight_heavy_per_tenant: int = 8
    max_waiting_per_tenant: int = 16
    # A request body must arrive within `body_timeout_s`, plus one second for each
    # `body_min_bytes_per_s` received (a slow but steady upload keeps going); else 408.
    body_timeout_s: float = Field(default=30.0, gt=0)
    body_min_bytes_per_s: int = Field(default=64 * 1024, gt=0)
    max_queue_depth: int = 50_000

    # --- plan settings (docs/plans.md) ---
    # Named plans on top of the built-in `free`, `premium` and `standard` (the flat settings
    # above): JSON, e.g. {"team": {"heavy": {"per_minute": 300}, "general": {"per_minute":
    # 3000}, "max_upload_mb": 100, "free_pages_per_month": 500}}; a built-in name redefines it.
    plans: dict[str, Plan] = {}
    # Tenants with no plan of their own. `standard` keeps what tenants had before plans.
    default_plan: str = STANDARD_PLAN

    @field_validator("default_plan")
    @classmethod
    def _default_plan_exists(cls, value: str, info: ValidationInfo) -> str:
        known = {STANDARD_PLAN, *BUILTIN_PLANS, *(info.data.get("plans") or {})}
        if value not in known:
            raise ValueError(f"QUARRY_DEFAULT_PLAN {value!r} is not a plan: {sorted(known)}")
        return value

    dev_tenant_name: str = "dev"
    dev_tenant_credits: int = 1000

    # Trained pipelines: how many labeled examples a training job takes, and the share of
    # them held out to choose and report on the pipeline variant. Training is free.
    training_min_examples: int = 4
    training_max_examples: int = 100
    training_holdout_fraction: float = Field(default=0.5, gt=0.0, lt=1.0)

    # Extraction LLM. An empty default model means the server has none: without a BYOK
    # key the local engine extracts. The key is read from the environment only.
    llm_default_model: str = ""
    llm_default_api_key: str = ""
    llm_default_api_base: str | None = None
    llm_timeout_s: float = 60.0  # a provider request's total time, however the bytes trickle
    llm_num_retries: int = 2
    llm_retry_backoff_s: float = 1.0
    llm_chunk_tokens: int = 12_000
    llm_max_parallel_chunks: int = 4
    # --- provider chain settings (docs/providers.md) ---
    # Ordered fallback chains of LiteLLM deployments (JSON lists of `ProviderLink`): the
    # extraction chain, and the vision chain that reads scanned pages for jobs without a
    # BYOK OCR model. An empty `llm_chain` makes `llm_default_model` its one link.
    llm_chain: list[ProviderLink] = []
    ocr_chain: list[ProviderLink] = []
    # A link that rate-limits (429) rests at once, for its Retry-After or `llm_cooldown_s`;
    # other failures rest it after more than `llm_allowed_fails` in a minute.
    llm_cooldown_s: float = Field(default=60.0, gt=0, le=86400)
    llm_allowed_fails: int = Field(default=3, ge=0, le=1000)
    # When every link failed, the local engine answers extraction (and local OCR reads pages).
    llm_chain_local_last: bool = True
    # --- routing settings (docs/routing.md) ---
    # Standard mode sends a clear text document with a simple schema to the local engine first
    # and escalates to the model when the local result misses a required field or its overall
    # confidence (0-100) is under this threshold. 80, not 50: on 134 real scans 50 never fired
    # (no local answer scored 50-59), 80 cut wrong fields shipped by a fifth for 6 % more model
    # calls; see "How the threshold was chosen" in docs/routing.md.
    routing_escalate_below_confidence: int = Field(default=80, ge=0, le=100)
    # A schema is "simple" with at most this many leaf fields, at most one level of nested
    # objects and no arrays of objects.
    routing_simple_schema_max_fields: int = Field(default=12, ge=1)
    # Chunks a rate limit left unfinished are retried (honouring Retry-After, else a doubling
    # backoff from `routing_chunk_retry_backoff_s`) for at most this long, and never past the
    # job's soft time limit minus `routing_time_margin_s`; what is still missing then ends the
    # job `partial`.
    routing_chunk_retry_budget_s: float = Field(default=120.0, ge=0)
    routing_chunk_retry_backoff_s: float = Field(default=2.0, gt=0)
    routing_time_margin_s: float = Field(default=30.0, ge=0)

    # Outbound requests (webhooks, BYOK api_base): the SSRF guard refuses non-public
    # addresses unless allowed here. Comma-separated; link-local and cloud metadata
    # addresses need a network that names them explicitly (see shared/net/ssrf.py).
    outbound_allowed_hosts: Annotated[list[str], NoDecode] = []
    outbound_allowed_networks: Annotated[list[str], NoDecode] = []
    file_url_timeout_s: float = Field(default=30.0, gt=0)
    """The total time a worker gives a job's `file_url` download, however the bytes trickle."""
    # A `file_url` must keep sending: past the grace period its average rate must stay above
    # the floor, and no single read may wait longer than the stall limit. A trickling source
    # fails fast (400 `file_url_failed`) instead of holding a worker slot to the deadline.
    file_url_min_bytes_per_s: int = Field(default=32 * 1024, ge=0)
    file_url_rate_grace_s: float = Field(default=5.0, ge=0)
    file_url_stall_s: float = Field(default=10.0, gt=0)
    # At most this many `file_url` fetches per tenant at once, across all workers (a Redis
    # semaphore whose entries expire, so a killed worker cannot leak one). A job past the cap
    # waits in the queue, re-sent after `file_url_wait_s`, without holding a worker slot.
    file_url_max_per_tenant: int = Field(default=2, ge=1)
    file_url_wait_s: float = Field(default=2.0, gt=0)

    # Webhooks: per-attempt total time, retry delays (jittered), secret rotation overlap.
    webhook_timeout_s: float = 10.0
    webhook_retry_schedule_s: Annotated[list[float], NoDecode] = [
        5, 30, 120, 600, 1800, 3600, 10800, 21600, 28800, 28800,
    ]
    webhook_retry_jitter: float = 0.2
    webhook_secret_overlap_s: int = 24 * 3600
    webhook_max_payload_bytes: int = 256 * 1024
    webhook_sweep_interval_s: float = 60.0

    # Batches: size cap and the fair dispatcher that keeps the bulk queue topped up.
    batch_max_items: int = 10_000
    bulk_queue_target: int = 32
    batch_dispatch_interval_s: float = 5.0

    # Retention: results and files of finished jobs are purged after this many days.
    retention_days: float = 30.0
    retention_interval_s: float = 3600.0
    retention_batch_size: int = 500

    @field_validator("outbound_allowed_hosts", "outbound_allowed_networks",
                     "webhook_retry_schedule_s", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip().removeprefix("[").removesuffix("]")
            return [part.strip().strip('"') for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _fail_fast_on_nonsense(self) -> Settings:
        if self.environment == "production" and _is_placeholder_secret(self.secret_key):
            raise ValueError(
                "QUARRY_SECRET_KEY must be set in production: a random value of at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} characters, not a placeholder"
            )
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("QUARRY_S3_BUCKET is required with the s3 storage backend")
        if self.job_hard_time_limit_s <= self.job_soft_time_limit_s:
            raise ValueError("job_hard_time_limit_s must exceed job_soft_time_limit_s")
        return self

    @property
    def local_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "storage"

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        if url.startswith("postgres://"):
            return "postgresql+psycopg://" + url.removeprefix("postgres://")
        return url


def _is_placeholder_secret(secret: str) -> bool:
    value = secret.strip().lower()
    words = set(value.replace("_", "-").split("-"))
    return (
        len(value) < MIN_PRODUCTION_SECRET_LENGTH
        or value == DEV_SECRET
        or value in PLACEHOLDER_SECRETS
        or bool(words & {"replace", "changeme", "placeholder"})
        or value.startswith(("dev-", "test-", "change-me", "replace-me"))
        or len(set(value)) < 8
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests clear the cache after changing the environment."""
    return Settings()
