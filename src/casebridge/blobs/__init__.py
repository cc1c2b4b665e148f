"""Content-addressed blob storage for dossier pages: one interface, filesystem and S3 backends.

Blobs are addressed by the SHA-256 of the page *plaintext* (hex), so a page is stored once
however many dossiers and stages use it; what is stored is the encrypted envelope
(:mod:`casebridge.blobs.sealed`).
"""

from __future__ import annotations

from typing import Any

from casebridge.blobs.fs import FsBlobStore
from casebridge.blobs.interface import BlobStore
from casebridge.blobs.sealed import SealedPages
from casebridge.blobs.segments import SegmentBlobStore

__all__ = ["BlobStore", "FsBlobStore", "S3BlobStore", "SealedPages", "SegmentBlobStore"]


def __getattr__(name: str) -> Any:
    if name == "S3BlobStore":  # boto3 is imported only by deployments that use S3
        from casebridge.blobs.s3 import S3BlobStore

        return S3BlobStore
    raise AttributeError(name)
