"""The fate record, ``datasoil-fate-v1``: what happened to one input row of a cleaning.

One record per input row, 34 bytes, big-endian, no framing (docs/cleaning.md,
docs/proofs.md)::

    offset  size  field
         0     8  input_index   the input row's position
         8     1  kept          0 or 1
         9     8  output_index  its position in the output; FATE_NONE when dropped
        17     8  kept_before   input rows before it that were kept
        25     1  step          the recipe step that dropped it; FATE_STEP_NONE when kept
        26     8  dup_of        the earlier row it duplicates; FATE_NONE when none

A fate file is the records of every input row in order; its root is the RFC 9162 root over
``SHA-256(0x00 || record)`` leaves (never keyed). This module is the record's one
definition off chain: the engine writes it (:func:`encode_fates`), verification and audits
read it (:class:`FateRecord`, :func:`fate_rules`). ``contracts/modules/fate.vy`` is its
definition on chain; tests/boa/test_fate.py holds the two to the same layout and rules.

Pure: no I/O beyond a fate file handed in by path.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from datasoil.errors import ProofError
from datasoil.formats import merkle

__all__ = [
    "FATE_NONE",
    "FATE_RECORD_SIZE",
    "FATE_STEP_NONE",
    "FATE_VERSION",
    "FateRecord",
    "decode_fates",
    "encode_fates",
    "fate_root",
    "fate_rules",
    "kept_output",
    "leaf_digests",
    "output_sources",
]

FATE_VERSION = "datasoil-fate-v1"
"""The record format's name, as proofs name it (``fate_format``)."""
FATE_RECORD_SIZE = 34
"""Bytes per fate record: u64 input | u8 kept | u64 output | u64 kept_before | u8 step |
u64 dup_of, all big-endian."""
FATE_NONE = 2**64 - 1
"""The ``output_index`` / ``dup_of`` value meaning "none"."""
FATE_STEP_NONE = 0xFF
"""The ``step`` value meaning "not dropped"."""

_CHUNK_RECORDS = 1 << 16
"""Records per read when hashing a fate file."""

_DTYPE = np.dtype(
    [
        ("input", ">u8"),
        ("kept", "u1"),
        ("output", ">u8"),
        ("before", ">u8"),
        ("step", "u1"),
        ("dup", ">u8"),
    ]
)
assert _DTYPE.itemsize == FATE_RECORD_SIZE


@dataclass(frozen=True)
class FateRecord:
    """What happened to one input row.

    ``output_index`` is its position in the output when kept (then it equals
    ``kept_before``, the number of input rows before it that were kept); ``step`` is the
    index of the recipe step that dropped it; ``dup_of`` the earlier input row it
    duplicates (dropped by a ``dedupe`` step only).

    >>> FateRecord(5, False, None, 3, 2, 1).encode().hex()
    '000000000000000500ffffffffffffffff0000000000000003020000000000000001'
    >>> FateRecord(5, False, None, 3, 2, 1).structural_problems(5)
    []
    """

    input_index: int
    kept: bool
    output_index: int | None
    kept_before: int
    step: int | None
    dup_of: int | None

    def encode(self) -> bytes:
        """The 34-byte big-endian record."""
        return (
            self.input_index.to_bytes(8, "big")
            + bytes([1 if self.kept else 0])
            + _raw(self.output_index).to_bytes(8, "big")
            + self.kept_before.to_bytes(8, "big")
            + bytes([FATE_STEP_NONE if self.step is None else self.step])
            + _raw(self.dup_of).to_bytes(8, "big")
        )

    @classmethod
    def decode(cls, data: bytes) -> FateRecord:
        """Parse one record.

        Raises:
            ProofError: not 34 bytes, or ``kept`` is neither 0 nor 1.
        """
        if len(data) != FATE_RECORD_SIZE:
            raise ProofError(f"fate record: expected {FATE_RECORD_SIZE} bytes, found {len(data)}")
        if data[8] not in (0, 1):
            raise ProofError(f"fate record: kept byte must be 0 or 1, found {data[8]}")
        out = int.from_bytes(data[9:17], "big")
        dup = int.from_bytes(data[26:34], "big")
        return cls(
            input_index=int.from_bytes(data[0:8], "big"),
            kept=data[8] == 1,
            output_index=None if out == FATE_NONE else out,
            kept_before=int.from_bytes(data[17:25], "big"),
            step=None if data[25] == FATE_STEP_NONE else data[25],
            dup_of=None if dup == FATE_NONE else dup,
        )

    def structural_problems(
        self, index: int, rows_in: int | None = None, rows_out: int | None = None
    ) -> list[str]:
        """The fate rules (docs/proofs.md) this record breaks as input row ``index``'s, as
        messages; empty when it keeps them all.

        The record names ``index``; at most ``index`` rows are kept before it; a kept row's
        output index is ``kept_before`` and it names no step or duplicate; a dropped row
        has no output index and names its step; a duplicate is an earlier row. With the
        cleaning's ``rows_in`` and ``rows_out``: at most ``rows_out`` rows are kept up to
        it, and exactly ``rows_out`` up to the last row. Fields compare as the contract
        reads them (a "none" is its all-ones value).
        """
        out, dup, kept = _raw(self.output_index), _raw(self.dup_of), int(self.kept)
        step = FATE_STEP_NONE if self.step is None else self.step
        before = self.kept_before
        found = []
        if self.input_index != index:
            found.append(f"fate {index}: names input row {self.input_index}")
        if before > index:
            found.append(f"fate {index}: counts {before} kept rows before it, more than {index}")
        if rows_in is not None and rows_out is not None:
            if before + kept > rows_out:
                found.append(
                    f"fate {index}: counts {before + kept} kept rows up to it, more than the "
                    f"{rows_out} output rows"
                )
            elif index + 1 == rows_in and before + kept != rows_out:
                found.append(
                    f"fate {index}: the last row counts {before + kept} kept rows, the output "
                    f"has {rows_out}"
                )
        if kept:
            if out != before:
                found.append(
                    f"fate {index}: kept row's output index {self.output_index} differs from "
                    f"rows kept before it {before}"
                )
            if step != FATE_STEP_NONE or dup != FATE_NONE:
                found.append(f"fate {index}: kept row names a dropping step or duplicate")
        else:
            if out != FATE_NONE:
                found.append(f"fate {index}: dropped row has output index {self.output_index}")
            if step == FATE_STEP_NONE:
                found.append(f"fate {index}: dropped row names no step")
        if dup != FATE_NONE and dup >= index:
            found.append(f"fate {index}: duplicates row {self.dup_of}, which is not earlier")
        return found


def _raw(value: int | None) -> int:
    return FATE_NONE if value is None else value


def fate_rules(fate: bytes, index: int, rows_in: int, rows_out: int) -> tuple[bool, int | None]:
    """The contract's verdict (``fate._rules``) on record bytes ``fate`` of input row
    ``index`` of a cleaning of ``rows_in`` rows into ``rows_out``: ``(ok, output index or
    None)``. A kept byte other than 0 or 1 fails; otherwise :meth:`FateRecord.structural_problems`
    with the counts decides.

    >>> fate_rules(FateRecord(0, True, 0, 0, None, None).encode(), 0, 1, 1)
    (True, 0)

    Raises :class:`~datasoil.errors.ProofError` when ``fate`` is not 34 bytes.
    """
    if len(fate) != FATE_RECORD_SIZE:
        raise ProofError(f"fate record: expected {FATE_RECORD_SIZE} bytes, found {len(fate)}")
    if fate[8] > 1:
        return False, None
    record = FateRecord.decode(fate)
    if record.structural_problems(index, rows_in, rows_out):
        return False, None
    return True, record.output_index


def kept_output(fate: bytes) -> int | None:
    """The output index record bytes ``fate`` name if their kept byte is 1, else None
    (read as they are, without checking any rule)."""
    return int.from_bytes(fate[9:17], "big") if fate[8] == 1 else None


def encode_fates(
    row: np.ndarray[Any, Any],
    drop: np.ndarray[Any, Any],
    dup: np.ndarray[Any, Any],
    kept_offset: int,
) -> tuple[bytes, int]:
    """Encode a run of consecutive fate records (vectorised).

    ``drop`` holds step indices with 255 for kept rows, ``dup`` duplicate row numbers with
    2**64-1 for none; ``kept_offset`` is the number of rows kept before this run. Returns
    the records' bytes and the new kept count.
    """
    n = len(row)
    kept = drop == FATE_STEP_NONE
    kept_cum = np.cumsum(kept, dtype=np.uint64)
    before = kept_cum - kept.astype(np.uint64) + np.uint64(kept_offset)
    rec = np.empty(n, dtype=_DTYPE)
    rec["input"] = row
    rec["kept"] = kept
    rec["output"] = np.where(kept, before, np.uint64(FATE_NONE))
    rec["before"] = before
    rec["step"] = drop
    rec["dup"] = dup
    total = kept_offset + (int(kept_cum[-1]) if n else 0)
    return rec.tobytes(), total


def decode_fates(data: bytes) -> list[FateRecord]:
    """Parse a fate file (concatenated records).

    Raises:
        ProofError: the length is not a multiple of the record size, or a record is
            malformed.
    """
    if len(data) % FATE_RECORD_SIZE:
        raise ProofError(
            f"fate file: length {len(data)} is not a multiple of {FATE_RECORD_SIZE} bytes"
        )
    return [
        FateRecord.decode(data[i : i + FATE_RECORD_SIZE])
        for i in range(0, len(data), FATE_RECORD_SIZE)
    ]


def output_sources(fates: bytes, outputs: Collection[int]) -> dict[int, int]:
    """For each of ``outputs`` that some record names as kept there, the first input row
    naming it (records read as by :func:`kept_output`); ``fates`` is a whole fate file."""
    if not outputs:
        return {}
    rec = np.frombuffer(fates, dtype=_DTYPE)
    wanted = np.fromiter(outputs, dtype=np.uint64)
    hits = np.flatnonzero((rec["kept"] == 1) & np.isin(rec["output"], wanted))
    sources: dict[int, int] = {}
    for i in hits.tolist():
        sources.setdefault(int(rec["output"][i]), i)
    return sources


def leaf_digests(data: bytes) -> bytes:
    """Packed RFC 9162 leaf hashes of concatenated fate records, hashed all at once."""
    return merkle.leaf_digests_fixed(data, FATE_RECORD_SIZE)


def fate_root(path_or_bytes: Path | bytes) -> bytes:
    """The RFC 9162 root of a fate file (leaf = SHA-256(0x00 || record)).

    Raises:
        ProofError: the length is not a multiple of the record size.
    """
    builder = merkle.RootBuilder()
    if isinstance(path_or_bytes, bytes):
        chunks: Iterator[bytes] = iter([path_or_bytes])
    else:
        chunks = _read_chunks(path_or_bytes, FATE_RECORD_SIZE * _CHUNK_RECORDS)
    for chunk in chunks:
        if len(chunk) % FATE_RECORD_SIZE:
            raise ProofError(f"fate file: length is not a multiple of {FATE_RECORD_SIZE} bytes")
        builder.extend_digests(leaf_digests(chunk))
    return builder.root()


def _read_chunks(path: Path, size: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk
