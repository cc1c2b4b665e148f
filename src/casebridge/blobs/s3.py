"""S3-API blob store (boto3): AWS S3, MinIO, Ceph RGW — any S3-compatible object storage.

An S3 PUT is durable when it returns 200, so ``sync`` has nothing to do. botocore's errors are
translated here: the core sees :class:`NotFound` or :class:`StoreError`, never a vendor type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from casebridge.blobs.interface import check_key
from casebridge.errors import NotFound, StoreError
from casebridge.i18n import N_

__all__ = ["S3BlobStore"]

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        prefix: str = "pages/",
        client: Any = None,
        create_bucket: bool = False,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client: Any = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        if create_bucket:
            try:
                self.client.create_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in {
                    "BucketAlreadyOwnedByYou",
                    "BucketAlreadyExists",
                }:
                    raise StoreError(
                        N_("cannot create bucket {bucket}: {error}"),
                        params={"bucket": bucket, "error": exc},
                    ) from None

    def _key(self, key: str) -> str:
        return f"{self.prefix}{check_key(key)[:2]}/{key}"

    def put(self, key: str, data: bytes) -> bool:
        if self.exists(key):
            return False
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(
                N_("S3 put of {key} failed: {error}"), params={"key": key, "error": exc}
            ) from None
        return True

    def get(self, key: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            data: bytes = obj["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                raise NotFound(N_("no blob {key}"), params={"key": key}) from None
            raise StoreError(
                N_("S3 get of {key} failed: {error}"), params={"key": key, "error": exc}
            ) from None
        except BotoCoreError as exc:
            raise StoreError(
                N_("S3 get of {key} failed: {error}"), params={"key": key, "error": exc}
            ) from None
        return data

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                return False
            raise StoreError(
                N_("S3 head of {key} failed: {error}"), params={"key": key, "error": exc}
            ) from None
        except BotoCoreError as exc:
            raise StoreError(
                N_("S3 head of {key} failed: {error}"), params={"key": key, "error": exc}
            ) from None
        return True

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(
                N_("S3 delete of {key} failed: {error}"), params={"key": key, "error": exc}
            ) from None

    def sync(self) -> None:
        """Nothing to do: S3 acknowledges a PUT only once it is durable."""

    def keys(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", []):
                    yield str(obj["Key"]).rsplit("/", 1)[-1]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(N_("S3 listing failed: {error}"), params={"error": exc}) from None
