"""The one place a storage backend is built, for the API and the worker alike."""

from __future__ import annotations

from functools import lru_cache

from shared.settings import get_settings
from shared.storage.base import Storage
from shared.storage.local import LocalStorage
from shared.storage.s3 import S3Storage


@lru_cache
def get_storage() -> Storage:
    settings = get_settings()
    if settings.storage_backend == "s3":
        return S3Storage(
            settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
            presign_endpoint_url=settings.s3_presign_endpoint_url,
        )
    return LocalStorage(settings.local_storage_dir, settings.public_base_url)
