"""The `drop_rows` recipe step (how an owner answers withdrawal requests): parsing and
canonical form, column checks, and a cleaning that drops rows by index and by a subject
column, checked against pandas, re-verified, sampled, and its fate records' verdict on
chain (`fate_rules`, the contract's rules) for the dropped rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from datasoil.engine.clean import ROW, check_sample, clean, verify
from datasoil.errors import RecipeError
from datasoil.formats.fate import FATE_NONE, decode_fates, fate_rules
from datasoil.formats.recipe import ROW_NUMBER, DropRows, load_recipe

ALICE = "0x81efA4bcf6892EFBACfc91ec1A82c4f44edA9028"
BOB = "0xBE650D46F8BB521b2C98054C89302060d49b9809"


def recipe(*steps: str):  # type: ignore[no-untyped-def]
    return load_recipe("{version: 1, steps: [" + ", ".join(steps) + "]}")


def table(path: Path) -> Path:
    people = [ALICE, BOB, "", ALICE, BOB, ALICE, BOB, ""]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "subject", "score"])
        for i, who in enumerate(people):
            w.writerow([i, who, i * 10])
    return path


def test_row_number_is_the_engines_column() -> None:
    assert ROW_NUMBER == ROW


def test_parse__canonical_form_sorts_and_fills_every_field() -> None:
    r = recipe(
        "{kind: drop_rows, rows: [7, 2]}",
        f"{{kind: drop_rows, column: subject, values: ['{BOB}', '{ALICE}']}}",
    )
    assert r.steps == (DropRows((2, 7)), DropRows((), "subject", (ALICE, BOB)))
    assert b'{"column":null,"kind":"drop_rows","rows":[2,7],"values":[]}' in r.canonical_bytes()
    same = recipe(
        "{kind: drop_rows, rows: [2, 7], column: null, values: []}",
        f"{{kind: drop_rows, column: subject, values: ['{ALICE}', '{BOB}']}}",
    )
    assert same.cid == r.cid


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{kind: drop_rows}", "nothing to drop"),
        ("{kind: drop_rows, rows: [-1]}", "field 'rows': expected a list of input row indices"),
        ("{kind: drop_rows, rows: [true]}", "field 'rows': expected a list of input row indices"),
        ("{kind: drop_rows, rows: 3}", "field 'rows': expected a list"),
        ("{kind: drop_rows, rows: [1, 1]}", "row listed twice"),
        ("{kind: drop_rows, column: subject}", "field 'values': expected a column and its values"),
        ("{kind: drop_rows, values: [a]}", "field 'values': expected a column and its values"),
        ("{kind: drop_rows, column: subject, values: [null]}", "field 'values': expected a list"),
        ("{kind: drop_rows, column: __ds_row, values: [1]}", "reserved"),
        ("{kind: drop_rows, rows: [1], extra: 2}", "unknown field"),
    ],
)
def test_parse__refusals_name_step_and_field(step: str, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        recipe(step)


def test_check__column_must_exist_and_values_fit_its_type() -> None:
    by_subject = recipe("{kind: drop_rows, column: subject, values: [a]}")
    with pytest.raises(RecipeError, match="unknown column 'subject'"):
        by_subject.check_columns([("id", "int64")])
    with pytest.raises(RecipeError, match="does not fit column 'subject' of type int64"):
        by_subject.check_columns([("subject", "int64")])
    with pytest.raises(RecipeError, match="expected a string, int64 or bool column"):
        by_subject.check_columns([("subject", "float64")])
    assert recipe("{kind: drop_rows, rows: [1]}").check_columns([("x", "float64")]) == [
        [("x", "float64")]
    ]


def test_clean__drops_by_index_and_by_subject_as_pandas_does(tmp_path: Path) -> None:
    src = table(tmp_path / "in.csv")
    r = recipe(
        "{kind: filter, expr: 'score != 30'}",
        "{kind: drop_rows, rows: [1, 6, 99]}",
        f"{{kind: drop_rows, column: subject, values: ['{ALICE}']}}",
    )
    result = clean(src, r, tmp_path / "out")
    frame = pd.read_csv(src, keep_default_na=False)
    expected = frame[(frame.score != 30) & ~frame.index.isin([1, 6]) & (frame.subject != ALICE)]
    got = pl.read_parquet(result.data_path)
    assert got["id"].to_list() == expected["id"].tolist() == [2, 4, 7]
    fates = decode_fates(result.fate_path.read_bytes())
    assert [(f.kept, f.step) for f in fates] == [
        (False, 2),
        (False, 1),
        (True, None),
        (False, 0),  # the filter dropped it first
        (True, None),
        (False, 2),
        (False, 1),
        (True, None),
    ]
    assert [s["rows_dropped"] for s in result.proof["steps"]] == [1, 2, 2]
    verify(result.proof_path, src, result.data_path, fate=result.fate_path)
    # the chain's verdict on the dropped rows' records: valid, and no output row
    for i in (0, 1, 5, 6):
        assert fate_rules(fates[i].encode(), i, len(fates), 3) == (True, None)
    assert fates[1].encode()[9:17] == FATE_NONE.to_bytes(8, "big")


def test_check_sample__judges_drop_rows_on_sampled_rows(tmp_path: Path) -> None:
    src = table(tmp_path / "in.csv")
    r = recipe("{kind: drop_rows, rows: [3]}")
    result = clean(src, r, tmp_path / "out")
    fates = decode_fates(result.fate_path.read_bytes())
    inputs = {
        i: {"id": i, "subject": s, "score": i * 10} for i, s in ((2, ""), (3, ALICE), (4, BOB))
    }
    sample = {i: fates[i] for i in inputs}
    outputs = {2: {"id": 2, "subject": "", "score": 20}, 3: {"id": 4, "subject": BOB, "score": 40}}
    assert check_sample(result.proof, r, inputs, sample, outputs) == []
    kept_instead = {**sample, 3: fates[2].__class__(3, True, 3, 3, None, None)}
    problems = check_sample(result.proof, r, inputs, kept_instead, outputs)
    assert "input row 3: fate says kept as output row 3, recipe gives dropped by step 0" in problems
