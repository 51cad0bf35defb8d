"""S3 backend through boto3: presigned PUTs straight to the bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.clock import utcnow
from shared.errors import StorageError
from shared.storage.base import PresignedUpload, StoredObject


class S3Storage:
    def __init__(
        self, bucket: str, *, endpoint_url: str | None, region: str,
        presign_endpoint_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        config = Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                        connect_timeout=5, read_timeout=30)
        self.client: Any = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )
        # Browsers and clients may reach S3 by another name than the servers do (compose).
        self.presign_client: Any = boto3.client(
            "s3", endpoint_url=presign_endpoint_url or endpoint_url, region_name=region,
            config=config,
        )

    def presign_put(
        self, key: str, *, upload_id: str, content_type: str | None, expires_s: int
    ) -> PresignedUpload:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        headers: dict[str, str] = {}
        if content_type:
            params["ContentType"] = content_type
            headers["Content-Type"] = content_type
        url = self.presign_client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_s
        )
        return PresignedUpload(
            url=url, expires_at=utcnow() + timedelta(seconds=expires_s), headers=headers
        )

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError() from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageError() from exc
        return body

    def size(self, key: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise StorageError() from exc
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    modified = item["LastModified"].astimezone(UTC)
                    yield StoredObject(key=item["Key"], modified_at=modified)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError() from exc

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)
