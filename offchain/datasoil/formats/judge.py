"""The judge program, ``datasoil-judge-v1``: a recipe's row-local steps in the compact
encoding the chain runs when it judges one disputed row (docs/formats/judge.md).

A cleaning whose every step is *judgeable* (its result for a row depends on that row
alone and on values the proof records: :attr:`datasoil.formats.recipe.Step.judgeable`)
compiles to a program of one instruction per recipe step, in step order, so the step an
instruction stands for is its position (the index fate records name). Columns are named
by their position in the row at that step; literals, fill defaults and outlier fences are
DAG-CBOR items encoded as ``datasoil-rows-v1`` encodes values. The program's hash
(keccak-256) goes into the cleaning proof and is committed for the claim
(``RowDisputes.commit_judge``); ``contracts/modules/judge.vy`` runs it.

Layout (all integers unsigned, big-endian)::

    program := 0x01 (version) | n_in u8 | n_steps u8 | instruction * n_steps
    instruction := opcode u8 | operands (below)

Each step class writes its own instruction (:meth:`~datasoil.formats.recipe.Step.judge`)
through a :class:`Context` that knows the columns at that step; :func:`compile_judge`
strings them together and refuses, with :class:`Unjudgeable` naming the step, what the
chain cannot judge.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_hash.auto import keccak

from datasoil.errors import RecipeError
from datasoil.formats import rows

if TYPE_CHECKING:
    from datasoil.formats.recipe import Recipe

__all__ = [
    "FORMAT",
    "MAX_COLUMNS",
    "MAX_PROGRAM_BYTES",
    "MAX_ROW_BYTES",
    "MAX_STACK",
    "Context",
    "JudgeProgram",
    "Unjudgeable",
    "compile_judge",
    "judge_record",
    "program_hash",
]

FORMAT = "datasoil-judge-v1"
"""The program format's name, as proofs record it."""
VERSION = 1
"""The program's first byte."""
MAX_COLUMNS = 64
"""The widest row the chain's reader decodes (``rows.MAX_COLUMNS``)."""
MAX_ROW_BYTES = 4096
"""The longest input or output row the judge reads (``rows.MAX_ROW_BYTES``): a cleaning
with a longer row records no program, so no honest claimant can be asked for an answer
the chain cannot take."""
MAX_PROGRAM_BYTES = 4096
"""The longest program (``judge.MAX_PROGRAM_BYTES``)."""
MAX_STACK = 32
"""The deepest filter expression, in operands pending at once (``judge.MAX_STACK``)."""

# Instructions (judge.vy's OP_*).
OP_NOP = 0x00
OP_SELECT = 0x01
OP_CAST = 0x02
OP_TRIM = 0x03
OP_CASE = 0x04
OP_DROP_NULLS = 0x05
OP_FILL = 0x06
OP_FILTER = 0x07
OP_OUTLIERS = 0x08
OP_DEDUPE = 0x09
OP_DROP_ROWS = 0x0A
NO_COLUMN = 0xFF
"""drop_rows' column position when it names rows by index only."""

# Cast policies and conversions.
POLICY = {"strict": 0, "null": 1, "drop": 2}
CONVERSIONS = {
    ("int64", "string"): 1,
    ("int64", "bool"): 2,
    ("string", "int64"): 3,
    ("string", "bool"): 4,
    ("bool", "int64"): 5,
    ("bool", "string"): 6,
}
CASE_LOWER = 1
CASE_UPPER = 2
COLLAPSE = 4
"""normalise's mode bit for ``whitespace: collapse`` (with the case in the low bits)."""
OUTLIERS_CLIP = 0
OUTLIERS_DROP = 1

# Filter expression code (postfix).
X_COL = 0x01
X_LIT = 0x02
X_IS_NULL = 0x03
X_NOT = 0x04
X_AND = 0x05
X_OR = 0x06
X_CMP = {"==": 0x08, "!=": 0x09, "<": 0x0A, "<=": 0x0B, ">": 0x0C, ">=": 0x0D}

_INT64 = (-(2**63), 2**63 - 1)


class Unjudgeable(RecipeError):
    """The chain cannot judge this cleaning's rows (the message says which step and why);
    its claims fall back to attested re-execution."""


def program_hash(program: bytes) -> bytes:
    """keccak-256 of a program: what the proof and the claim record."""
    return bytes(keccak(program))


@dataclass(frozen=True)
class JudgeProgram:
    """A compiled program and its hash."""

    program: bytes
    hash: bytes

    def to_json(self) -> dict[str, Any]:
        """The proof's ``judge`` record."""
        return {
            "format": FORMAT,
            "hash": "0x" + self.hash.hex(),
            "program": "0x" + self.program.hex(),
        }


@dataclass(frozen=True)
class Context:
    """What a step's instruction is written against: the index of the step, the columns
    (name, type) in the row at that step, and the step's record in the proof (what it
    measured, e.g. outlier fences)."""

    index: int
    kind: str
    columns: tuple[tuple[str, str], ...]
    measured: Mapping[str, Any]

    def refuse(self, why: str) -> Unjudgeable:
        """An :class:`Unjudgeable` naming this step."""
        return Unjudgeable(f"step {self.index} ({self.kind}): {why}")

    def type_of(self, name: str) -> str:
        return dict(self.columns)[name]

    def position(self, name: str) -> bytes:
        """The one-byte position of a column in the row at this step."""
        names = [c for c, _ in self.columns]
        return bytes([names.index(name)])

    def positions(self, names: Sequence[str]) -> bytes:
        """A count byte, then each column's position."""
        return bytes([len(names)]) + b"".join(self.position(n) for n in names)

    def item(self, value: Any, type_: str) -> bytes:
        """``value`` as one DAG-CBOR item, encoded as ``datasoil-rows-v1`` encodes a value of
        ``type_`` (so -0.0 is 0.0, floats are 64-bit)."""
        if type_ == "int64" and value is not None and not _INT64[0] <= value <= _INT64[1]:
            raise self.refuse(f"integer {value} is outside int64")
        column = rows.Column("value", type_, True)
        return rows.encode_row([value], rows.Schema((column,)))[1:]


def _literal_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def literal(at: Context, value: Any) -> bytes:
    """A filter literal as one DAG-CBOR item (null, bool, int64, float64 or text)."""
    return at.item(value, _literal_type(value))


def collapsed(text: str) -> str:
    """``normalise: {whitespace: collapse}`` of a text: each run of White_Space one space,
    none at the ends."""
    from datasoil.formats.recipe import WHITESPACE

    return " ".join(t for t in re.split("[" + re.escape(WHITESPACE) + "]+", text) if t)


def _defaults(raw: Mapping[str, Any]) -> list[Any]:
    values = raw.get("values", {})
    return list(values.values()) if isinstance(values, Mapping) else [v for _, v in values]


def compile_judge(
    recipe: Recipe, schema_in: rows.Schema, steps: Sequence[Mapping[str, Any]]
) -> JudgeProgram:
    """Compile a recipe for input rows of ``schema_in``, with each step's record from the
    proof (``steps``, what :meth:`~datasoil.formats.recipe.Step.statistics` measured).

    Raises:
        Unjudgeable: a step the chain cannot judge (the message names it and says why),
            a row wider than :data:`MAX_COLUMNS` or a program over :data:`MAX_PROGRAM_BYTES`.
    """
    columns = [(c.name, c.type) for c in schema_in.columns]
    if len(columns) > MAX_COLUMNS:
        raise Unjudgeable(
            f"rows have {len(columns)} columns, the chain reads at most {MAX_COLUMNS}"
        )
    after = recipe.check_columns(columns)
    code = [bytes([VERSION, len(columns), len(recipe.steps)])]
    unclean_fill = False  # a fill default that collapsing whitespace would change
    for index, step in enumerate(recipe.steps):
        at = Context(index, step.kind, tuple(columns), steps[index] if index < len(steps) else {})
        if not step.judgeable:
            raise at.refuse(step.unjudgeable_reason or "not judgeable")
        raw = step.to_json()
        if raw["kind"] == "fill":
            unclean_fill |= any(isinstance(v, str) and v != collapsed(v) for v in _defaults(raw))
        if raw.get("whitespace") == "collapse" and unclean_fill:
            # The judge writes each text it collapses once, in room for the rows' own
            # bytes; a default would need more (write it collapsed in the recipe instead).
            raise at.refuse("collapses whitespace after a fill default that holds some")
        code.append(step.judge(at))
        columns = list(after[index])
        if len(columns) > MAX_COLUMNS:
            raise at.refuse(f"makes {len(columns)} columns, the chain reads at most {MAX_COLUMNS}")
    program = b"".join(code)
    if len(program) > MAX_PROGRAM_BYTES:
        raise Unjudgeable(
            f"the judge program is {len(program)} bytes, the chain takes at most "
            f"{MAX_PROGRAM_BYTES}"
        )
    return JudgeProgram(program, program_hash(program))


def judge_record(
    recipe: Recipe,
    schema_in: rows.Schema,
    steps: Sequence[Mapping[str, Any]],
    longest_row: int = 0,
) -> dict[str, Any]:
    """The proof's ``judge`` record: the program and its hash, or, when the chain cannot
    judge this cleaning, null ones and the reason (its claims fall back to attested
    re-execution). ``longest_row`` is the longest encoded input or output row in bytes."""
    try:
        if longest_row > MAX_ROW_BYTES:
            raise Unjudgeable(
                f"a row is {longest_row} bytes, the chain judges rows of at most {MAX_ROW_BYTES}"
            )
        return compile_judge(recipe, schema_in, steps).to_json()
    except Unjudgeable as exc:
        return {"format": FORMAT, "hash": None, "program": None, "reason": str(exc)}
