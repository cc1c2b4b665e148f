"""Pages at rest: the plaintext hash is the address, the stored bytes are an AEAD envelope.

Reading a page authenticates the envelope (tag over the ciphertext, with the page hash as
associated data, so a blob moved to another address fails too) and re-checks the plaintext hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from casebridge.blobs.interface import BlobStore
from casebridge.errors import AlteredData, CorruptData
from casebridge.i18n import N_
from casebridge.security.crypto import (
    CryptoSuite,
    DataKeys,
    KeyEncryptionKey,
    SealInto,
    open_envelope,
    seal_envelope,
)
from casebridge.slabs import Slabs

__all__ = ["SealedPages"]


class SealedPages:
    def __init__(self, store: BlobStore, suite: CryptoSuite, kek: KeyEncryptionKey) -> None:
        self.store = store
        self.suite = suite
        self.kek = kek
        self.keys = DataKeys(suite, kek)

    def put(self, sha256: str, plaintext: bytes | memoryview) -> bool:
        """Encrypt and store (not yet durable: call :meth:`sync`). Caller verified the hash."""
        data_key = self.keys.current()
        put_with = getattr(self.store, "put_with", None)
        if put_with is not None:  # the store lends its write buffer: encrypt straight into it
            seal = SealInto(self.suite, self.kek, sha256.encode(), plaintext, data_key)
            return bool(put_with(sha256, seal.size, seal))
        return self.store.put(
            sha256,
            seal_envelope(self.suite, self.kek, sha256.encode(), bytes(plaintext), data_key),
        )

    def put_many(self, pages: Sequence[tuple[str, bytes | memoryview]]) -> list[bool]:
        """:meth:`put` for several pages; a store that can takes them in one write
        (``put_many_with``: the segment store)."""
        put_many_with = getattr(self.store, "put_many_with", None)
        if put_many_with is None:
            return [self.put(sha256, plaintext) for sha256, plaintext in pages]
        seals = [
            SealInto(self.suite, self.kek, sha256.encode(), plaintext, self.keys.current())
            for sha256, plaintext in pages
        ]
        return [
            bool(done)
            for done in put_many_with(
                [(sha256, seal.size, seal) for (sha256, _), seal in zip(pages, seals, strict=True)]
            )
        ]

    def get(self, sha256: str, what: object, *, rehash: bool = True) -> bytes:
        """The verified plaintext, or :class:`CorruptData` naming ``what`` (the page: a
        ``PageRef``, said in the reader's language, or a string).

        The AEAD tag (with the address as associated data) already proves the blob is the one
        sealed after its hash was checked; ``rehash=False`` skips the second proof on the hot
        streaming path, where the receiver hashes every page anyway.
        """
        opened = self._opened(sha256, self.store.get(sha256), what, rehash)
        assert isinstance(opened, bytes)
        return opened

    def _opened(
        self,
        sha256: str,
        blob: bytes | memoryview,
        what: object,
        rehash: bool,
        out: memoryview | None = None,
    ) -> bytes | memoryview:
        plaintext = open_envelope(
            self.suite, self.kek, sha256.encode(), blob, what, self.keys, out=out
        )
        if rehash and hashlib.sha256(plaintext).hexdigest() != sha256:
            raise AlteredData(
                N_("{what}: decrypted bytes do not match the page hash"), params={"what": what}
            )
        return plaintext

    def get_many(
        self,
        pages: Sequence[tuple[str, object]],
        *,
        rehash: bool = True,
        into: Slabs | None = None,
    ) -> list[bytes | memoryview | CorruptData]:
        """:meth:`get` for several pages (hash, what), in order; a page that fails is its
        :class:`CorruptData` in the list, so that the pages before it can still be served.
        A store that can reads blobs lying together at once (``get_many_with``: the segment
        store). With ``into``, the pages are decrypted one after another into one slab and
        returned as views of it (a page that does not fit gets a ``bytes`` of its own): what
        passes through on its way to a socket leaves no buffer of its own size behind
        (:mod:`casebridge.slabs`)."""
        slab = into.take() if into is not None else None
        at = 0

        def open_one(i: int, blob: bytes | memoryview) -> bytes | memoryview | CorruptData:
            nonlocal at
            sha256, what = pages[i]
            out = None
            if slab is not None and at + len(blob) <= len(slab):
                out = slab[at : at + len(blob)]  # room for the ciphertext, as decrypt wants
            try:
                opened = self._opened(sha256, blob, what, rehash, out)
            except CorruptData as exc:
                return exc
            if out is not None:
                at += len(opened)
            return opened

        get_many_with = getattr(self.store, "get_many_with", None)
        if get_many_with is None:
            return [open_one(i, self.store.get(sha256)) for i, (sha256, _) in enumerate(pages)]
        return list(get_many_with([sha256 for sha256, _ in pages], open_one))

    def exists(self, sha256: str) -> bool:
        return self.store.exists(sha256)

    def sync(self) -> None:
        self.store.sync()
