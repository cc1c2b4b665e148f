"""Crypto suites and the key-encryption key: the only place dossier code meets ciphers.

Why suites: government deployments must use the Chinese national algorithms (SM4, SM3 — GB/T
32907-2016, GB/T 32905-2016), others use AES-256-GCM and SHA-256 (FIPS 197, SP 800-38D, FIPS
180-4). Dossier and blob code call a :class:`CryptoSuite` and never name an algorithm, so
switching ``crypto_suite`` from ``intl`` to ``gm`` touches no dossier code. Both suites use the
``cryptography`` package (OpenSSL): nothing is hand-rolled.

Why wrapped data keys: each blob is encrypted under its own random data key, and only the
data key wrapped by the hub's key-encryption key (KEK) is stored beside it. The KEK is a file by
default; a KMS implements the same :class:`KeyEncryptionKey` protocol (wrap/unwrap).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import (
    AEADDecryptionContext,
    Cipher,
    algorithms,
    modes,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casebridge.errors import AlteredData, ConfigError, CorruptData, Said
from casebridge.i18n import N_

__all__ = [
    "SUITES",
    "CryptoSuite",
    "DataKeys",
    "FileKek",
    "GmSuite",
    "IntlSuite",
    "KeyEncryptionKey",
    "SealInto",
    "open_envelope",
    "seal_envelope",
    "suite_named",
]

NONCE_BYTES = 12
TAG_BYTES = 16


class CryptoSuite(Protocol):
    """An AEAD cipher and a hash, chosen per deployment."""

    name: str
    key_bytes: int

    def digest(self, data: bytes) -> bytes: ...

    def seal(self, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        """Ciphertext followed by the 16-byte tag."""
        ...

    def seal_into(
        self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes, out: memoryview
    ) -> None:
        """Like :meth:`seal`, written into ``out`` (exactly ``len(data) + 16`` bytes): the
        blob store hands its own aligned buffer, so a page is not copied again to be written."""
        ...

    def open(self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes) -> bytes:
        """Plaintext, or :class:`cryptography.exceptions.InvalidTag`."""
        ...

    def open_into(
        self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes, out: memoryview
    ) -> None:
        """Like :meth:`open`, the plaintext written into ``out`` (``len(data)`` bytes of
        room, for ``len(data) - 16`` of plaintext); what ``out`` holds after a failure is
        not plaintext and must not be used."""
        ...


class IntlSuite:
    """AES-256-GCM and SHA-256."""

    name = "intl"
    key_bytes = 32

    def digest(self, data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def seal(self, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        return AESGCM(key).encrypt(nonce, data, aad)

    def seal_into(
        self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes, out: memoryview
    ) -> None:
        AESGCM(key).encrypt_into(nonce, data, aad, out)

    def open(self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes) -> bytes:
        return AESGCM(key).decrypt(nonce, data, aad)

    def open_into(
        self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes, out: memoryview
    ) -> None:
        if len(data) < TAG_BYTES:
            raise InvalidTag
        AESGCM(key).decrypt_into(nonce, data, aad, out[: len(data) - TAG_BYTES])


class GmSuite:
    """SM4-GCM (RFC 8998 §2.1 names this AEAD for TLS) and SM3, through OpenSSL."""

    name = "gm"
    key_bytes = 16

    def digest(self, data: bytes) -> bytes:
        return hashlib.new("sm3", data).digest()

    def seal(self, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        return enc.update(data) + enc.finalize() + enc.tag

    def seal_into(
        self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes, out: memoryview
    ) -> None:
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        n = len(data)
        if n:  # update_into wants len(data) + 15 bytes of room; out has + 16 (for the tag)
            enc.update_into(data, out)
        enc.finalize()
        out[n : n + TAG_BYTES] = enc.tag

    def open(self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes) -> bytes:
        dec, body = self._decryptor(key, nonce, data, aad)
        return dec.update(body) + dec.finalize()

    def open_into(
        self, key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes, out: memoryview
    ) -> None:
        dec, body = self._decryptor(key, nonce, data, aad)
        if len(body):  # update_into wants len(body) + 15 bytes of room; out has + 16
            dec.update_into(body, out)
        dec.finalize()  # the tag: InvalidTag if the body or the data were altered

    @staticmethod
    def _decryptor(
        key: bytes, nonce: bytes, data: bytes | memoryview, aad: bytes
    ) -> tuple[AEADDecryptionContext, bytes | memoryview]:
        """The decryptor for ``data`` (ciphertext then tag), and the ciphertext."""
        if len(data) < TAG_BYTES:
            raise InvalidTag
        body, tag = data[:-TAG_BYTES], bytes(data[-TAG_BYTES:])
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(aad)
        return dec, body


SUITES: dict[str, CryptoSuite] = {"intl": IntlSuite(), "gm": GmSuite()}


def suite_named(name: str) -> CryptoSuite:
    try:
        return SUITES[name]
    except KeyError:
        raise ConfigError(
            N_("unknown crypto suite {name}; known: {known}"),
            params={"name": repr(name), "known": ", ".join(SUITES)},
        ) from None


class KeyEncryptionKey(Protocol):
    """Wraps and unwraps data keys; a file key here, a KMS elsewhere."""

    key_id: bytes  # 8 bytes, stored in each envelope so that a rotated KEK is recognised

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


class FileKek:
    """A 32-byte KEK in a file (mode 600), created on first use."""

    _AAD = b"casebridge/data-key/v1"

    def __init__(self, path: Path, suite: CryptoSuite) -> None:
        self.suite = suite
        self._key = self._load_or_create(path)[: suite.key_bytes]
        self.key_id = hashlib.sha256(b"kek-id" + self._key).digest()[:8]

    @staticmethod
    def _load_or_create(path: Path) -> bytes:
        if path.exists():
            key = path.read_bytes()
            if len(key) != 32:
                raise ConfigError(
                    N_("KEK file {path} must hold exactly 32 bytes"), params={"path": path}
                )
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # never overwrite a key another process created meanwhile
        except FileExistsError:
            key = path.read_bytes()
        finally:
            tmp.unlink(missing_ok=True)
        return key

    def wrap(self, data_key: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self.suite.seal(self._key, nonce, data_key, self._AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        return self.suite.open(self._key, wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self._AAD)


# Envelope layout (all lengths big-endian):
#   "CBE1" | suite name length (1) | suite name | KEK id (8) | wrapped key length (2) |
#   wrapped key | nonce (12) | ciphertext ‖ tag
_MAGIC = b"CBE1"


def _envelope_head(
    suite: CryptoSuite, kek: KeyEncryptionKey, data_key: tuple[bytes, bytes] | None = None
) -> tuple[bytes, bytes, bytes]:
    """(everything before the ciphertext, the data key, the nonce). ``data_key`` is a
    (key, wrapped key) pair to reuse; without it a fresh key is made and wrapped."""
    if data_key is None:
        key = secrets.token_bytes(suite.key_bytes)
        data_key = (key, kek.wrap(key))
    key, wrapped = data_key
    nonce = secrets.token_bytes(NONCE_BYTES)
    name = suite.name.encode()
    head = b"".join(
        (_MAGIC, bytes([len(name)]), name, kek.key_id, struct.pack(">H", len(wrapped)), wrapped)
    )
    return head + nonce, key, nonce


class DataKeys:
    """Data keys for many envelopes: a key is used for ``per_key`` blobs, then replaced.

    Why not one key per blob: wrapping costs a KEK call per page (with a KMS, a network
    round trip per page). Each envelope still carries its wrapped key and its own random
    96-bit nonce; 4,096 blobs per key is far inside AES-GCM's 2^32 random-nonce bound.
    Unwrapped keys are remembered (bounded) so that reading a dossier unwraps each once.
    """

    def __init__(self, suite: CryptoSuite, kek: KeyEncryptionKey, per_key: int = 4096) -> None:
        self.suite, self.kek, self.per_key = suite, kek, per_key
        self._lock = threading.Lock()
        self._current: tuple[bytes, bytes] | None = None
        self._uses = 0
        self._unwrapped: OrderedDict[bytes, bytes] = OrderedDict()

    def current(self) -> tuple[bytes, bytes]:
        with self._lock:
            if self._current is None or self._uses >= self.per_key:
                key = secrets.token_bytes(self.suite.key_bytes)
                self._current = (key, self.kek.wrap(key))
                self._uses = 0
            self._uses += 1
            return self._current

    def unwrap(self, wrapped: bytes) -> bytes:
        with self._lock:
            key = self._unwrapped.get(wrapped)
            if key is not None:
                self._unwrapped.move_to_end(wrapped)
                return key
        key = self.kek.unwrap(wrapped)  # raises InvalidTag for a wrapped key altered on disk
        with self._lock:
            self._unwrapped[wrapped] = key
            while len(self._unwrapped) > 256:
                self._unwrapped.popitem(last=False)
        return key


def seal_envelope(
    suite: CryptoSuite,
    kek: KeyEncryptionKey,
    aad: bytes,
    plaintext: bytes,
    data_key: tuple[bytes, bytes] | None = None,
) -> bytes:
    """Encrypt under ``data_key`` (a fresh one if None); ``aad`` (the page hash) binds the
    blob to its address."""
    head, key, nonce = _envelope_head(suite, kek, data_key)
    return head + suite.seal(key, nonce, plaintext, aad)


class SealInto:
    """An envelope ready to be written into a buffer the caller owns (see ``seal_into``)."""

    def __init__(
        self,
        suite: CryptoSuite,
        kek: KeyEncryptionKey,
        aad: bytes,
        plaintext: bytes | memoryview,
        data_key: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.suite, self.aad, self.plaintext = suite, aad, plaintext
        self.head, self.data_key, self.nonce = _envelope_head(suite, kek, data_key)
        self.size = len(self.head) + len(plaintext) + TAG_BYTES

    def __call__(self, out: memoryview) -> None:
        """Write the whole envelope (``self.size`` bytes) into ``out``."""
        h = len(self.head)
        out[:h] = self.head
        self.suite.seal_into(
            self.data_key, self.nonce, self.plaintext, self.aad, out[h : self.size]
        )


@overload
def open_envelope(
    suite: CryptoSuite,
    kek: KeyEncryptionKey,
    aad: bytes,
    blob: bytes | memoryview,
    what: object,
    keys: DataKeys | None = None,
    out: None = None,
) -> bytes: ...


@overload
def open_envelope(
    suite: CryptoSuite,
    kek: KeyEncryptionKey,
    aad: bytes,
    blob: bytes | memoryview,
    what: object,
    keys: DataKeys | None = None,
    *,
    out: memoryview,
) -> memoryview: ...


def open_envelope(
    suite: CryptoSuite,
    kek: KeyEncryptionKey,
    aad: bytes,
    blob: bytes | memoryview,
    what: object,
    keys: DataKeys | None = None,
    out: memoryview | None = None,
) -> bytes | memoryview:
    """Decrypt and authenticate, or raise :class:`CorruptData` naming ``what``. With
    ``out`` (room for the ciphertext and its tag) the plaintext is written there and a view
    of it returned: a download decrypts into slabs instead of a new ``bytes`` per page."""
    view = memoryview(blob)  # slices without copying the body
    try:
        if view[:4] != _MAGIC:
            raise ValueError(Said(N_("not a casebridge envelope")))
        n = view[4]
        name = bytes(view[5 : 5 + n]).decode()
        pos = 5 + n
        key_id = bytes(view[pos : pos + 8])
        (wlen,) = struct.unpack(">H", view[pos + 8 : pos + 10])
        pos += 10
        wrapped = bytes(view[pos : pos + wlen])
        pos += wlen
        nonce = bytes(view[pos : pos + NONCE_BYTES])
        body = view[pos + NONCE_BYTES :]
        if name != suite.name:
            raise ValueError(
                Said(
                    N_("sealed with suite {sealed}, this hub uses {suite}"),
                    sealed=repr(name),
                    suite=repr(suite.name),
                )
            )
        if key_id != kek.key_id:
            raise ValueError(Said(N_("sealed under another key-encryption key")))
        data_key = keys.unwrap(wrapped) if keys is not None else kek.unwrap(wrapped)
        if out is None:
            return suite.open(data_key, nonce, body, aad)
        suite.open_into(data_key, nonce, body, aad, out)
        return out[: len(body) - TAG_BYTES]
    except InvalidTag:
        raise AlteredData(
            N_("{what}: stored blob fails its authentication tag (altered)"), params={"what": what}
        ) from None
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
        # the reasons raised above are said in the reader's language; others as they are
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], Said) else exc
        raise CorruptData(
            N_("{what}: stored blob is unreadable ({reason})"),
            params={"what": what, "reason": reason},
        ) from None
