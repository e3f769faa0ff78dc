"""RFC 9162 (Certificate Transparency v2) Merkle Tree Hash over SHA-256: datasoil's row root.

The tree is exactly the one of RFC 9162 section 2.1.1 (the same as RFC 6962):

* ``MTH({}) = SHA-256("")`` (:data:`EMPTY_ROOT`);
* ``MTH({d0}) = SHA-256(0x00 || d0)`` (:func:`leaf_hash`);
* for ``n > 1`` and ``k`` the largest power of two smaller than ``n``,
  ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` (:func:`node_hash`).

Everything here works on *leaf hashes* (32 bytes each), so the same code serves public
datasets (``leaf_hash``) and private ones (:func:`keyed_leaf_hash`, an HMAC leaf). Trees
are built streaming (:class:`RootBuilder`, memory logarithmic in the leaf count);
inclusion proofs follow RFC 9162 section 2.1.3 and consistency proofs section 2.1.4;
shards of ``2**k`` leaves compose into the flat root (:func:`combine_shards`).
The format is written down in docs/formats/merkle.md.

Fast paths (same bytes, checked in tests/offchain/test_merkle_fast.py): many hashes at once
are computed in one native call over an Arrow binary array (:func:`sha256_many`) or over
fixed-width items (:func:`leaf_digests_fixed`), leaf hashes travel packed (``32 * n`` bytes:
:func:`leaf_digests`, :meth:`RootBuilder.extend_digests`) and perfect subtrees are hashed
a level at a time. The native call is datasoil's own C module
(``datasoil.formats._sha256``: the CPU's SHA extensions where it has them, the GIL
released), built at install when a C compiler is there; else the ``polars-hash`` plugin
(Rust ``sha2``, messages laid out by NumPy); else :mod:`hashlib`, one call per message.

>>> root([]).hex()
'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
>>> root([leaf_hash(b"")]).hex()
'6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import itertools
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pyarrow_compute

from datasoil.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "KEY_SIZE",
    "ConsistencyProof",
    "InclusionProof",
    "RootBuilder",
    "aligned_subtrees",
    "backend",
    "combine_shards",
    "consistency_proof",
    "consistency_proof_from_iter",
    "inclusion_proof",
    "inclusion_proof_from_iter",
    "keyed_leaf_hash",
    "leaf_digests",
    "leaf_digests_fixed",
    "leaf_hash",
    "leaf_hashes",
    "leaf_input_prefix",
    "node_hash",
    "root",
    "sha256_many",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

KEY_SIZE = 32
"""Size in bytes of the key of :func:`keyed_leaf_hash`."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""Root of the empty tree: ``SHA-256("")`` (RFC 9162 section 2.1.1)."""

# pyarrow.compute's hints are partial: use it untyped, as datasoil.formats.rows does.
_pc: Any = _pyarrow_compute

_LEAF = b"\x00"
_NODE = b"\x01"
_sha256 = hashlib.sha256
_CHUNK = 1 << 14  # leaves hashed level by level at a time in RootBuilder.extend
_NATIVE_MIN = 256  # from this many messages on, hash through the vectorised path
_NATIVE_MAX = 1 << 20  # messages per vectorised call (bounds the temporary buffers)
_BLOCK = 64  # SHA-256 block size, for HMAC (RFC 2104)


def _native_hasher() -> Any:
    """The ``polars-hash`` plugin's SHA-256 over an Arrow binary array (hex digests), or None.

    None when the plugin is not installed, fails to load in this Polars, or does not give
    :mod:`hashlib`'s digests on a probe (then everything is hashed by :mod:`hashlib`).
    """
    global _native
    if _native is _UNSET:
        _native = None
        try:
            import polars as pl
            import polars_hash as plh

            def run(arr: pa.Array) -> pa.Array:
                frame = pl.DataFrame({"m": pl.Series("m", arr, dtype=pl.Binary)})
                return frame.select(plh.col("m").chash.sha2_256())["m"].to_arrow()

            probe = [b"", b"abc", b"\x01" + bytes(range(64)), b"\xff\x00" * 100]
            got = run(pa.array(probe, pa.binary())).to_pylist()
            if got == [_sha256(m).hexdigest() for m in probe]:
                _native = run
            else:  # pragma: no cover - a broken build
                warnings.warn(
                    "polars-hash gives wrong SHA-256 digests; using hashlib", stacklevel=2
                )
        except Exception as exc:  # pragma: no cover - not installed or not loadable
            warnings.warn(f"polars-hash unavailable ({exc}); using hashlib", stacklevel=2)
    return _native


_UNSET: Any = object()
_native: Any = _UNSET


def _load_extension() -> Any:
    """``datasoil.formats._sha256`` (the C batch hasher), or None when it was not built."""
    try:
        from datasoil.formats import _sha256
    except ImportError:
        return None
    return _sha256


_ext: Any = _load_extension()


def backend() -> str:
    """Which path hashes many messages at once: ``"c/sha-ni"`` or ``"c/portable"`` (the C
    module), ``"polars-hash"`` or ``"hashlib"``."""
    if _ext is not None:
        return f"c/{_ext.backend()}"
    return "polars-hash" if _native_hasher() is not None else "hashlib"


def sha256_many(messages: pa.Array) -> bytes:
    """SHA-256 of every item of an Arrow binary array, concatenated (``32 * len`` bytes).

    Computed in native code (the ``polars-hash`` plugin, Rust ``sha2``) for large arrays,
    with :mod:`hashlib` otherwise; both give the same bytes (tests check it).
    Raises :class:`~datasoil.errors.ProofError` on a null item.
    """
    n = len(messages)
    if messages.null_count:
        raise ProofError("sha256_many: expected no null messages, found some")
    if _ext is not None:
        return _ext_items(messages, b"")
    native = _native_hasher() if n >= _NATIVE_MIN else None
    if native is None:
        return b"".join(_sha256(m).digest() for m in _buffers(messages))
    out = bytearray()
    for start in range(0, n, _NATIVE_MAX):
        part = messages.slice(start, _NATIVE_MAX)
        hexes = native(part)
        if not pa.types.is_large_string(hexes.type):
            hexes = hexes.cast(pa.large_string())
        count = len(hexes)
        first = int(np.frombuffer(hexes.buffers()[1], np.int64)[hexes.offset])
        data = memoryview(hexes.buffers()[2])[first : first + 64 * count]
        out += binascii.a2b_hex(data)
    if len(out) != HASH_SIZE * n:  # pragma: no cover - a plugin that is not SHA-256 hex
        raise ProofError(f"sha256_many: expected {HASH_SIZE * n} bytes, found {len(out)}")
    return bytes(out)


def _binary_layout(messages: pa.Array) -> tuple[pa.Array, bool]:
    """``messages`` as a binary or large binary array (strings are their UTF-8 bytes) and
    whether its offsets are 64-bit."""
    t = messages.type
    if pa.types.is_large_binary(t) or pa.types.is_large_string(t):
        return messages, True
    if pa.types.is_binary(t) or pa.types.is_string(t):
        return messages, False
    return messages.cast(pa.large_binary()), True


def _ext_items(messages: pa.Array, prefix: bytes) -> bytes:
    """SHA-256 of ``prefix`` + each item, through the C module."""
    messages, wide = _binary_layout(messages)
    n = len(messages)
    if n == 0:
        return b""
    _, offsets, data = messages.buffers()
    return bytes(_ext.items(data or b"", offsets, wide, messages.offset, n, prefix))


def _buffers(messages: pa.Array) -> Iterator[memoryview]:
    """Each item of a binary/string array as a memoryview into the Arrow data buffer."""
    if not (pa.types.is_binary(messages.type) or pa.types.is_string(messages.type)):
        messages = messages.cast(pa.large_binary())
    width = np.int64 if pa.types.is_large_binary(messages.type) else np.int32
    n = len(messages)
    if n == 0:
        return iter(())
    offsets = np.frombuffer(messages.buffers()[1], width)[messages.offset : messages.offset + n + 1]
    data = memoryview(messages.buffers()[2])
    bounds = offsets.tolist()
    return (data[a:b] for a, b in itertools.pairwise(bounds))


def _fixed_width(matrix: np.ndarray[Any, Any]) -> pa.Array:
    """Binary array whose item i is the row ``matrix[i]`` (uint8, C-contiguous)."""
    n, width = matrix.shape
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.reshape(-1))]
    )


def _sha256_rows(matrix: np.ndarray[Any, Any]) -> bytes:
    """SHA-256 of each row of a uint8 matrix, concatenated."""
    return sha256_many(_fixed_width(np.ascontiguousarray(matrix, dtype=np.uint8)))


def _sha256_fixed(data: bytes | bytearray | memoryview, width: int, prefix: bytes) -> bytes:
    """SHA-256 of ``prefix`` + each ``width``-byte item of ``data``, concatenated."""
    if _ext is not None:
        return bytes(_ext.fixed(data, width, prefix))
    n = len(data) // width
    matrix = np.empty((n, len(prefix) + width), np.uint8)
    matrix[:, : len(prefix)] = np.frombuffer(prefix, np.uint8)
    matrix[:, len(prefix) :] = np.frombuffer(data, np.uint8).reshape(n, width)
    return _sha256_rows(matrix)


def leaf_digests_fixed(data: bytes, width: int, key: bytes | None = None) -> bytes:
    """Packed leaf hashes (:func:`leaf_digests`) of the ``width``-byte leaves laid end to
    end in ``data`` (fixed-size records, such as fate records).

    Raises :class:`~datasoil.errors.ProofError` when ``data`` is not whole leaves of that
    width, or on a bad key.
    """
    if width < 1 or len(data) % width:
        raise ProofError(
            f"fixed-width leaves: expected a multiple of {width} bytes, found {len(data)}"
        )
    inner = _sha256_fixed(data, width, leaf_input_prefix(key))
    return inner if key is None else _hmac_outer(key, inner)


def leaf_input_prefix(key: bytes | None = None) -> bytes:
    """What :func:`leaf_digests` hashes in front of each row when ``prefixed`` is false.

    ``0x00`` for public leaves; for keyed leaves ``(K xor ipad) || 0x00``, the first
    block of HMAC-SHA-256's inner hash (RFC 2104). Raises ProofError on a bad key.
    """
    if key is None:
        return _LEAF
    _check_key(key)
    return bytes(b ^ 0x36 for b in key.ljust(_BLOCK, b"\x00")) + _LEAF


def leaf_digests(rows: pa.Array, key: bytes | None = None, *, prefixed: bool = False) -> bytes:
    """Leaf hashes (:func:`leaf_hash`, or :func:`keyed_leaf_hash` with ``key``) of every item
    of an Arrow binary array of rows, packed: ``32 * len(rows)`` bytes.

    With ``prefixed=True`` every item already starts with :func:`leaf_input_prefix` of
    ``key`` (an encoder can write it for free). Raises ProofError on a bad key.
    """
    prefix = leaf_input_prefix(key)
    if prefixed:
        inner = sha256_many(rows)
    elif _ext is not None:
        if rows.null_count:
            raise ProofError("leaf_digests: expected no null rows, found some")
        inner = _ext_items(rows, prefix)
    else:
        if len(rows):
            rows = _pc.binary_join_element_wise(
                pa.scalar(prefix, pa.binary()), rows.cast(pa.binary()), b""
            )
        inner = sha256_many(rows)
    return inner if key is None else _hmac_outer(key, inner)


def _hmac_outer(key: bytes, inner: bytes) -> bytes:
    """HMAC-SHA-256's outer hashes, ``SHA-256((K xor opad) || inner)``, of packed inner
    hashes."""
    return _sha256_fixed(inner, HASH_SIZE, bytes(b ^ 0x5C for b in key.ljust(_BLOCK, b"\x00")))


def leaf_hash(data: bytes) -> bytes:
    """Return ``SHA-256(0x00 || data)``, the RFC 9162 hash of one leaf.

    >>> leaf_hash(b"").hex()
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'
    """
    return _sha256(_LEAF + data).digest()


def leaf_hashes(rows: Iterable[bytes], key: bytes | None = None) -> list[bytes]:
    """Return the leaf hash of each row: :func:`leaf_hash`, or :func:`keyed_leaf_hash` with ``key``.

    Raises :class:`ValueError` (``ProofError``) when ``key`` is not :data:`KEY_SIZE` bytes.
    """
    if key is None:
        return [_sha256(_LEAF + r).digest() for r in rows]
    _check_key(key)
    digest = hmac.digest
    return [digest(key, _LEAF + r, "sha256") for r in rows]


def keyed_leaf_hash(key: bytes, data: bytes) -> bytes:
    """Return ``HMAC-SHA-256(key, 0x00 || data)``, the leaf hash of a private dataset's row.

    Interior nodes stay ``SHA-256(0x01 || left || right)``, so every proof algorithm here
    (and the on-chain verifier) works unchanged: only whoever holds the 32-byte ``key``
    can compute a leaf from a row, so the root reveals nothing testable about the rows.

    Raises :class:`~datasoil.errors.ProofError` when ``key`` is not 32 bytes.
    """
    _check_key(key)
    return hmac.digest(key, _LEAF + data, "sha256")


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        found = len(key) if isinstance(key, bytes) else type(key).__name__
        raise ProofError(f"row-hash key: expected {KEY_SIZE} bytes, found {found}")


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return ``SHA-256(0x01 || left || right)``, the RFC 9162 hash of an interior node."""
    return _sha256(_NODE + left + right).digest()


def _perfect_root(level: list[bytes]) -> bytes:
    """MTH of a power-of-two number of leaf hashes, hashed level by level."""
    if len(level) >= 2 * _NATIVE_MIN or (_ext is not None and len(level) > 1):
        return _perfect_root_packed(b"".join(level))
    sha = _sha256
    while len(level) > 1:
        level = [sha(_NODE + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=True)]
    return level[0]


def _perfect_root_packed(packed: bytes) -> bytes:
    """MTH of a power-of-two number of packed leaf hashes: each level's
    ``0x01 || left || right`` messages are laid out at once and hashed in one call."""
    count = len(packed) // HASH_SIZE
    if _ext is not None:
        while count > 1:
            packed = _ext.fixed(packed, 2 * HASH_SIZE, _NODE)
            count //= 2
        return bytes(packed)
    while count >= 2 * _NATIVE_MIN:
        half = count // 2
        matrix = np.empty((half, 1 + 2 * HASH_SIZE), np.uint8)
        matrix[:, 0] = 1
        matrix[:, 1:] = np.frombuffer(packed, np.uint8).reshape(half, 2 * HASH_SIZE)
        packed = _sha256_rows(matrix)
        count = half
    return _perfect_root([packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)])


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        found = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise ProofError(f"{what}: expected a {HASH_SIZE}-byte hash, found {found}")


class RootBuilder:
    """Streaming RFC 9162 root: append leaf hashes, read :meth:`root` at any time.

    Keeps one hash per set bit of the leaf count (the roots of the maximal perfect
    subtrees, RFC 9162 section 2.1.1's decomposition), so memory is logarithmic in the
    number of leaves. :meth:`extend` hashes aligned chunks level by level, which is much
    faster than one :meth:`append` per leaf.

    >>> b = RootBuilder()
    >>> b.extend(leaf_hash(bytes([i])) for i in range(5))
    >>> b.size, b.root() == root(leaf_hash(bytes([i])) for i in range(5))
    (5, True)
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        # (height, hash) of perfect subtrees, heights strictly decreasing left to right.
        self._stack: list[tuple[int, bytes]] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash (32 bytes; not checked on this hot path)."""
        self._push(leaf_hash, 0)

    def append_subtree(self, subtree_root: bytes, height: int) -> None:
        """Append a perfect subtree of ``2**height`` leaves given by its root.

        Raises :class:`~datasoil.errors.ProofError` when the tree size is not a multiple of
        ``2**height`` (the subtree would not be a node of the RFC 9162 tree).
        """
        if self._size & ((1 << height) - 1):
            raise ProofError(
                f"subtree of 2**{height} leaves: expected the tree size to be a multiple of "
                f"{1 << height}, found {self._size}"
            )
        self._push(subtree_root, height)

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes in order."""
        it = iter(leaf_hashes)
        while True:
            chunk = list(itertools.islice(it, _CHUNK))
            if not chunk:
                return
            self._extend_list(chunk)

    def extend_digests(self, packed: bytes | bytearray | memoryview) -> None:
        """Append leaf hashes given packed, ``32 * n`` bytes (as :func:`leaf_digests` returns).

        Raises :class:`~datasoil.errors.ProofError` when the length is not a multiple of 32.
        """
        data = bytes(packed)
        if len(data) % HASH_SIZE:
            raise ProofError(
                f"packed leaf hashes: expected a multiple of {HASH_SIZE} bytes, found {len(data)}"
            )
        pos = 0
        n = len(data) // HASH_SIZE
        while pos < n:
            size = self._size
            height = (size & -size).bit_length() - 1 if size else 62
            while (1 << height) > n - pos:
                height -= 1
            width = 1 << height
            part = data[pos * HASH_SIZE : (pos + width) * HASH_SIZE]
            if width >= 2 * _NATIVE_MIN or (_ext is not None and width > 1):
                node = _perfect_root_packed(part)
            else:
                node = _perfect_root([part[i : i + HASH_SIZE] for i in range(0, len(part), 32)])
            self._push(node, height)
            pos += width

    def _extend_list(self, chunk: list[bytes]) -> None:
        pos = 0
        n = len(chunk)
        while pos < n:
            # Largest aligned perfect subtree that starts at the current size and fits.
            size = self._size
            height = (size & -size).bit_length() - 1 if size else 62
            while (1 << height) > n - pos:
                height -= 1
            width = 1 << height
            self._push(_perfect_root(chunk[pos : pos + width]), height)
            pos += width

    def _push(self, node: bytes, height: int) -> None:
        stack = self._stack
        self._size += 1 << height
        while stack and stack[-1][0] == height:
            node = _sha256(_NODE + stack.pop()[1] + node).digest()
            height += 1
        stack.append((height, node))

    def root(self) -> bytes:
        """Return the RFC 9162 root of the leaves appended so far (:data:`EMPTY_ROOT` if none)."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        node = stack[-1][1]
        for _, left in reversed(stack[:-1]):
            node = _sha256(_NODE + left + node).digest()
        return node


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return the RFC 9162 Merkle Tree Hash of the given leaf hashes (streaming)."""
    builder = RootBuilder()
    builder.extend(leaf_hashes)
    return builder.root()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges ``[a, b)`` whose MTHs make up PATH(index, D[size]), leaf to root order."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs make up PROOF(old, D[new]) (RFC 9162 2.1.4.1), in order."""
    out: list[tuple[int, int]] = []
    start, m, n, whole = 0, old, new, True  # SUBPROOF(m, D[start:start+n], whole)
    while m != n:
        k = _split(n)
        if m <= k:
            out.append((start + k, start + n))
            n = k
        else:
            out.append((start, start + k))
            start += k
            m -= k
            n -= k
            whole = False
    if not whole:
        out.append((start, start + n))
    out.reverse()
    return out


def _range_roots(leaves: Iterable[bytes], ranges: list[tuple[int, int]], size: int) -> list[bytes]:
    """MTH of each of ``ranges`` (disjoint), reading ``leaves`` once, in order."""
    order = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
    roots: list[bytes] = [b""] * len(ranges)
    it = iter(leaves)
    pos = 0
    for i in order:
        a, b = ranges[i]
        if a > pos:
            _consume(it, a - pos)
        builder = RootBuilder()
        builder.extend(itertools.islice(it, b - a))
        if builder.size != b - a:
            raise ProofError(f"leaf hashes: expected {size}, found fewer ({a + builder.size})")
        roots[i] = builder.root()
        pos = b
    return roots


def _consume(it: Iterator[bytes], count: int) -> None:
    for _ in itertools.islice(it, count):
        pass


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 9162 inclusion proof: leaf ``index`` (from 0) of a tree of ``size`` leaves.

    ``leaf`` is the leaf hash, ``path`` the audit path (leaf to root, RFC 9162 2.1.3.1) and
    ``root`` the tree's root. :func:`verify_inclusion` checks it with the RFC's 2.1.3.2
    algorithm; a verifier must take ``size`` from a trusted source (the registry's row
    count), since the algorithm accepts some proofs relabelled with another size.
    """

    index: int
    size: int
    leaf: bytes
    path: tuple[bytes, ...]
    root: bytes

    def to_json(self) -> dict[str, Any]:
        """The proof as JSON-ready data: ints, and hashes as ``0x``-hex strings."""
        return {
            "index": self.index,
            "size": self.size,
            "leaf": "0x" + self.leaf.hex(),
            "path": ["0x" + p.hex() for p in self.path],
            "root": "0x" + self.root.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InclusionProof:
        """Parse :meth:`to_json` output. Raises :class:`~datasoil.errors.ProofError`."""
        try:
            return cls(
                index=_json_int(data["index"], "index"),
                size=_json_int(data["size"], "size"),
                leaf=_json_hash(data["leaf"], "leaf"),
                path=tuple(_json_hash(p, "path") for p in data["path"]),
                root=_json_hash(data["root"], "root"),
            )
        except (KeyError, TypeError) as exc:
            raise ProofError(
                f"inclusion proof: expected index, size, leaf, path, root: {exc}"
            ) from exc


@dataclass(frozen=True)
class ConsistencyProof:
    """An RFC 9162 consistency proof that the first ``old_size`` leaves of the tree with
    root ``new_root`` form the tree with root ``old_root``."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """The proof as JSON-ready data: ints, and hashes as ``0x``-hex strings."""
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": "0x" + self.old_root.hex(),
            "new_root": "0x" + self.new_root.hex(),
            "path": ["0x" + p.hex() for p in self.path],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConsistencyProof:
        """Parse :meth:`to_json` output. Raises :class:`~datasoil.errors.ProofError`."""
        try:
            return cls(
                old_size=_json_int(data["old_size"], "old_size"),
                new_size=_json_int(data["new_size"], "new_size"),
                old_root=_json_hash(data["old_root"], "old_root"),
                new_root=_json_hash(data["new_root"], "new_root"),
                path=tuple(_json_hash(p, "path") for p in data["path"]),
            )
        except (KeyError, TypeError) as exc:
            raise ProofError(f"consistency proof: missing or malformed field: {exc}") from exc

    def verify(self) -> None:
        """Check the proof (:func:`verify_consistency`). Raises ProofError."""
        verify_consistency(self.old_size, self.new_size, self.old_root, self.new_root, self.path)


def _json_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{what}: expected a non-negative integer, found {value!r}")
    return value


def _json_hash(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ProofError(f"{what}: expected a 0x-prefixed 32-byte hex string, found {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ProofError(f"{what}: expected hex digits, found {value!r}") from None


def inclusion_proof_from_iter(
    leaf_hashes: Iterable[bytes], index: int, size: int
) -> InclusionProof:
    """Inclusion proof for leaf ``index`` of the ``size`` leaf hashes read once from an iterable.

    Memory is logarithmic in ``size``. Raises :class:`~datasoil.errors.ProofError` when
    ``index`` is not below ``size`` or the iterable holds fewer than ``size`` hashes.
    """
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: expected an index below the size {size}, found {index}")
    ranges = _inclusion_ranges(index, size)
    all_ranges = [*ranges, (index, index + 1), (0, size)]
    # The full-tree root is computed in the same pass by a second builder.
    full = RootBuilder()

    def tee() -> Iterator[bytes]:
        for chunk in _chunks(leaf_hashes):
            full.extend(chunk)
            yield from chunk

    roots = _range_roots(tee(), all_ranges[:-1], size)
    if full.size < size:
        raise ProofError(f"leaf hashes: expected {size}, found {full.size}")
    leaf = roots[-1]  # the MTH of a one-hash range is that leaf hash itself
    return InclusionProof(index, size, leaf, tuple(roots[:-1]), full.root())


def _chunks(items: Iterable[bytes]) -> Iterator[list[bytes]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, _CHUNK)):
        yield chunk


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> InclusionProof:
    """RFC 9162 inclusion proof (section 2.1.3.1) for leaf ``index`` (from 0) of ``leaf_hashes``.

    Raises :class:`~datasoil.errors.ProofError` when ``index`` is out of range.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: expected an index below the size {size}, found {index}")
    path = tuple(root(leaf_hashes[a:b]) for a, b in _inclusion_ranges(index, size))
    return InclusionProof(index, size, leaf_hashes[index], path, root(leaf_hashes))


def verify_inclusion(proof: InclusionProof, root: bytes | None = None) -> None:
    """Check ``proof`` with RFC 9162 section 2.1.3.2, against ``root`` (default ``proof.root``).

    Returns ``None`` when the proof is valid. Raises :class:`~datasoil.errors.ProofError`
    saying why it is not (index not below size, wrong path length, root mismatch).
    """
    expected = proof.root if root is None else root
    _check_hash(expected, "root")
    _check_hash(proof.leaf, "leaf")
    index, size = proof.index, proof.size
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: expected an index below the size {size}, found {index}")
    fn, sn, r = index, size - 1, proof.leaf
    for p in proof.path:
        _check_hash(p, "path entry")
        if sn == 0:
            raise ProofError(
                f"inclusion proof: path too long for index {index} of {size} "
                f"({len(proof.path)} entries)"
            )
        if fn & 1 or fn == sn:
            r = _sha256(_NODE + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(_NODE + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"inclusion proof: path too short for index {index} of {size} "
            f"({len(proof.path)} entries)"
        )
    if not hmac.compare_digest(r, expected):
        raise ProofError(
            f"inclusion proof: expected root 0x{expected.hex()}, path gives 0x{r.hex()}"
        )


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> tuple[bytes, ...]:
    """RFC 9162 consistency proof (section 2.1.4.1) between the first ``old_size`` leaves and
    all of ``leaf_hashes``. Empty when ``old_size`` is 0 or equals the size.

    Raises :class:`~datasoil.errors.ProofError` when ``old_size`` exceeds the size.
    """
    size = len(leaf_hashes)
    if not 0 <= old_size <= size:
        raise ProofError(f"consistency proof: expected an old size in 0..{size}, found {old_size}")
    if old_size in (0, size):
        return ()
    return tuple(root(leaf_hashes[a:b]) for a, b in _consistency_ranges(old_size, size))


def consistency_proof_from_iter(
    leaf_hashes: Iterable[bytes], old_size: int, new_size: int
) -> ConsistencyProof:
    """The RFC 9162 consistency proof between the first ``old_size`` of ``new_size`` leaf
    hashes read once from an iterable, with both roots computed in the same pass.

    Memory is logarithmic in ``new_size``. Raises :class:`~datasoil.errors.ProofError`
    when ``old_size`` exceeds ``new_size`` or the iterable holds fewer hashes.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(
            f"consistency proof: expected an old size in 0..{new_size}, found {old_size}"
        )
    old, full = RootBuilder(), RootBuilder()

    def tee() -> Iterator[bytes]:
        for chunk in _chunks(leaf_hashes):
            if full.size < old_size:
                old.extend(chunk[: old_size - full.size])
            full.extend(chunk)
            yield from chunk

    hashes = tee()
    path: tuple[bytes, ...] = ()
    if old_size not in (0, new_size):
        path = tuple(_range_roots(hashes, _consistency_ranges(old_size, new_size), new_size))
    for _ in hashes:  # what the ranges did not need, for the roots
        pass
    if full.size != new_size:
        raise ProofError(f"leaf hashes: expected {new_size}, found {full.size}")
    return ConsistencyProof(old_size, new_size, old.root(), full.root(), path)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check an RFC 9162 consistency proof with the algorithm of section 2.1.4.2.

    Edge cases the RFC leaves to the caller: ``old_size == 0`` (the empty tree is a prefix of
    every tree) requires an empty proof; ``old_size == new_size`` requires an empty proof
    and equal roots. Returns ``None`` when valid; raises
    :class:`~datasoil.errors.ProofError` otherwise.
    """
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    if not 0 <= old_size <= new_size:
        raise ProofError(
            f"consistency proof: expected 0 <= old size <= new size, found {old_size}, {new_size}"
        )
    if old_size == 0 or old_size == new_size:
        if proof:
            raise ProofError(f"consistency proof: expected an empty proof, found {len(proof)}")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("consistency proof: the old root of an empty tree must be SHA-256('')")
        if old_size == new_size and not hmac.compare_digest(old_root, new_root):
            raise ProofError("consistency proof: equal sizes but different roots")
        return
    if not proof:
        raise ProofError("consistency proof: expected a non-empty proof, found none")
    path = list(proof)
    for p in path:
        _check_hash(p, "path entry")
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof: path too long")
        if fn & 1 or fn == sn:
            fr = _sha256(_NODE + c + fr).digest()
            sr = _sha256(_NODE + c + sr).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _sha256(_NODE + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof: path too short")
    if not hmac.compare_digest(fr, old_root):
        raise ProofError(
            f"consistency proof: expected old root 0x{old_root.hex()}, got 0x{fr.hex()}"
        )
    if not hmac.compare_digest(sr, new_root):
        raise ProofError(
            f"consistency proof: expected new root 0x{new_root.hex()}, got 0x{sr.hex()}"
        )


def aligned_subtrees(start: int, packed: bytes) -> list[tuple[int, bytes]]:
    """The roots of the perfect subtrees that the flat RFC 9162 tree has over leaves
    ``start`` to ``start + n - 1``, given those ``n`` leaf hashes packed: ``(height, root)``
    of the largest aligned power-of-two runs, left to right (docs/formats/merkle.md).

    Appending them in order, :meth:`RootBuilder.append_subtree`, to a builder holding the
    first ``start`` leaves gives the builder of the first ``start + n``: so consecutive
    ranges hashed apart (shards of any sizes, such as each shard's output rows) compose
    into the flat root. Raises ProofError on a length that is not a multiple of 32.
    """
    if len(packed) % HASH_SIZE or start < 0:
        raise ProofError(
            f"packed leaf hashes: expected a multiple of {HASH_SIZE} bytes, found {len(packed)}"
        )
    out = []
    pos, end = start, start + len(packed) // HASH_SIZE
    while pos < end:
        height = (pos & -pos).bit_length() - 1 if pos else 62
        while (1 << height) > end - pos:
            height -= 1
        part = packed[(pos - start) * HASH_SIZE : (pos - start + (1 << height)) * HASH_SIZE]
        builder = RootBuilder()
        builder.extend_digests(part)
        out.append((height, builder.root()))
        pos += 1 << height
    return out


def combine_shards(shard_roots: Sequence[bytes], shard_size: int, total: int) -> bytes:
    """Root of ``total`` leaves committed as consecutive shards of ``shard_size`` leaves.

    ``shard_size`` must be a power of two; every shard but the last holds exactly
    ``shard_size`` leaves and the last holds the rest (``1..shard_size``). Each shard root is
    the RFC 9162 root of its own leaves. The result equals the flat root of all leaves,
    because a full aligned shard is a node of the flat tree and the last shard's tree is the
    right fold of the flat tree's remaining perfect subtrees.

    Raises :class:`~datasoil.errors.ProofError` on a shard size that is not a power of two or
    a shard count that does not match ``total``.
    """
    if shard_size < 1 or shard_size & (shard_size - 1):
        raise ProofError(f"shards: expected a power-of-two shard size, found {shard_size}")
    expected = -(-total // shard_size)
    if total < 0 or len(shard_roots) != expected:
        raise ProofError(
            f"shards: expected {expected} shard roots for {total} leaves in shards of "
            f"{shard_size}, found {len(shard_roots)}"
        )
    if total == 0:
        return EMPTY_ROOT
    height = shard_size.bit_length() - 1
    builder = RootBuilder()
    for r in shard_roots[:-1]:
        _check_hash(r, "shard root")
        builder._push(r, height)
    last = shard_roots[-1]
    _check_hash(last, "shard root")
    stack = builder._stack
    node = last
    for _, left in reversed(stack):
        node = _sha256(_NODE + left + node).digest()
    return node
