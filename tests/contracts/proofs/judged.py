"""Judged cleanings for row-dispute tests, on titanoboa or on ape alike: a real engine run
(datasoil.engine.clean) of a small CSV through a six-step judgeable recipe, its judge
program, and the claimant's ClaimData; and the same data cleaned wrongly, by the engine
with one step altered (the claim still names the honest recipe's program).

The rows and what the recipe does with each (steps: 0 trim, 1 ASCII lower case, 2 cast
age to int64 or null, 3 drop_nulls email, 4 dedupe email, 5 filter adults or no age):

    0  "  Ann ", "ANN@X.ORG", "30"         kept (output 0)
    1  "Bob", "bob@x.org", "17"            dropped by the filter (step 5)
    2  "Cy", null, "40"                    dropped by drop_nulls (step 3)
    3  "Ann", "ann@x.org\u3000", "31"       a duplicate of row 0 (step 4)
    4  "Dee", "dee@x.org", "n/a"           kept, age null (output 1)
    5  "Eve\u2003", "Eve@X.org", "18"       kept (output 2)
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datasoil.engine.clean import clean
from datasoil.flows import audit
from datasoil.formats import rows
from datasoil.formats.fate import FateRecord, decode_fates
from datasoil.formats.recipe import Plan, Recipe, load_recipe

CSV = (
    "name,email,age\n"
    '"  Ann ",ANN@X.ORG,30\n'
    "Bob,bob@x.org,17\n"
    "Cy,,40\n"
    "Ann,ann@x.org\u3000,31\n"
    "Dee,dee@x.org,n/a\n"
    "Eve\u2003,Eve@X.org,18\n"
)
RECIPE = """
version: 1
steps:
  - {kind: trim, columns: [name, email]}
  - {kind: normalise, columns: [email], unicode: null, case: ascii_lower}
  - {kind: cast, columns: {age: int64}, on_error: "null"}
  - {kind: drop_nulls, columns: [email]}
  - {kind: dedupe, columns: [email]}
  - {kind: filter, expr: "is_null(age) or age >= 18"}
"""
KEPT_ROW, FILTERED_ROW, NULL_ROW, DUPLICATE_ROW = 0, 1, 2, 3


@dataclass(frozen=True)
class Judged:
    """A cleaning as a claimant keeps it: its data, judge program and fate records."""

    data: audit.ClaimData
    program: bytes
    program_hash: bytes
    fates: list[FateRecord]
    recipe: Recipe


@contextmanager
def scratch() -> Iterator[Path]:
    """A scratch directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="judged-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def encoded_rows(path: Path, schema: rows.Schema) -> list[bytes]:
    """The datasoil-rows-v1 encodings of a data file's rows under ``schema``."""
    out: list[bytes] = []
    for batch in rows.read_batches(path, schema):
        out.extend(rows.encode_rows(batch, schema))
    return out


def judged_cleaning(csv: str = CSV, recipe_text: str = RECIPE) -> Judged:
    """The engine's cleaning of ``csv`` by the recipe."""
    recipe = load_recipe(recipe_text)
    with scratch() as work:
        source = work / "in.csv"
        source.write_text(csv, encoding="utf-8")
        result = clean(source, recipe, work / "out")
        judge = result.proof["judge"]
        assert judge["program"] is not None, judge
        schema_in = rows.Schema.from_json(result.proof["schema_in"])
        schema_out = rows.Schema.from_json(result.proof["schema_out"])
        fates = result.fate_path.read_bytes()
        data = audit.ClaimData.from_rows(
            encoded_rows(source, schema_in), encoded_rows(result.data_path, schema_out), fates
        )
    program = bytes.fromhex(judge["program"][2:])
    return Judged(
        data, program, bytes.fromhex(judge["hash"][2:]), list(decode_fates(fates)), recipe
    )


def altered_cleaning(patch: Callable[[], Any], csv: str = CSV) -> Judged:
    """The cleaning by an engine with one step altered (``patch()`` returns a context
    manager inside which the step is altered), with the honest recipe's program: what a
    claimant who ran a wrong engine would claim."""
    honest = judged_cleaning(csv)
    with patch():
        wrong = judged_cleaning(csv)
    return Judged(wrong.data, honest.program, honest.program_hash, wrong.fates, wrong.recipe)


@contextmanager
def doing_nothing(cls: type) -> Iterator[None]:
    """An engine whose ``cls`` steps do nothing (their plan is empty): a wrong engine for
    :func:`altered_cleaning`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cls, "plan", lambda self, types, statistics: Plan())
        yield


def forged(
    honest: Judged, *, outputs: list[bytes] | None = None, fates: bytes | None = None
) -> Judged:
    """The honest cleaning with its output rows or fate file replaced (roots recomputed),
    claimed with the honest program."""
    data = honest.data
    assert data.input_rows is not None and data.output_rows is not None
    replaced = audit.ClaimData.from_rows(
        data.input_rows,
        data.output_rows if outputs is None else outputs,
        data.fates if fates is None else fates,
    )
    return Judged(replaced, honest.program, honest.program_hash, honest.fates, honest.recipe)
