"""Crypto suites and envelopes: one contract for intl (AES-256-GCM) and gm (SM4-GCM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebridge.errors import AlteredData, ConfigError, CorruptData
from casebridge.security.crypto import SUITES, CryptoSuite, FileKek, open_envelope, seal_envelope


@pytest.fixture(params=sorted(SUITES))
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    return SUITES[request.param]


def test_envelope_round_trips(suite: CryptoSuite, tmp_path: Path) -> None:
    kek = FileKek(tmp_path / "kek.key", suite)
    blob = seal_envelope(suite, kek, b"addr", b"page bytes" * 100)
    assert b"page bytes" not in blob
    assert open_envelope(suite, kek, b"addr", blob, "p1") == b"page bytes" * 100


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 300_007])
def test_an_envelope_opens_into_a_buffer_the_caller_lends(
    suite: CryptoSuite, tmp_path: Path, size: int
) -> None:
    kek = FileKek(tmp_path / "kek.key", suite)
    page = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    blob = seal_envelope(suite, kek, b"addr", page)
    room = memoryview(bytearray(len(blob) + 8))
    opened = open_envelope(suite, kek, b"addr", blob, "p1", out=room[3:])
    assert isinstance(opened, memoryview)
    assert opened.obj is room.obj  # in the lent buffer, where it was asked
    assert bytes(opened) == page


def test_each_envelope_has_its_own_data_key(suite: CryptoSuite, tmp_path: Path) -> None:
    kek = FileKek(tmp_path / "kek.key", suite)
    a = seal_envelope(suite, kek, b"addr", b"same")
    b = seal_envelope(suite, kek, b"addr", b"same")
    assert a != b


@pytest.mark.parametrize("into", [False, True], ids=["bytes", "into-a-buffer"])
@pytest.mark.parametrize("where", [0.1, 0.5, 0.99])
def test_any_flipped_byte_is_detected_and_named(
    suite: CryptoSuite, tmp_path: Path, where: float, into: bool
) -> None:
    kek = FileKek(tmp_path / "kek.key", suite)
    blob = bytearray(seal_envelope(suite, kek, b"addr", b"x" * 1000))
    blob[int(len(blob) * where)] ^= 0x01
    out = memoryview(bytearray(2000)) if into else None
    with pytest.raises(CorruptData, match="page 7"):
        open_envelope(suite, kek, b"addr", bytes(blob), "page 7", out=out)


def test_blob_moved_to_another_address_is_detected(suite: CryptoSuite, tmp_path: Path) -> None:
    kek = FileKek(tmp_path / "kek.key", suite)
    blob = seal_envelope(suite, kek, b"addr-1", b"data")
    with pytest.raises(CorruptData):
        open_envelope(suite, kek, b"addr-2", blob, "page")


def test_another_kek_cannot_open_the_blob(suite: CryptoSuite, tmp_path: Path) -> None:
    """Not *altered*: a hub repair must not forget pages it merely cannot read."""
    blob = seal_envelope(suite, FileKek(tmp_path / "a.key", suite), b"k", b"data")
    with pytest.raises(CorruptData, match="another key-encryption key") as caught:
        open_envelope(suite, FileKek(tmp_path / "b.key", suite), b"k", blob, "page")
    assert not isinstance(caught.value, AlteredData)


def test_an_altered_body_is_altered_data(suite: CryptoSuite, tmp_path: Path) -> None:
    kek = FileKek(tmp_path / "kek.key", suite)
    blob = bytearray(seal_envelope(suite, kek, b"addr", b"x" * 1000))
    blob[-100] ^= 0x01
    with pytest.raises(AlteredData, match="authentication tag"):
        open_envelope(suite, kek, b"addr", bytes(blob), "page 7")


def test_kek_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.key"
    first = FileKek(path, SUITES["intl"])
    assert path.stat().st_mode & 0o777 == 0o600
    assert FileKek(path, SUITES["intl"]).key_id == first.key_id


def test_kek_file_of_wrong_length_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "kek.key"
    path.write_bytes(b"short")
    with pytest.raises(ConfigError, match="32 bytes"):
        FileKek(path, SUITES["intl"])


def test_gm_suite_uses_sm3_and_intl_sha256() -> None:
    # GB/T 32905-2016 Appendix A example 1: SM3("abc").
    assert SUITES["gm"].digest(b"abc").hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert SUITES["intl"].digest(b"abc").hex().startswith("ba7816bf")
