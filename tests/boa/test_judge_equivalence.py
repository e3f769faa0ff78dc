"""The chain's judge (contracts/RowJudge.vy: contracts/modules/judge.vy and rows.vy) and
the Polars engine (datasoil.engine.clean) agree: on random schemas, rows and judgeable
recipes, the engine cleans a small dataset and the judge, run on each input row with its
fate record (and the earlier row a dedupe names, or one a disputer might name), reaches
the engine's verdict: kept with the same output row, or dropped by the same step as a
duplicate of the same row. A strict cast that stops the engine fails its row on chain. Two
properties aim at the newest steps: drop_rows (by input index and by values the rows hold,
before a dedupe) and normalise's whitespace collapse (texts with runs of every White_Space
code point, then a cast, a dedupe or a filter reading the collapsed text).

And an engine with one step altered is caught exactly on the rows it got wrong: the claim
is the honest recipe's judge program, the rows, fates and outputs are the altered
engine's; the judge disagrees on a row exactly when the altered engine's fate or output
for that row differs from the honest engine's.

Profiles: CI runs a few hundred judged rows (HYPOTHESIS_PROFILE unset or ci), deep
(HYPOTHESIS_PROFILE=deep) thousands.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from datasoil.engine.clean import CastFailed, clean
from datasoil.formats import rows
from datasoil.formats.fate import FATE_NONE, FATE_STEP_NONE, FateRecord, decode_fates
from datasoil.formats.recipe import (
    And,
    Cmp,
    Col,
    Expr,
    Filter,
    IsNull,
    Lit,
    Not,
    Or,
    Recipe,
    Trim,
    recipe_from_json,
    render_expr,
)
from datasoil.protocol import row_disputes as rd
from tests.boa.conftest import load
from tests.contracts.proofs.judged import encoded_rows, scratch

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
SETTINGS = settings(
    max_examples=600 if DEEP else 45,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
WRONG_SETTINGS = settings(SETTINGS, max_examples=200 if DEEP else 12)
FAILED = rd.Outcome.FAILED
INT64 = (-(2**63), 2**63 - 1)

WHITE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Letters of both cases, digits and signs (for casts), every White_Space code point, and
# non-ASCII text: Latin letters with case mappings beyond ASCII, CJK, an emoji, and
# characters whose UTF-8 ends like a White_Space sequence (U+0100 is C4 80, U+2080 E2 82 80).
CHARS = st.sampled_from(
    list(WHITE) + list("aAzZmM09+-.tTrRuUeEfFlLsS x") + list("éÉßǅ中😀\u0100\u2080\u3001")
)
WORDS = st.sampled_from(
    [
        "true",
        "false",
        "TRUE",
        "False",
        "12",
        "+7",
        "-0",
        "007",
        "-9223372036854775808",
        "9223372036854775807",
        "9223372036854775808",
        " 5",
        "5 ",
        "",
        "1e3",
        "x",
    ]
)
STRINGS = (
    WORDS
    | st.text(CHARS, max_size=12)
    | st.builds(
        lambda w, a, b: a + w + b,
        WORDS,
        st.text(st.sampled_from(WHITE), max_size=3),
        st.text(st.sampled_from(WHITE), max_size=3),
    )
)
INTS = st.sampled_from([0, 1, -1, 2, 17, 18, 100, *INT64, INT64[0] + 1]) | st.integers(*INT64)
FLOATS = st.sampled_from([0.0, -1.5, 2.5, 1e300, -1e-300]) | st.floats(
    -1e6, 1e6, allow_nan=False
).map(lambda x: 0.0 if x == 0 else x)

COLUMN_TYPES = st.sampled_from(
    ["int64"] * 4 + ["string"] * 5 + ["bool"] * 2 + ["float64"] * 2 + ["date", "bytes", "float32"]
)
VALUES = {
    "int64": INTS,
    "string": STRINGS,
    "bool": st.booleans(),
    "float64": FLOATS,
    "float32": st.floats(-1e6, 1e6, width=32).map(lambda x: 0.0 if x == 0 else x),
    "date": st.dates(dt.date(1960, 1, 1), dt.date(2100, 1, 1)),
    "bytes": st.binary(max_size=6),
}
CASTABLE = ("int64", "string", "bool")


@pytest.fixture(scope="module")
def row_judge():
    return load("RowJudge")


# ---------------------------------------------------------------------------------------
# Random recipes over the columns at each step
# ---------------------------------------------------------------------------------------


def _literal(draw, kind: str) -> Any:
    if kind == "int64":
        return draw(INTS)
    if kind == "float64":
        return draw(FLOATS)
    if kind == "string":
        return draw(STRINGS)
    return draw(st.booleans())


def _kind(type_: str) -> str:
    return "number" if type_ in ("int64", "float64") else type_


def _operand(draw, columns: list[tuple[str, str]], kind: str) -> Expr:
    """A column or literal of a comparison kind (number, string, bool, or another type)."""
    same = [c for c, t in columns if _kind(t) == kind]
    if kind in ("number", "string", "bool") and (not same or draw(st.booleans())):
        type_ = draw(st.sampled_from(["int64", "float64"])) if kind == "number" else kind
        return Lit(_literal(draw, type_))
    return Col(draw(st.sampled_from(same)))


def _condition(draw, columns: list[tuple[str, str]], depth: int) -> Expr:
    kinds = sorted({_kind(t) for _, t in columns} | {"number", "string"})
    choice = draw(st.integers(0, 9 if depth > 0 else 4))
    if choice <= 2:
        kind = draw(st.sampled_from(kinds))
        ops = ["==", "!="] if kind == "bool" else ["==", "!=", "<", "<=", ">", ">="]
        return Cmp(
            draw(st.sampled_from(ops)), _operand(draw, columns, kind), _operand(draw, columns, kind)
        )
    if choice == 3:
        return IsNull(draw(st.sampled_from([c for c, _ in columns])))
    if choice == 4:
        bools = [c for c, t in columns if t == "bool"]
        return Col(draw(st.sampled_from(bools))) if bools else Lit(draw(st.booleans()))
    if choice == 5:
        return Not(_condition(draw, columns, depth - 1))
    if choice == 6:
        return Cmp(
            draw(st.sampled_from(["==", "!="])),
            _condition(draw, columns, depth - 1),
            _condition(draw, columns, depth - 1),
        )
    left = _condition(draw, columns, depth - 1)
    right = Lit(None) if draw(st.integers(0, 4)) == 0 else _condition(draw, columns, depth - 1)
    return And(left, right) if choice <= 7 else Or(left, right)


def _some(draw, names: list[str], most: int = 2) -> list[str]:
    return draw(st.lists(st.sampled_from(names), min_size=1, max_size=most, unique=True))


def _step(draw, columns: list[tuple[str, str]], measured: bool = True) -> dict[str, Any]:
    names = [c for c, _ in columns]
    strings = [c for c, t in columns if t == "string"]
    castable = [c for c, t in columns if t in CASTABLE]
    fillable = [c for c, t in columns if t in (*CASTABLE, "float64")]
    numbers = [c for c, t in columns if t in ("int64", "float64")]
    kinds = ["select", "rename", "drop_nulls", "filter", "filter", "dedupe", "drop_rows"]
    kinds += ["trim", "normalise", "trim"] if strings else []
    kinds += ["cast", "cast"] if castable else []
    kinds += ["fill"] if fillable else []
    kinds += ["outliers"] if numbers and measured else []
    kind = draw(st.sampled_from(kinds))
    types = dict(columns)
    if kind == "select":
        picked = draw(st.permutations(names))
        return {"kind": kind, "columns": picked[: draw(st.integers(1, len(picked)))]}
    if kind == "rename":
        old = draw(st.sampled_from(names))
        return {"kind": kind, "columns": {old: old + "_r"}}
    if kind == "drop_rows":
        return _drop_rows(draw, columns)
    if kind in ("drop_nulls", "dedupe"):
        return {"kind": kind, "columns": _some(draw, names)}
    if kind == "trim":
        return {"kind": kind, "columns": _some(draw, strings)}
    if kind == "normalise":
        case = draw(st.sampled_from(["ascii_lower", "ascii_upper", None]))
        whitespace = "collapse" if case is None else draw(st.sampled_from(["collapse", None]))
        return {
            "kind": kind,
            "columns": _some(draw, strings),
            "unicode": None,
            "case": case,
            "whitespace": whitespace,
        }
    if kind == "cast":
        targets = {c: draw(st.sampled_from(CASTABLE)) for c in _some(draw, castable)}
        on_error = draw(st.sampled_from(["null", "null", "drop", "strict"]))
        return {"kind": kind, "columns": targets, "on_error": on_error}
    if kind == "fill":
        chosen = _some(draw, fillable)
        return {"kind": kind, "values": {c: _literal(draw, types[c]) for c in chosen}}
    if kind == "outliers":
        action = draw(st.sampled_from(["clip", "drop"]))
        k = draw(st.sampled_from([0.0, 0.5, 1.5]))
        return {"kind": kind, "columns": _some(draw, numbers), "action": action, "k": k}
    return {"kind": "filter", "expr": render_expr(_condition(draw, columns, 3))}


# Values rows often hold (tables draw from the same pools), so drop_rows matches some.
COMMON = {
    "string": st.sampled_from(["true", "12", "", "x", "a", " 5"]),
    "int64": st.sampled_from([0, 1, -1, 17, 18, INT64[0], INT64[1]]),
    "bool": st.booleans(),
}


def _drop_rows(
    draw, columns: list[tuple[str, str]], seen: dict[str, list[Any]] | None = None
) -> dict[str, Any]:
    """drop_rows by input index (tables have at most 6 rows), by a column's values, or both;
    ``seen``: values the input holds, by column name (renamed columns end in ``_r``)."""
    step: dict[str, Any] = {"kind": "drop_rows"}
    usable = [c for c, t in columns if t in COMMON]
    by_value = bool(usable) and draw(st.booleans())
    if not by_value or draw(st.booleans()):
        step["rows"] = draw(st.lists(st.integers(0, 7), min_size=1, max_size=3, unique=True))
    if by_value:
        column = draw(st.sampled_from(usable))
        type_ = dict(columns)[column]
        held = [
            v
            for v in (seen or {}).get(column.removesuffix("_r").removesuffix("_r"), [])
            if v is not None and type(v) is {"string": str, "int64": int, "bool": bool}[type_]
        ]
        pool = COMMON[type_] | st.sampled_from(held) if held else COMMON[type_]
        step.update(column=column, values=draw(st.lists(pool, min_size=1, max_size=3)))
    return step


@st.composite
def recipes(draw, columns: list[tuple[str, str]], most: int = 6, measured: bool = True) -> Recipe:
    """A recipe of judgeable steps over these columns; `measured=False` leaves out steps
    that measure the dataset (outliers)."""
    steps: list[dict[str, Any]] = []
    current = list(columns)
    for _ in range(draw(st.integers(1, most))):
        raw = _step(draw, current, measured)
        step = recipe_from_json({"version": 1, "steps": [raw]}).steps[0]
        current = step.check(len(steps), current)
        steps.append(raw)
    return recipe_from_json({"version": 1, "steps": steps})


@st.composite
def tables(draw, types: list[str] | None = None, most_rows: int = 6):
    """A schema and rows; values often repeat earlier rows' (so dedupe keys collide)."""
    if types is None:
        types = draw(st.lists(COLUMN_TYPES, min_size=1, max_size=5))
    schema = rows.Schema(tuple(rows.Column(f"c{i}", t) for i, t in enumerate(types)))
    table: list[list[Any]] = []
    for _ in range(draw(st.integers(1, most_rows))):
        row = []
        for i, t in enumerate(types):
            pick = draw(st.integers(0, 5))
            if pick == 0:
                row.append(None)
            elif pick == 1 and table:
                row.append(table[draw(st.integers(0, len(table) - 1))][i])
            else:
                row.append(draw(VALUES[t]))
        table.append(row)
    return schema, table


# ---------------------------------------------------------------------------------------
# The engine's side, and the judge's
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    program: bytes
    inputs: list[bytes]
    fates: list[FateRecord]
    outputs: list[bytes]


def run_engine(schema: rows.Schema, table: list[list[Any]], recipe: Recipe) -> Cleaned:
    """Clean the table with the engine; its judge program, encoded input rows, fate
    records and encoded output rows. Raises CastFailed as the engine does."""
    with scratch() as work:
        data = work / "in.parquet"
        _write(schema, table, data)
        result = clean(data, recipe, work / "out")
        judge = result.proof["judge"]
        assume(judge["program"] is not None)  # rows over 4,096 bytes: not judged
        schema_in = rows.Schema.from_json(result.proof["schema_in"])
        assert schema_in == schema
        schema_out = rows.Schema.from_json(result.proof["schema_out"])
        return Cleaned(
            bytes.fromhex(judge["program"][2:]),
            encoded_rows(data, schema_in),
            list(decode_fates(result.fate_path.read_bytes())),
            encoded_rows(result.data_path, schema_out),
        )


def judge(
    row_judge, program: bytes, inputs: list[bytes], fates: list[FateRecord], i: int, j: int | None
):
    """The chain's outcome for input row i, with earlier row j (the fate's dup_of or a
    disputer's pick) opened alongside."""
    fate = fates[i]
    step_of = lambda f: FATE_STEP_NONE if f.step is None else f.step  # noqa: E731
    dup = FATE_NONE if fate.dup_of is None else fate.dup_of
    earlier, earlier_step = b"", FATE_STEP_NONE
    if j is not None:
        earlier, earlier_step = inputs[j], step_of(fates[j])
    return tuple(
        row_judge.judge(
            inputs[i],
            earlier,
            program,
            i,
            step_of(fate),
            dup,
            FATE_NONE if j is None else j,
            earlier_step,
        )
    )


def agrees(outcome: tuple, fate: FateRecord, outputs: list[bytes]) -> bool:
    """The claim's verdict on the row (RowDisputes.answer_row's test, mirrored by
    datasoil.protocol.row_disputes.verdict)."""
    judged = rd.JudgeOutcome.from_call(outcome)
    output = outputs[fate.output_index] if fate.kept and fate.output_index is not None else b""
    return rd.verdict(judged, fate, output)


def _witness(fate: FateRecord, i: int, guess: int | None) -> int | None:
    """The earlier row opened with row i: its fate's dup_of, else a disputer's guess."""
    if fate.dup_of is not None:
        return fate.dup_of
    return guess if guess is not None and guess < i else None


@SETTINGS
@given(data=st.data())
def test_judge__agrees_with_the_engine_on_every_row(row_judge, data):
    schema, table = data.draw(tables())
    recipe = data.draw(recipes([(c.name, c.type) for c in schema.columns]))
    try:
        cleaned = run_engine(schema, table, recipe)
    except CastFailed as exc:
        found = re.search(r"step (\d+) \(cast\).*input row (\d+)", str(exc))
        assert found is not None
        step, row = int(found.group(1)), int(found.group(2))
        with scratch() as work:
            program, inputs = _program_and_inputs(schema, table, recipe, work)
        kept = [FateRecord(k, True, k, k, None, None) for k in range(len(inputs))]
        outcome = judge(row_judge, program, inputs, kept, row, None)
        assert outcome[:2] == (FAILED, step), (str(exc), outcome)
        event("a strict cast fails")
        return
    for i, fate in enumerate(cleaned.fates):
        guess = data.draw(st.none() | st.integers(0, max(0, i - 1)))
        outcome = judge(
            row_judge, cleaned.program, cleaned.inputs, cleaned.fates, i, _witness(fate, i, guess)
        )
        assert agrees(outcome, fate, cleaned.outputs), (i, fate, outcome, recipe.to_json())
        kind = "kept" if fate.kept else f"dropped by {recipe.steps[fate.step].kind}"
        event(kind + (" with an earlier row" if _witness(fate, i, guess) is not None else ""))


DROP_SETTINGS = settings(SETTINGS, max_examples=300 if DEEP else 20)


@DROP_SETTINGS
@given(data=st.data())
def test_drop_rows__judged_as_the_engine_drops(row_judge, data):
    """drop_rows (by input index and by a column's values, after random steps, before a
    dedupe whose earlier row it may have dropped) on every row, as the engine decided."""
    schema, table = data.draw(tables(["string", "int64", "bool", "string"]))
    columns = [(c.name, c.type) for c in schema.columns]
    before = data.draw(recipes(columns, most=2))
    current = list(before.check_columns(columns)[-1])
    seen = {c.name: [r[k] for r in table] for k, c in enumerate(schema.columns)}
    steps = before.to_json()["steps"] + [_drop_rows(draw_from(data), current, seen)]
    steps.append({"kind": "dedupe", "columns": _some(draw_from(data), [c for c, _ in current])})
    drop_step = len(steps) - 2
    for fate in _judge_every_row(row_judge, data, schema, table, steps)[1]:
        event("dropped by drop_rows" if fate.step == drop_step else "not dropped by drop_rows")


def _judge_every_row(row_judge, data, schema, table, steps) -> tuple[Recipe, list[FateRecord]]:
    """Clean the table by the steps (a strict cast that fails: not this test's case) and
    judge every row as the engine decided it, with the earlier row its fate names or a
    disputer's guess; the recipe and the fates."""
    recipe = recipe_from_json({"version": 1, "steps": steps})
    try:
        cleaned = run_engine(schema, table, recipe)
    except CastFailed:
        assume(False)
        raise
    for i, fate in enumerate(cleaned.fates):
        guess = data.draw(st.none() | st.integers(0, max(0, i - 1)))
        witness = _witness(fate, i, guess)
        outcome = judge(row_judge, cleaned.program, cleaned.inputs, cleaned.fates, i, witness)
        assert agrees(outcome, fate, cleaned.outputs), (i, fate, outcome, recipe.to_json())
    return recipe, cleaned.fates


COLLAPSE_SETTINGS = settings(SETTINGS, max_examples=300 if DEEP else 20)
# Texts with runs of White_Space inside and at the ends, in every code point.
SPACED = st.lists(
    st.text(st.sampled_from(list("aB5é中-")), min_size=1, max_size=3)
    | st.text(st.sampled_from(WHITE), min_size=1, max_size=3),
    max_size=6,
).map("".join)


@COLLAPSE_SETTINGS
@given(data=st.data())
def test_collapse__judged_as_the_engine_collapses(row_judge, data):
    """normalise's whitespace collapse (with or without an ASCII case mapping, after other
    steps) on every row, then steps that read the collapsed texts: a cast, a dedupe on
    them (the earlier row collapsed alongside), a filter comparing one with a literal."""
    schema = rows.Schema(tuple(rows.Column(f"c{i}", "string") for i in range(3)))
    pool = SPACED | STRINGS
    n = data.draw(st.integers(1, 6))
    table = [[data.draw(st.none() | pool) for _ in range(3)] for _ in range(n)]
    if n > 1 and data.draw(st.booleans()):
        table[-1][1] = (table[0][1] or "a") + " \u3000"  # collapses to the first row's
    columns = [(c.name, c.type) for c in schema.columns]
    steps = data.draw(recipes(columns, most=2, measured=False)).to_json()["steps"]
    now = list(recipe_from_json({"version": 1, "steps": steps}).check_columns(columns)[-1])
    texts = [c for c, t in now if t == "string"]
    assume(texts)
    chosen = _some(data.draw, texts, 3)
    case = data.draw(st.sampled_from(["ascii_lower", "ascii_upper", None]))
    steps.append(
        {"kind": "normalise", "columns": chosen, "unicode": None, "case": case,
         "whitespace": "collapse"}
    )  # fmt: skip
    key = data.draw(st.sampled_from(chosen))
    later = data.draw(st.sampled_from(["dedupe", "filter", "cast", "none"]))
    if later == "dedupe":
        steps.append({"kind": "dedupe", "columns": [key]})
    elif later == "filter":
        literal = render_expr(Lit(data.draw(st.sampled_from(["a b", "5", "", "B"]))))
        steps.append({"kind": "filter", "expr": f"{key} != {literal}"})
    elif later == "cast":
        steps.append({"kind": "cast", "columns": {key: "int64"}, "on_error": "null"})
    recipe, fates = _judge_every_row(row_judge, data, schema, table, steps)
    for fate in fates:
        event("kept" if fate.kept else f"dropped by {recipe.steps[fate.step].kind}")


def draw_from(data):
    """``data.draw`` as the ``draw`` of a composite strategy."""
    return data.draw


def _program_and_inputs(schema, table, recipe, work: Path) -> tuple[bytes, list[bytes]]:
    """The judge program and encoded rows of a cleaning that fails (compiled as the engine
    would have: a strict cast measures nothing, and the statistics of outliers steps
    before it are none of the failing row's business)."""
    from datasoil.formats import judge as jp

    data = work / "in.parquet"
    _write(schema, table, data)
    assume(not any(s.statistics_fields for s in recipe.steps))
    program = jp.compile_judge(recipe, schema, [{}] * len(recipe.steps)).program
    return program, encoded_rows(data, schema)


# ---------------------------------------------------------------------------------------
# Engines with one step altered
# ---------------------------------------------------------------------------------------


def _ascii_trim(self: Trim, value: pl.Expr) -> pl.Expr:
    return value.str.strip_chars(" \t\n")


_FILTER_PLAN = Filter.plan


def _lenient_filter(self: Filter, types, statistics):
    """`>=` computed as `>`: rows at the boundary are dropped."""
    text = render_expr(self.expr).replace(">=", ">")
    step = recipe_from_json({"version": 1, "steps": [{"kind": "filter", "expr": text}]}).steps[0]
    return _FILTER_PLAN(step, types, statistics)


ALTERATIONS = {
    "trim strips only ASCII spaces, tabs and newlines": (Trim, "rewrite", _ascii_trim),
    "filter takes >= for >": (Filter, "plan", _lenient_filter),
}


def _differing(honest: Cleaned, wrong: Cleaned, same_key) -> set[int]:
    """Input rows whose fate (kept, step, dup_of) or output row differ between two runs,
    but for a dedupe drop whose dup_of names another earlier row with the same key that
    reached the step (`same_key(i, j, step)`): the judge does not check that dup_of is the
    lowest such row (docs/formats/judge.md), and the output is the same."""
    found = set()
    for i, (a, b) in enumerate(zip(honest.fates, wrong.fates, strict=True)):
        if (a.kept, a.step) == (b.kept, b.step) and a.dup_of != b.dup_of:
            if a.dup_of is None or b.dup_of is None or not same_key(i, b.dup_of, b.step):
                found.add(i)
        elif (a.kept, a.step, a.dup_of) != (b.kept, b.step, b.dup_of) or (
            a.kept and honest.outputs[a.output_index] != wrong.outputs[b.output_index]
        ):
            found.add(i)
    return found


def _same_key_honestly(schema, table, recipe: Recipe):
    """`same_key(i, j, s)`: rows i and j both reach step s (a dedupe) alive under the honest
    engine, with equal keys there (the engine run on the steps before s)."""

    def same_key(i: int, j: int, s: int) -> bool:
        keys = recipe.steps[s].to_json()["columns"]
        before = recipe.steps[:s]
        if not before:
            names = [c.name for c in schema.columns]
            return all(table[i][names.index(k)] == table[j][names.index(k)] for k in keys)
        prefix = Recipe(before)
        with scratch() as work:
            data = work / "in.parquet"
            _write(schema, table, data)
            result = clean(data, prefix, work / "out")
            fates = list(decode_fates(result.fate_path.read_bytes()))
            if not (fates[i].kept and fates[j].kept):
                return False
            frame = pl.read_parquet(result.data_path)
        a, b = (
            frame.row(fates[i].output_index, named=True),
            frame.row(fates[j].output_index, named=True),
        )
        return all(a[k] == b[k] for k in keys)

    return same_key


def _write(schema: rows.Schema, table: list[list[Any]], path: Path) -> None:
    arrow = pa.Table.from_pylist(
        [dict(zip([c.name for c in schema.columns], r, strict=True)) for r in table],
        schema=schema.to_arrow(),
    )
    pq.write_table(arrow, path)


@WRONG_SETTINGS
@pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
@given(data=st.data())
def test_altered_engine__is_caught_exactly_on_the_rows_it_got_wrong(
    row_judge, alteration, data, monkeypatch
):
    cls, name, replacement = ALTERATIONS[alteration]
    schema, table = data.draw(tables(["string", "int64", "string"], most_rows=5))
    if cls is Trim:
        table.append([WHITE + "x" + WHITE, 1, "\u3000y"])  # a row the altered trim gets wrong
        extra = [{"kind": "trim", "columns": ["c0", "c2"]}]
    else:
        table.append(["x", 18, "y"])
        extra = [{"kind": "filter", "expr": "c1 >= 18"}]
    # No outliers: an altered engine measures other fences, records them, and the chain
    # judges by the recorded fences (docs/formats/judge.md).
    more = data.draw(
        recipes([("c0", "string"), ("c1", "int64"), ("c2", "string")], most=3, measured=False)
    )
    recipe = recipe_from_json({"version": 1, "steps": extra + more.to_json()["steps"]})
    try:
        honest = run_engine(schema, table, recipe)
        with monkeypatch.context() as patch:
            patch.setattr(cls, name, replacement)
            wrong = run_engine(schema, table, recipe)
    except CastFailed:
        assume(False)
        return
    assert wrong.program == honest.program  # the claim: the honest recipe's program
    differing = _differing(honest, wrong, _same_key_honestly(schema, table, recipe))
    # Later steps may hide the altered values (a select) or drop the rows anyway.
    assume(differing)
    caught = set()
    for i, fate in enumerate(wrong.fates):
        # A disputer who ran the honest engine names the earlier row it found.
        outcome = judge(
            row_judge,
            wrong.program,
            wrong.inputs,
            wrong.fates,
            i,
            _witness(fate, i, honest.fates[i].dup_of),
        )
        if not agrees(outcome, fate, wrong.outputs):
            caught.add(i)
    assert caught == differing
