"""Structural audits of cleaning claims, the pure half: the CleaningProofs contract's
sampling, openings and verdict, mirrored exactly so an answer can be built and checked
before any gas is spent (docs/proofs.md).

The contract samples :data:`SAMPLES` input rows and :data:`SAMPLES` output rows per audit
from a seed, and the claimant answers with RFC 9162 openings:

* :func:`commitment` and :func:`compute_seed` are the auditor's commitment and the seed
  ``reveal`` fixes (``keccak256(secret, blockhash(opened + 1), claim, audit)``);
  :func:`sample_indices` is the contract's ``_indices``;
* :class:`ClaimData` holds what a claimant keeps (leaf hashes and, for public datasets,
  encoded rows, of parent and child; the fate file), :func:`build_response` produces the
  openings for an audit's indices (rows over :data:`MAX_ROW_BYTES` travel ahead of the
  answer, one ``open_row`` transaction each: :meth:`Response.long_rows`);
* :func:`check_response` is the contract's whole ``respond`` verdict (the fate records'
  rules are :func:`datasoil.formats.fate.fate_rules`).

Pure: no chain, network or store access; :mod:`datasoil.flows.audit` reads claims and
sends answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from eth_hash.auto import keccak

from datasoil.errors import ProofError
from datasoil.formats import merkle
from datasoil.formats.fate import FATE_RECORD_SIZE, fate_rules, kept_output, output_sources

__all__ = [
    "MAX_LONG_ROW_BYTES",
    "MAX_ROW_BYTES",
    "ROW_SLOTS",
    "SAMPLES",
    "AuditState",
    "ClaimData",
    "ClaimFacts",
    "InputOpening",
    "OutputOpening",
    "Reason",
    "Response",
    "Status",
    "build_response",
    "check_response",
    "commitment",
    "compute_seed",
    "sample_indices",
]

SAMPLES = 4
"""Input rows and output rows each audit samples (the contract's ``SAMPLES``)."""
MAX_ROW_BYTES = 4096
"""The longest row an answer carries inline (``rfc9162.MAX_ROW_BYTES``)."""
MAX_LONG_ROW_BYTES = 393216
"""The longest row ``open_row`` takes (``rfc9162.MAX_LONG_ROW_BYTES``, 384 KiB)."""
ROW_SLOTS = 8
"""``open_row`` slots per audit: input opening j's row is slot j, its output row 4 + j."""


class Status(IntEnum):
    """A claim's status, as ``CleaningProofs.status`` returns it."""

    PENDING = 0
    AUDITED = 1
    DISPUTED = 2
    FINALISED = 3
    FAILED = 4


class AuditState(IntEnum):
    """An audit's state."""

    OPEN = 1
    PASSED = 2
    FAILED = 3
    VOID = 4


class Reason(IntEnum):
    """Why an audit failed."""

    NONE = 0
    INPUT_ROW = 1
    FATE_OPENING = 2
    FATE_RULE = 3
    OUTPUT_ROW = 4
    NO_RESPONSE = 5


# ---------------------------------------------------------------------------------------
# Seed and sampling (mirrors of the contract)
# ---------------------------------------------------------------------------------------


def _u256(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(str(address).removeprefix("0x"))
    if len(raw) != 20:
        raise ProofError(f"address: expected 20 bytes, found {len(raw)}")
    return bytes(12) + raw


def commitment(auditor: str, secret: bytes) -> bytes:
    """``keccak256(abi.encode(auditor, secret))``: what ``open_audit`` takes.

    Raises :class:`~datasoil.errors.ProofError` unless ``secret`` is 32 bytes.
    """
    if len(secret) != 32:
        raise ProofError(f"secret: expected 32 bytes, found {len(secret)}")
    return keccak(_address_word(auditor) + secret)


def compute_seed(secret: bytes, block_hash: bytes, claim_id: int, audit: int) -> bytes:
    """``keccak256(abi.encode(secret, block_hash, claim_id, audit))``: an audit's seed.

    ``secret`` is the auditor's revealed secret, ``block_hash`` the hash of the block after
    the one the audit was opened in. Raises :class:`~datasoil.errors.ProofError` unless both
    are 32 bytes.
    """
    for name, value in (("secret", secret), ("block hash", block_hash)):
        if len(value) != 32:
            raise ProofError(f"{name}: expected 32 bytes, found {len(value)}")
    return keccak(secret + block_hash + _u256(claim_id) + _u256(audit))


def sample_indices(seed: bytes, size: int, offset: int = 0) -> list[int]:
    """The contract's ``_indices``: ``keccak256(seed || uint256(offset + j)) mod size``.

    Inputs use ``offset`` 0, outputs ``offset`` :data:`SAMPLES`; a 0-row tree has none.

    >>> sample_indices(bytes(32), 0)
    []
    >>> len(sample_indices(bytes(32), 10, SAMPLES))
    4
    """
    if size == 0:
        return []
    return [int.from_bytes(keccak(seed + _u256(offset + j)), "big") % size for j in range(SAMPLES)]


# ---------------------------------------------------------------------------------------
# Openings
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputOpening:
    """The contract's ``InputOpening``: a sampled input row, its fate, its output row."""

    index: int
    row: bytes
    leaf: bytes
    row_path: tuple[bytes, ...]
    fate: bytes
    fate_path: tuple[bytes, ...]
    output_row: bytes = b""
    output_leaf: bytes = bytes(32)
    output_path: tuple[bytes, ...] = ()

    def as_args(self) -> tuple[Any, ...]:
        """The ABI tuple, in struct field order; rows over :data:`MAX_ROW_BYTES` are left
        empty (they travel ahead in ``open_row``)."""
        return (
            self.index,
            _inline(self.row),
            self.leaf,
            list(self.row_path),
            self.fate,
            list(self.fate_path),
            _inline(self.output_row),
            self.output_leaf,
            list(self.output_path),
        )


@dataclass(frozen=True)
class OutputOpening:
    """The contract's ``OutputOpening``: a sampled output row's source fate record."""

    index: int
    source: int
    fate: bytes
    fate_path: tuple[bytes, ...]

    def as_args(self) -> tuple[Any, ...]:
        """The ABI tuple, in struct field order."""
        return (self.index, self.source, self.fate, list(self.fate_path))


@dataclass(frozen=True)
class Response:
    """An audit answer: one opening per sampled input row and per sampled output row."""

    inputs: tuple[InputOpening, ...]
    outputs: tuple[OutputOpening, ...]

    def as_args(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """``(inputs, outputs)`` as ABI tuples for ``CleaningProofs.respond``."""
        return [o.as_args() for o in self.inputs], [o.as_args() for o in self.outputs]

    def long_rows(self) -> list[tuple[int, bytes]]:
        """``(slot, row)`` for every row over :data:`MAX_ROW_BYTES`: each goes to
        ``open_row`` before the answer (slot j: input opening j's row; 4 + j: its output
        row)."""
        found = []
        for j, op in enumerate(self.inputs):
            for slot, row in ((j, op.row), (SAMPLES + j, op.output_row)):
                if len(row) > MAX_ROW_BYTES:
                    found.append((slot, row))
        return found


def _inline(row: bytes) -> bytes:
    return b"" if len(row) > MAX_ROW_BYTES else row


@dataclass(frozen=True)
class ClaimFacts:
    """What the contract checks an answer against (roots, sizes and flags from the
    registry, the claim's fate root)."""

    parent_root: bytes
    child_root: bytes
    fate_root: bytes
    rows_in: int
    rows_out: int
    parent_private: bool = False
    child_private: bool = False


@dataclass(frozen=True)
class ClaimData:
    """What a claimant keeps to answer audits.

    ``input_leaves``/``output_leaves`` are the leaf hashes of parent and child (keyed for
    private datasets); ``input_rows``/``output_rows`` their encoded rows, or None for a
    private dataset (whose openings carry leaf hashes only); ``fates`` the fate file.
    """

    input_leaves: tuple[bytes, ...]
    output_leaves: tuple[bytes, ...]
    fates: bytes
    input_rows: tuple[bytes, ...] | None = None
    output_rows: tuple[bytes, ...] | None = None
    _fate_leaves: tuple[bytes, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.fates) != FATE_RECORD_SIZE * len(self.input_leaves):
            raise ProofError(
                f"fate file: expected {FATE_RECORD_SIZE * len(self.input_leaves)} bytes for "
                f"{len(self.input_leaves)} input rows, found {len(self.fates)}"
            )
        for rows, leaves, what in (
            (self.input_rows, self.input_leaves, "input"),
            (self.output_rows, self.output_leaves, "output"),
        ):
            if rows is not None and len(rows) != len(leaves):
                raise ProofError(f"{what} rows: expected {len(leaves)}, found {len(rows)}")
        leaves = tuple(merkle.leaf_hash(self.fate(i)) for i in range(len(self.input_leaves)))
        object.__setattr__(self, "_fate_leaves", leaves)

    @classmethod
    def from_rows(
        cls,
        input_rows: Sequence[bytes],
        output_rows: Sequence[bytes],
        fates: bytes,
        *,
        input_key: bytes | None = None,
        output_key: bytes | None = None,
    ) -> ClaimData:
        """Build from encoded rows; a ``key`` makes that side private (keyed leaves, rows
        kept off the openings)."""
        return cls(
            input_leaves=tuple(merkle.leaf_hashes(input_rows, input_key)),
            output_leaves=tuple(merkle.leaf_hashes(output_rows, output_key)),
            fates=fates,
            input_rows=None if input_key else tuple(input_rows),
            output_rows=None if output_key else tuple(output_rows),
        )

    @property
    def rows_in(self) -> int:
        return len(self.input_leaves)

    @property
    def rows_out(self) -> int:
        return len(self.output_leaves)

    def fate(self, index: int) -> bytes:
        """The fate record of input row ``index``."""
        return self.fates[index * FATE_RECORD_SIZE : (index + 1) * FATE_RECORD_SIZE]

    def facts(self) -> ClaimFacts:
        """The roots and sizes this data commits to."""
        return ClaimFacts(
            parent_root=merkle.root(self.input_leaves),
            child_root=merkle.root(self.output_leaves),
            fate_root=merkle.root(self._fate_leaves),
            rows_in=self.rows_in,
            rows_out=self.rows_out,
            parent_private=self.input_rows is None,
            child_private=self.output_rows is None,
        )


def build_response(
    data: ClaimData, input_indices: Sequence[int], output_indices: Sequence[int]
) -> Response:
    """The openings answering an audit that sampled ``input_indices`` and ``output_indices``.

    The source of an output row is found by its fate (the kept input row whose output
    index it is). Raises :class:`~datasoil.errors.ProofError` for an index out of range,
    an output row no kept fate record points to, or a row longer than MAX_LONG_ROW_BYTES
    (no transaction can carry it: docs/proofs.md).
    """
    producers = output_sources(data.fates, set(output_indices))
    inputs = []
    for i in input_indices:
        _check_index(i, data.rows_in, "input")
        row = b"" if data.input_rows is None else _row(data.input_rows[i], "input", i)
        fate = data.fate(i)
        kept_at = kept_output(fate)
        opening = InputOpening(
            index=i,
            row=row,
            leaf=data.input_leaves[i],
            row_path=merkle.inclusion_proof(data.input_leaves, i).path,
            fate=fate,
            fate_path=merkle.inclusion_proof(data._fate_leaves, i).path,
        )
        if kept_at is not None and kept_at < data.rows_out:
            opening = replace(
                opening,
                output_row=b""
                if data.output_rows is None
                else _row(data.output_rows[kept_at], "output", kept_at),
                output_leaf=data.output_leaves[kept_at],
                output_path=merkle.inclusion_proof(data.output_leaves, kept_at).path,
            )
        inputs.append(opening)
    outputs = []
    for o in output_indices:
        _check_index(o, data.rows_out, "output")
        if o not in producers:
            raise ProofError(f"output row {o}: expected a kept fate record naming it, found none")
        src = producers[o]
        outputs.append(
            OutputOpening(
                index=o,
                source=src,
                fate=data.fate(src),
                fate_path=merkle.inclusion_proof(data._fate_leaves, src).path,
            )
        )
    return Response(tuple(inputs), tuple(outputs))


def _check_index(index: int, size: int, what: str) -> None:
    if not 0 <= index < size:
        raise ProofError(f"{what} index: expected below {size}, found {index}")


def _row(row: bytes, what: str, index: int) -> bytes:
    if len(row) > MAX_LONG_ROW_BYTES:
        raise ProofError(
            f"{what} row {index}: expected at most {MAX_LONG_ROW_BYTES} bytes to open on "
            f"chain, found {len(row)}"
        )
    return row


def _verifies(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    try:
        merkle.verify_inclusion(merkle.InclusionProof(index, size, leaf, tuple(path), root))
    except ProofError:
        return False
    return True


def check_response(facts: ClaimFacts, response: Response, seed: bytes) -> tuple[Reason, int]:
    """The verdict ``respond`` would reach: ``(Reason.NONE, 0)`` for a pass, else the
    failure reason and the failing opening (inputs 0..SAMPLES-1, outputs SAMPLES+j).

    Raises :class:`~datasoil.errors.ProofError` where the contract reverts (wrong number
    of openings or wrong indices).
    """
    want_in = sample_indices(seed, facts.rows_in)
    want_out = sample_indices(seed, facts.rows_out, SAMPLES)
    if [o.index for o in response.inputs] != want_in:
        raise ProofError(
            f"input openings: expected indices {want_in}, "
            f"found {[o.index for o in response.inputs]}"
        )
    if [o.index for o in response.outputs] != want_out:
        raise ProofError(
            f"output openings: expected indices {want_out}, "
            f"found {[o.index for o in response.outputs]}"
        )
    for j, op in enumerate(response.inputs):
        leaf = op.leaf if facts.parent_private else merkle.leaf_hash(op.row)
        if not _verifies(leaf, op.index, facts.rows_in, op.row_path, facts.parent_root):
            return Reason.INPUT_ROW, j
        if len(op.fate) != FATE_RECORD_SIZE or not _verifies(
            merkle.leaf_hash(op.fate), op.index, facts.rows_in, op.fate_path, facts.fate_root
        ):
            return Reason.FATE_OPENING, j
        ok, out = fate_rules(op.fate, op.index, facts.rows_in, facts.rows_out)
        if not ok:
            return Reason.FATE_RULE, j
        if out is not None:
            out_leaf = op.output_leaf if facts.child_private else merkle.leaf_hash(op.output_row)
            if not _verifies(out_leaf, out, facts.rows_out, op.output_path, facts.child_root):
                return Reason.OUTPUT_ROW, j
    for j, oo in enumerate(response.outputs):
        if len(oo.fate) != FATE_RECORD_SIZE or not _verifies(
            merkle.leaf_hash(oo.fate), oo.source, facts.rows_in, oo.fate_path, facts.fate_root
        ):
            return Reason.FATE_OPENING, SAMPLES + j
        ok, out = fate_rules(oo.fate, oo.source, facts.rows_in, facts.rows_out)
        if not ok or out != oo.index:
            return Reason.FATE_RULE, SAMPLES + j
    return Reason.NONE, 0
