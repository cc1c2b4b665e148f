"""Build the page store the settings ask for (the bootstrap calls this once per container)."""

from __future__ import annotations

from casebridge.blobs.interface import BlobStore
from casebridge.blobs.sealed import SealedPages
from casebridge.blobs.segments import SegmentBlobStore
from casebridge.config import Settings
from casebridge.security.crypto import FileKek, suite_named

__all__ = ["make_blob_store", "make_sealed_pages"]


def make_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "s3":
        from casebridge.blobs.s3 import S3BlobStore  # boto3 costs ~10 MB: only when used

        return S3BlobStore(
            settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
        )
    return SegmentBlobStore(settings.effective_blob_dir)


def make_sealed_pages(settings: Settings) -> SealedPages:
    suite = suite_named(settings.crypto_suite)
    return SealedPages(
        make_blob_store(settings), suite, FileKek(settings.effective_kek_file, suite)
    )
