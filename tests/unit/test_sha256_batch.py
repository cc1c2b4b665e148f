"""SHA-256 of many pages at once (casebridge.native): the same digests as hashlib, always.

The kernels are hand-written SIMD code (``src/casebridge/native/sha256x.c``), so they are
checked against hashlib on every length around SHA-256's padding boundaries, on batches
smaller and larger than their lanes (lanes refill as messages end), and on every buffer
type the hub and the client hand them.
"""

from __future__ import annotations

import hashlib
import itertools
import platform
import random
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.domain import merkle
from casebridge.native import sha256 as native

try:
    import casebridge.native._sha256x as _sha256x

    BUILT = True
except ImportError:  # only where it could not be built: test_the_kernel_is_built_here says
    BUILT = False

X86 = platform.machine() in ("x86_64", "AMD64")
# The kernels this machine can run: 8 lanes (AVX2), 16 lanes (AVX-512).
LANES = [lanes for lanes in (8, 16) if BUILT and _sha256x.kernel(lanes)]
# Every length where the padding changes shape: the last partial block holds the 0x80
# byte and the length (< 56 left), or spills into a second block (56-63), or a block is
# exactly full; and a few blocks more.
EDGES = sorted({n + d for n in (0, 64, 128, 640) for d in (0, 1, 55, 56, 57, 63)})


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - test data, not secrets


def _expected(buffers: list[bytes]) -> bytes:
    return b"".join(hashlib.sha256(b).digest() for b in buffers)


def test_the_kernel_is_built_here() -> None:
    """`make setup` builds it (gcc and the Python headers are on this machine kind): a
    missing kernel must fail here, not silently leave every page to hashlib."""
    if not X86:
        pytest.skip("the kernels are x86-64 code")
    if shutil.which("gcc") is None:
        pytest.skip("no gcc here: make setup warned that it could not build the kernel")
    assert BUILT
    assert _sha256x.kernel() in ("avx2-x8", "avx512f-x16")
    assert 8 in LANES


@pytest.mark.parametrize("lanes", LANES)
@pytest.mark.parametrize("count", [1, 2, 7, 8, 9, 16, 17, 33])
def test_every_padding_edge_gives_hashlibs_digest(lanes: int, count: int) -> None:
    rnd = _rng(count * 100 + lanes)
    buffers = [rnd.randbytes(rnd.choice(EDGES)) for _ in range(count)]
    assert _sha256x.digests(buffers, lanes) == _expected(buffers)


@pytest.mark.parametrize("lanes", LANES)
def test_each_edge_length_alone_and_in_a_full_batch(lanes: int) -> None:
    rnd = _rng(lanes)
    for n in EDGES:
        buffers = [rnd.randbytes(n) for _ in range(lanes + 3)]  # all lanes, then refills
        assert _sha256x.digests(buffers, lanes) == _expected(buffers), n


@pytest.mark.parametrize("lanes", LANES)
def test_pages_of_scan_sizes_in_one_batch(lanes: int) -> None:
    rnd = _rng(7)
    buffers = [rnd.randbytes(rnd.randint(150_000, 300_000)) for _ in range(20)]
    assert _sha256x.digests(buffers, lanes) == _expected(buffers)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=40), st.sampled_from(LANES or [0]))
def test_any_batch_of_any_lengths(buffers: list[bytes], lanes: int) -> None:
    if not lanes:
        pytest.skip("no kernel on this machine")
    assert _sha256x.digests(buffers, lanes) == _expected(buffers)


@pytest.mark.parametrize("lanes", LANES)
def test_every_buffer_type_the_hub_and_client_pass(lanes: int) -> None:
    data = _rng(3).randbytes(5000)
    whole = bytearray(data)
    buffers: list[native.Buffer] = [
        data,
        bytearray(data[:100]),
        memoryview(whole)[7:4000],
        memoryview(data)[1:],
    ]
    expected = [data, data[:100], data[7:4000], data[1:]]
    assert _sha256x.digests(buffers, lanes) == _expected(expected)


@pytest.mark.parametrize("lanes", LANES)
def test_what_is_not_one_contiguous_buffer_is_refused(lanes: int) -> None:
    with pytest.raises(TypeError):
        _sha256x.digests([b"ok", "text"], lanes)  # type: ignore[list-item]
    strided = memoryview(bytes(range(100)))[::2]
    with pytest.raises(BufferError):
        _sha256x.digests([strided], lanes)
    with pytest.raises(TypeError):
        _sha256x.digests(42, lanes)  # type: ignore[arg-type]


def test_the_wrapper_gives_the_same_digests_on_every_path() -> None:
    rnd = _rng(11)
    buffers = [rnd.randbytes(rnd.randint(0, 20_000)) for _ in range(19)]
    want = [hashlib.sha256(b).digest() for b in buffers]
    for kernel in ["hashlib", *(_sha256x.kernel(lanes) for lanes in LANES)]:
        assert native.digests(buffers, kernel) == want, kernel
        assert native.digests(buffers[:2], kernel) == want[:2], kernel  # few: hashlib
        assert native.digests([], kernel) == []


def test_auto_takes_hashlib_where_the_cpu_has_sha_instructions() -> None:
    assert native.kernel_for("auto", sha_ni=True) == "hashlib"
    assert native.kernel_for("hashlib", sha_ni=False) == "hashlib"
    if LANES:
        assert native.kernel_for("auto", sha_ni=False) == _sha256x.kernel()
        assert native.kernel_for("simd", sha_ni=True) == _sha256x.kernel()
    with pytest.raises(ValueError, match="CASEBRIDGE_SHA256 must be auto, hashlib or simd"):
        native.kernel_for("fast")
    assert (native.BATCH == 1) == (native.KERNEL == "hashlib")


def _python_root(leaves: list[bytes]) -> bytes:
    frontier: merkle.Frontier = []
    merkle.extend(frontier, (merkle.leaf_hash(d) for d in leaves))
    return merkle.root_from_frontier(frontier)


@pytest.mark.parametrize("lanes", LANES)
def test_the_compiled_merkle_root_is_rfc_6962s(lanes: int) -> None:
    """Level by level with an odd node carried up is the RFC's tree: every count from the
    empty tree to a few levels, and around powers of two."""
    rnd = _rng(lanes)
    counts = [*range(70), 127, 128, 129, 1023, 1024, 1025, 5273]
    for n in counts:
        leaves = [rnd.randbytes(32) for _ in range(n)]
        assert _sha256x.merkle_root(b"".join(leaves), lanes) == _python_root(leaves), n
    with pytest.raises(ValueError, match="32-byte digests"):
        _sha256x.merkle_root(b"x" * 33, lanes)


@pytest.mark.parametrize("compiled", [True, False])
def test_a_root_over_blocks_of_any_cut_is_the_same(
    compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """root_from_digests: compiled in perfect subtrees of 1,024 leaves and the rest, or
    in Python leaf by leaf; blocks cut anywhere on a digest boundary."""
    if compiled and not LANES:
        pytest.skip("no kernel on this machine")
    if not compiled:
        monkeypatch.setattr(native, "merkle_compiled", lambda: False)
    rnd = _rng(99)
    for n in (0, 1, 2, 3, 1023, 1024, 1025, 2048 + 511, 5273):
        leaves = [rnd.randbytes(32) for _ in range(n)]
        cuts = sorted({0, n, *(rnd.randint(0, n) for _ in range(5))})
        blocks = [b"".join(leaves[a:b]) for a, b in itertools.pairwise(cuts)]
        assert merkle.root_from_digests(blocks) == _python_root(leaves), n
    assert merkle.root_from_digests([]) == hashlib.sha256(b"").digest()


def test_configure_selects_the_path_and_refuses_an_unknown_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hub applies its ``sha256`` setting with configure(); BATCH follows the path."""
    monkeypatch.setattr(native, "KERNEL", native.KERNEL)
    monkeypatch.setattr(native, "BATCH", native.BATCH)
    monkeypatch.setattr(native, "_CHOICE", native._CHOICE)
    native.configure("hashlib")
    assert (native.KERNEL, native.BATCH) == ("hashlib", 1)
    if LANES:
        native.configure("simd")
        assert _sha256x.kernel() == native.KERNEL
        assert native.BATCH == 16
    with pytest.raises(ValueError, match="must be auto, hashlib or simd"):
        native.configure("fastest")
