"""Row disputes, the pure half: the openings that answer a dispute of one input row of a
claim (``RowDisputes.answer_row``), and the verdict the chain reaches from the judge's
outcome (docs/proofs.md, "Row disputes").

The answer opens input row ``index`` with its fate record, the output row its fate names
when kept, and the earlier row the chain asks for — the one the fate record says the row
duplicates, else the one the disputer named (:func:`earlier_row`) — with its fate record.
:func:`build_row_answer` builds them from a claimant's :class:`ClaimData`;
:func:`verdict` is the contract's comparison of a :class:`JudgeOutcome` (what RowJudge
returned) with the fate record.

Pure: no chain, network or store access; :mod:`datasoil.flows.audit` reads disputes and
sends answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from datasoil.errors import ProofError
from datasoil.formats import merkle
from datasoil.formats.fate import FATE_NONE, FATE_STEP_NONE, FateRecord
from datasoil.protocol.audits import ClaimData

__all__ = [
    "NO_ROW",
    "DisputeState",
    "JudgeOutcome",
    "Outcome",
    "RowAnswer",
    "RowOpening",
    "build_row_answer",
    "earlier_row",
    "verdict",
]

NO_ROW = FATE_NONE
"""The ``earlier`` of a dispute that names no earlier row (2**64 - 1)."""


class Outcome(IntEnum):
    """RowJudge's outcomes (contracts/modules/judge.vy)."""

    NONE = 0
    KEPT = 1
    DROPPED = 2
    FAILED = 3
    WRONG_DUPLICATE = 4
    INVALID = 5


class DisputeState(IntEnum):
    """A row dispute's state (``RowDisputes.row_dispute(...).state``)."""

    OPEN = 1
    UPHELD = 2
    REJECTED = 3


@dataclass(frozen=True)
class RowOpening:
    """The contract's ``RowOpening`` (or, with no fate, ``OutputRow``): a row's bytes
    and audit path, and for input rows its fate record and that record's path."""

    row: bytes = b""
    path: tuple[bytes, ...] = ()
    fate: bytes = b""
    fate_path: tuple[bytes, ...] = ()

    def as_input(self) -> tuple[Any, ...]:
        return (self.row, list(self.path), self.fate, list(self.fate_path))

    def as_output(self) -> tuple[Any, ...]:
        return (self.row, list(self.path))


@dataclass(frozen=True)
class RowAnswer:
    """An answer to a row dispute: the judge program and the three openings."""

    program: bytes
    opening: RowOpening
    output: RowOpening
    earlier: RowOpening

    def as_args(self) -> tuple[bytes, tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
        """``(program, opening, output, earlier)`` for ``RowDisputes.answer_row``."""
        return (
            self.program,
            self.opening.as_input(),
            self.output.as_output(),
            self.earlier.as_input(),
        )


@dataclass(frozen=True)
class JudgeOutcome:
    """What ``RowJudge.judge`` returned: the outcome, the step, the duplicated row and
    the re-encoded output row."""

    outcome: Outcome
    step: int
    dup_of: int
    row: bytes

    @classmethod
    def from_call(cls, result: Sequence[Any]) -> JudgeOutcome:
        outcome, step, dup_of, row = result
        return cls(Outcome(int(outcome)), int(step), int(dup_of), bytes(row))


def earlier_row(fate: FateRecord, named: int | None) -> int | None:
    """The earlier row an answer opens: the row's ``dup_of``, else the disputer's."""
    if fate.dup_of is not None:
        return fate.dup_of
    return None if named is None or named == NO_ROW else named


def _public(rows: tuple[bytes, ...] | None, what: str) -> tuple[bytes, ...]:
    if rows is None:
        raise ProofError(f"{what} rows are private: a row dispute needs public rows")
    return rows


def build_row_answer(
    data: ClaimData, program: bytes, index: int, named: int | None = None
) -> RowAnswer:
    """The answer to a dispute of input row ``index`` (``named``: the earlier row the
    disputer named, if any), from the claim's own data and judge program.

    Raises:
        ProofError: the index is out of range, a row is private or longer than the
            4,096 bytes an answer carries.
    """
    inputs = _public(data.input_rows, "input")
    outputs = _public(data.output_rows, "output")
    if not 0 <= index < data.rows_in:
        raise ProofError(f"input index: expected below {data.rows_in}, found {index}")
    fate_leaves = [merkle.leaf_hash(data.fate(i)) for i in range(data.rows_in)]

    def input_opening(i: int) -> RowOpening:
        row = inputs[i]
        if len(row) > 4096:
            raise ProofError(f"input row {i}: {len(row)} bytes, an answer carries at most 4096")
        return RowOpening(
            row=row,
            path=merkle.inclusion_proof(data.input_leaves, i).path,
            fate=data.fate(i),
            fate_path=merkle.inclusion_proof(fate_leaves, i).path,
        )

    fate = FateRecord.decode(data.fate(index))
    output = RowOpening()
    if fate.kept and fate.output_index is not None and fate.output_index < data.rows_out:
        k = fate.output_index
        output = RowOpening(row=outputs[k], path=merkle.inclusion_proof(data.output_leaves, k).path)
    j = earlier_row(fate, named)
    earlier = input_opening(j) if j is not None and 0 <= j < index else RowOpening()
    return RowAnswer(program, input_opening(index), output, earlier)


def verdict(outcome: JudgeOutcome, fate: FateRecord, output_row: bytes) -> bool:
    """Whether the claim agrees with the chain about a row (``answer_row``'s test): its
    fate record says what the judge computed — kept, with ``output_row`` (the row at its
    output index) equal to the judged one, or dropped by the same step as a duplicate of
    the same row."""
    if outcome.outcome == Outcome.KEPT:
        return fate.kept and output_row == outcome.row
    if outcome.outcome == Outcome.DROPPED:
        step = FATE_STEP_NONE if fate.step is None else fate.step
        dup = FATE_NONE if fate.dup_of is None else fate.dup_of
        return step == outcome.step and dup == outcome.dup_of
    return False
