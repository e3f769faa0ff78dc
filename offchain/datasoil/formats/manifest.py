"""Training manifests: which rows of which datasets a model was trained on.

A manifest (docs/formats/manifest.md) commits to the set of entries ``(dataset_id,
row_index)`` a training run used, each once however many epochs served it, sorted by
dataset id then row index. Each entry is the DAG-CBOR array ``[dataset_id, row_index]``
(two unsigned integers in their shortest form) and the commitment is the RFC 9162 root
over those entries, the tree datasoil commits rows with (:mod:`datasoil.formats.merkle`).
ModelRegistry stores the root and the number of entries and checks openings on chain.

Inclusion of ``(d, i)`` (:meth:`Manifest.prove_row`) with inclusion of row ``i`` in
dataset ``d``'s row root answers "was this row in the model?". Absence is a
sorted-neighbour proof (:meth:`Manifest.prove_absent`): the entries just before and
just after where ``(d, i)`` would sort, both opened against the root.

>>> m = build({3: (b"\\x11" * 32, 10, [4, 1, 1, 7])})
>>> m.size, m.rows_used(3), m.position(3, 4)
(3, 3, 1)
>>> verify_row(m.root, m.size, m.prove_row(3, 7))
True
>>> verify_absent(m.root, m.size, m.prove_absent(3, 5))
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from datasoil.errors import ManifestError, ProofError
from datasoil.formats import merkle

__all__ = [
    "FORMAT",
    "Absence",
    "DatasetUse",
    "Inclusion",
    "Manifest",
    "build",
    "entry_bytes",
    "entry_leaf",
    "loads",
    "verify_absent",
    "verify_row",
]

#: The ``format`` field of a manifest document.
FORMAT = "datasoil.manifest.v1"

_U64 = (1 << 64) - 1
# CBOR major type 0 heads by width (RFC 8949 section 3.1): (exclusive bound, head, bytes).
_CLASSES = (
    (24, None, 0),
    (1 << 8, 0x18, 1),
    (1 << 16, 0x19, 2),
    (1 << 32, 0x1A, 4),
    (1 << 64, 0x1B, 8),
)


def _cbor_uint(n: int) -> bytes:
    if not 0 <= n <= _U64:
        raise ManifestError(f"manifest entry: expected an integer in 0..2**64-1, found {n}")
    for bound, head, width in _CLASSES:
        if n < bound:
            return bytes([n]) if head is None else bytes([head]) + n.to_bytes(width, "big")
    raise AssertionError("unreachable")  # pragma: no cover


def entry_bytes(dataset_id: int, row_index: int) -> bytes:
    """The DAG-CBOR bytes of the entry ``[dataset_id, row_index]``.

    >>> entry_bytes(3, 1000).hex()
    '82031903e8'
    """
    return b"\x82" + _cbor_uint(dataset_id) + _cbor_uint(row_index)


def entry_leaf(dataset_id: int, row_index: int) -> bytes:
    """The RFC 9162 leaf hash of an entry (ModelRegistry's ``manifest_leaf``)."""
    return merkle.leaf_hash(entry_bytes(dataset_id, row_index))


def _leaf_digests(dataset_id: int, indices: np.ndarray[Any, Any]) -> bytes:
    """Packed leaf hashes of the entries of one dataset (``indices`` sorted, uint64).

    Sorted indices fall into contiguous runs of one CBOR width, so each run is laid out
    as a fixed-width byte matrix and hashed at once.
    """
    head = b"\x00\x82" + _cbor_uint(dataset_id)
    out = bytearray()
    start = 0
    n = len(indices)
    for bound, tag, width in _CLASSES:
        stop = (
            int(np.searchsorted(indices, np.uint64(bound - 1), side="right"))
            if bound <= _U64
            else n
        )
        if stop > start:
            run = indices[start:stop]
            extra = 1 if width == 0 else 1 + width
            matrix = np.empty((len(run), len(head) + extra), np.uint8)
            matrix[:, : len(head)] = np.frombuffer(head, np.uint8)
            if width == 0:
                matrix[:, len(head)] = run.astype(np.uint8)
            else:
                matrix[:, len(head)] = tag
                big = run.astype(">u8").view(np.uint8).reshape(len(run), 8)
                matrix[:, len(head) + 1 :] = big[:, 8 - width :]
            offsets = np.arange(
                0, matrix.shape[1] * (len(run) + 1), matrix.shape[1], dtype=np.int64
            )
            array = pa.Array.from_buffers(
                pa.large_binary(),
                len(run),
                [None, pa.py_buffer(offsets), pa.py_buffer(matrix.reshape(-1))],
            )
            out += merkle.leaf_digests(array, prefixed=True)
        start = stop
    return bytes(out)


@dataclass(frozen=True, eq=False)
class DatasetUse:
    """The rows one dataset gave a training run: its id, the row root and row count the
    registry holds, and the distinct row indices used (sorted ``uint64``)."""

    dataset_id: int
    row_root: bytes
    row_count: int
    indices: np.ndarray[Any, Any]

    @property
    def rows_used(self) -> int:
        """The number of distinct rows used."""
        return len(self.indices)

    def ranges(self) -> list[list[int]]:
        """The indices as half-open ``[start, stop)`` runs, as the document writes them."""
        idx = self.indices
        if not len(idx):
            return []
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        starts = np.concatenate(([0], breaks))
        stops = np.concatenate((breaks, [len(idx)]))
        return [[int(idx[a]), int(idx[b - 1]) + 1] for a, b in zip(starts, stops, strict=True)]


@dataclass(frozen=True)
class Inclusion:
    """An opening of entry ``(dataset_id, row_index)`` at ``position`` of a manifest."""

    dataset_id: int
    row_index: int
    position: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class Absence:
    """A sorted-neighbour proof that ``(dataset_id, row_index)`` is not in a manifest:
    ``position`` entries sort before it; ``left`` opens entry ``position - 1`` (None at
    0) and ``right`` entry ``position`` (None at the end)."""

    dataset_id: int
    row_index: int
    position: int
    left: Inclusion | None
    right: Inclusion | None


@dataclass(frozen=True, eq=False)
class Manifest:
    """A training manifest: the datasets used (by id) and the RFC 9162 root of the entries."""

    uses: tuple[DatasetUse, ...]
    root: bytes
    digests: bytes  # packed leaf hashes, in manifest order

    @property
    def size(self) -> int:
        """The number of entries (the tree size ModelRegistry stores)."""
        return len(self.digests) // merkle.HASH_SIZE

    def use(self, dataset_id: int) -> DatasetUse:
        """The use of ``dataset_id``. Raises ManifestError if the manifest has none."""
        for u in self.uses:
            if u.dataset_id == dataset_id:
                return u
        raise ManifestError(f"manifest: expected dataset {dataset_id} among {self.dataset_ids()}")

    def dataset_ids(self) -> list[int]:
        return [u.dataset_id for u in self.uses]

    def rows_used(self, dataset_id: int) -> int:
        return self.use(dataset_id).rows_used

    def _offset(self, dataset_id: int) -> int:
        offset = 0
        for u in self.uses:
            if u.dataset_id >= dataset_id:
                break
            offset += u.rows_used
        return offset

    def _rank(self, dataset_id: int, row_index: int) -> tuple[int, bool]:
        """How many entries sort before ``(dataset_id, row_index)``, and whether it is one."""
        offset = self._offset(dataset_id)
        for u in self.uses:
            if u.dataset_id == dataset_id:
                k = int(np.searchsorted(u.indices, np.uint64(row_index)))
                hit = k < len(u.indices) and int(u.indices[k]) == row_index
                return offset + k, hit
        return offset, False

    def position(self, dataset_id: int, row_index: int) -> int | None:
        """The entry's position, or None when the row was not used."""
        rank, hit = self._rank(dataset_id, row_index)
        return rank if hit else None

    def entry(self, position: int) -> tuple[int, int]:
        """The entry ``(dataset_id, row_index)`` at ``position``."""
        if not 0 <= position < self.size:
            raise ManifestError(
                f"manifest: expected a position below {self.size}, found {position}"
            )
        for u in self.uses:
            if position < u.rows_used:
                return u.dataset_id, int(u.indices[position])
            position -= u.rows_used
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self, position: int) -> Inclusion:
        d, i = self.entry(position)
        leaves = [self.digests[k : k + 32] for k in range(0, len(self.digests), 32)]
        proof = merkle.inclusion_proof(leaves, position)
        return Inclusion(d, i, position, proof.path)

    def prove_row(self, dataset_id: int, row_index: int) -> Inclusion:
        """The inclusion opening of a used row. Raises ManifestError if it was not used."""
        pos = self.position(dataset_id, row_index)
        if pos is None:
            raise ManifestError(
                f"manifest: expected row {row_index} of dataset {dataset_id} to be used, "
                "it was not (prove its absence instead)"
            )
        return self._open(pos)

    def prove_absent(self, dataset_id: int, row_index: int) -> Absence:
        """The sorted-neighbour proof for a row not used. Raises ManifestError if it was."""
        rank, hit = self._rank(dataset_id, row_index)
        if hit:
            raise ManifestError(
                f"manifest: row {row_index} of dataset {dataset_id} is entry {rank}, not absent"
            )
        left = self._open(rank - 1) if rank > 0 else None
        right = self._open(rank) if rank < self.size else None
        return Absence(dataset_id, row_index, rank, left, right)

    def to_document(self) -> dict[str, Any]:
        """The manifest document (docs/formats/manifest.md) as JSON-ready data."""
        return {
            "format": FORMAT,
            "root": "0x" + self.root.hex(),
            "size": self.size,
            "datasets": [
                {
                    "dataset_id": u.dataset_id,
                    "row_root": "0x" + u.row_root.hex(),
                    "row_count": u.row_count,
                    "rows_used": u.rows_used,
                    "rows": u.ranges(),
                }
                for u in self.uses
            ],
        }

    def dumps(self) -> bytes:
        """The canonical bytes of the document (sorted keys, no spaces, UTF-8, newline)."""
        return (
            json.dumps(self.to_document(), sort_keys=True, separators=(",", ":")).encode() + b"\n"
        )


def _indices(
    rows: Iterable[int] | np.ndarray[Any, Any], row_count: int, dataset_id: int
) -> np.ndarray[Any, Any]:
    arr = np.asarray(rows if isinstance(rows, np.ndarray) else list(rows))
    if arr.size and (arr.dtype.kind not in "iu" or (arr.dtype.kind == "i" and int(arr.min()) < 0)):
        raise ManifestError(
            f"dataset {dataset_id}: expected non-negative integer row indices, found {arr.dtype} "
            f"{arr.min() if arr.dtype.kind == 'i' else ''}".rstrip()
        )
    idx = np.unique(arr.astype(np.uint64, copy=False))
    if len(idx) and int(idx[-1]) >= row_count:
        raise ManifestError(
            f"dataset {dataset_id}: expected row indices below its row count {row_count}, "
            f"found {int(idx[-1])}"
        )
    return idx


def build(
    selections: Mapping[int, tuple[bytes, int, Iterable[int] | np.ndarray[Any, Any]]],
) -> Manifest:
    """Build a manifest from ``{dataset_id: (row_root, row_count, row indices used)}``.

    Indices may repeat (epochs) and come in any order; each row counts once.
    Raises ManifestError on a negative index, one past the row count, or a dataset id
    outside 1..2**64-1.
    """
    uses: list[DatasetUse] = []
    builder = merkle.RootBuilder()
    digests = bytearray()
    for dataset_id in sorted(selections):
        row_root, row_count, rows = selections[dataset_id]
        if not 0 < dataset_id <= _U64:
            raise ManifestError(
                f"manifest: expected a dataset id in 1..2**64-1, found {dataset_id}"
            )
        if len(row_root) != merkle.HASH_SIZE:
            raise ManifestError(f"dataset {dataset_id}: expected a 32-byte row root")
        idx = _indices(rows, row_count, dataset_id)
        if not len(idx):
            continue
        packed = _leaf_digests(dataset_id, idx)
        builder.extend_digests(packed)
        digests += packed
        uses.append(DatasetUse(dataset_id, bytes(row_root), int(row_count), idx))
    return Manifest(tuple(uses), builder.root(), bytes(digests))


def loads(data: bytes | str) -> Manifest:
    """Parse a manifest document and recompute its root from its entries.

    Raises ManifestError when it is not a datasoil manifest, is malformed, or its root
    or size does not match its entries.
    """
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise ManifestError(
                f"manifest: expected format {FORMAT!r}, found {doc.get('format')!r}"
            )
        selections: dict[int, tuple[bytes, int, np.ndarray[Any, Any]]] = {}
        for d in doc["datasets"]:
            ranges = d["rows"]
            parts = [np.arange(a, b, dtype=np.uint64) for a, b in ranges]
            idx = np.concatenate(parts) if parts else np.empty(0, np.uint64)
            if len(idx) != d["rows_used"]:
                raise ManifestError(
                    f"dataset {d['dataset_id']}: expected {d['rows_used']} rows from its ranges, "
                    f"found {len(idx)}"
                )
            if len(idx) > 1 and not bool(np.all(np.diff(idx.astype(np.int64)) > 0)):
                raise ManifestError(f"dataset {d['dataset_id']}: expected sorted, disjoint ranges")
            row_root = bytes.fromhex(str(d["row_root"]).removeprefix("0x"))
            selections[int(d["dataset_id"])] = (row_root, int(d["row_count"]), idx)
        root = bytes.fromhex(str(doc["root"]).removeprefix("0x"))
        size = int(doc["size"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ManifestError):
            raise
        raise ManifestError(f"manifest: malformed document ({exc})") from exc
    manifest = build(selections)
    if manifest.size != size or manifest.root != root:
        raise ManifestError(
            f"manifest: expected root 0x{root.hex()} over {size} entries, its entries give "
            f"0x{manifest.root.hex()} over {manifest.size}"
        )
    return manifest


def verify_row(root: bytes, size: int, proof: Inclusion) -> bool:
    """Whether ``proof`` opens its entry at its position of the manifest ``(root, size)``."""
    leaf = entry_leaf(proof.dataset_id, proof.row_index)
    try:
        merkle.verify_inclusion(
            merkle.InclusionProof(proof.position, size, leaf, proof.path, root), root
        )
    except ProofError:
        return False
    return True


def verify_absent(root: bytes, size: int, proof: Absence) -> bool:
    """Whether ``proof``'s neighbours are in the manifest and bracket its entry. Sound for
    a sorted manifest (the format's rule; :func:`loads` checks it)."""
    key = (proof.dataset_id, proof.row_index)
    if not 0 <= proof.position <= size:
        return False
    if proof.position > 0:
        left = proof.left
        if left is None or left.position != proof.position - 1:
            return False
        if not (left.dataset_id, left.row_index) < key or not verify_row(root, size, left):
            return False
    if proof.position < size:
        right = proof.right
        if right is None or right.position != proof.position:
            return False
        if not key < (right.dataset_id, right.row_index) or not verify_row(root, size, right):
            return False
    return True
