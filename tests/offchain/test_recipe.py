"""Recipes: parsing, validation messages, canonical bytes, the filter expression language."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID, multihash

from datasoil.errors import RecipeError
from datasoil.formats.recipe import (
    Cast,
    eval_expr,
    expr_to_polars,
    load_recipe,
    parse_expr,
    recipe_from_json,
    render_expr,
)

DEMO = Path(__file__).parents[2] / "examples" / "recipes" / "clean.yaml"
COLUMNS = [("id", "int64"), ("name", "string"), ("age", "int64"), ("score", "float64")]


def steps(*yaml_steps: str) -> str:
    return "version: 1\nsteps:\n" + "".join(f"  - {s}\n" for s in yaml_steps)


def test_demo_recipe__loads_and_round_trips_through_canonical_json() -> None:
    recipe = load_recipe(DEMO)
    assert len(recipe.steps) == 10
    assert recipe_from_json(recipe.to_json()) == recipe
    assert load_recipe(recipe.canonical_bytes().decode()) == recipe


def test_canonical_bytes__ignore_yaml_spelling_and_mapping_order() -> None:
    a = load_recipe(
        steps(
            "{kind: cast, columns: {b: int64, a: float64}}",
            "{kind: filter, expr: 'x>1 and not is_null(y)'}",
        )
    )
    b = load_recipe(
        """
version: 1
steps:
  - kind: cast
    columns:
      a: float64
      b: int64
    on_error: strict
  - kind: filter
    expr: "(x > 1)   and (not is_null(`y`))"
"""
    )
    assert a.canonical_bytes() == b.canonical_bytes()
    assert a.cid == b.cid
    assert b"((x > 1) and (not is_null(y)))" in a.canonical_bytes()


def test_canonical_bytes__are_sorted_compact_utf8_json() -> None:
    recipe = load_recipe(steps("{kind: fill, values: {name: 'Zürich'}}"))
    assert recipe.canonical_bytes() == (
        '{"steps":[{"kind":"fill","values":{"name":"Zürich"}}],"version":1}'.encode()
    )


def test_recipe_cid__is_cidv1_raw_sha256_of_canonical_bytes() -> None:
    recipe = load_recipe(DEMO)
    digest = multihash.wrap(hashlib.sha256(recipe.canonical_bytes()).digest(), "sha2-256")
    assert recipe.cid == str(CID("base32", 1, "raw", digest))


def test_a_changed_step_changes_the_cid() -> None:
    a = load_recipe(steps("{kind: outliers, columns: [x], k: 1.5}"))
    b = load_recipe(steps("{kind: outliers, columns: [x], k: 3}"))
    assert a.cid != b.cid


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 2\nsteps: [{kind: trim, columns: [a]}]", "field 'version': expected 1"),
        ("version: 1\nsteps: []", "field 'steps'"),
        (
            steps("{kind: trim, columns: [a]}", "{kind: explode, columns: [a]}"),
            "step 1: unknown step kind 'explode'",
        ),
        (steps("{kind: trim}"), "step 0 (trim), field 'columns': required field is missing"),
        (steps("{kind: trim, columns: [a], colour: red}"), "step 0 (trim), field 'colour'"),
        (
            steps("{kind: cast, columns: {a: integer}}"),
            "step 0 (cast), field 'columns': bad cast type 'integer'",
        ),
        (
            steps("{kind: cast, columns: {a: int64}, on_error: ignore}"),
            "step 0 (cast), field 'on_error'",
        ),
        (steps("{kind: filter, expr: 'a >'}"), "step 0 (filter), field 'expr': bad expression"),
        (steps("{kind: filter, expr: 'a > 1 b'}"), "unexpected 'b' at offset 6"),
        (steps("{kind: filter, expr: 'a = 1'}"), "unexpected character '='"),
        (
            steps("{kind: outliers, columns: [a], action: winsorise}"),
            "step 0 (outliers), field 'action'",
        ),
        (steps("{kind: outliers, columns: [a], k: -1}"), "step 0 (outliers), field 'k'"),
        (
            steps("{kind: normalise, columns: [a], unicode: NFC}"),
            "step 0 (normalise), field 'unicode'",
        ),
        (steps("{kind: fill, values: {a: null}}"), "step 0 (fill), field 'values'"),
        (steps("{kind: select, columns: [__ds_row]}"), "reserved"),
        (steps("{kind: dedupe, columns: [a], keep: last}"), "step 0 (dedupe), field 'keep'"),
        ("version: 1\nsteps: [\n", "not valid YAML"),
    ],
)
def test_invalid_recipes__name_step_and_field(text: str, message: str) -> None:
    with pytest.raises(RecipeError, match=None) as info:
        load_recipe(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("yaml_steps", "message"),
    [
        (["{kind: trim, columns: [nme]}"], "step 0 (trim), field 'columns': unknown column 'nme'"),
        (
            ["{kind: select, columns: [id]}", "{kind: trim, columns: [name]}"],
            "step 1 (trim), field 'columns': unknown column 'name' at this step",
        ),
        (
            ["{kind: rename, columns: {name: full_name}}", "{kind: dedupe, columns: [name]}"],
            "step 1 (dedupe), field 'columns': unknown column 'name'",
        ),
        (["{kind: rename, columns: {name: id}}"], "renaming makes two columns named 'id'"),
        (["{kind: filter, expr: 'agee > 3'}"], "step 0 (filter), field 'expr': unknown column"),
        (["{kind: filter, expr: \"age > 'old'\"}"], "cannot compare number with string"),
        (["{kind: filter, expr: 'age'}"], "expected a condition"),
        (["{kind: filter, expr: 'age == null'}"], "use is_null(column)"),
        (["{kind: trim, columns: [age]}"], "column 'age' has type int64, expected string"),
        (["{kind: outliers, columns: [name]}"], "column 'name' has type string, expected a number"),
        (["{kind: fill, values: {age: 'x'}}"], "default 'x' does not fit column 'age'"),
        (
            ["{kind: cast, columns: {name: int64}}", "{kind: trim, columns: [name]}"],
            "step 1 (trim), field 'columns': column 'name' has type int64",
        ),
    ],
)
def test_check_columns__names_step_field_and_column(yaml_steps: list[str], message: str) -> None:
    recipe = load_recipe(steps(*yaml_steps))
    with pytest.raises(RecipeError) as info:
        recipe.check_columns(COLUMNS)
    assert message in str(info.value)


def test_check_columns__follows_select_rename_and_cast() -> None:
    recipe = load_recipe(
        steps(
            "{kind: select, columns: [age, name]}",
            "{kind: rename, columns: {age: years}}",
            "{kind: cast, columns: {years: string}}",
        )
    )
    after = recipe.check_columns(COLUMNS)
    assert after[-1] == [("years", "string"), ("name", "string")]
    assert isinstance(recipe.steps[2], Cast)


def test_parse_expr__precedence_not_and_or() -> None:
    e = parse_expr("not a == 1 or b < 2 and c >= 3")
    assert render_expr(e) == "((not (a == 1)) or ((b < 2) and (c >= 3)))"
    assert render_expr(parse_expr(render_expr(e))) == render_expr(e)


def test_parse_expr__literals_and_quoted_columns() -> None:
    e = parse_expr("`first name` == 'O\\'Brien' and x != -2.5e3 and flag == true")
    assert render_expr(e) == (
        '(((`first name` == "O\'Brien") and (x != -2500.0)) and (flag == true))'
    )


_FRAME_COLUMNS = {"a": pl.Int64, "b": pl.Float64, "s": pl.String, "f": pl.Boolean}
_EXPRESSIONS = [
    "a > 2",
    "a >= 2 and b < 1.5",
    "not (a == 3) or is_null(b)",
    "s == 'x' or s != 'y'",
    "not is_null(s) and s < 'm'",
    "f == true or a <= -1",
    "not (f != false and b > 0)",
    "(a < 0 or a > 5) and not (b == 2.5)",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "a": st.one_of(st.none(), st.integers(-3, 8)),
                "b": st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 1.5, 2.5, 3.0])),
                "s": st.one_of(st.none(), st.sampled_from(["x", "y", "m", "a", "zz"])),
                "f": st.one_of(st.none(), st.booleans()),
            }
        ),
        min_size=1,
        max_size=12,
    )
)
def test_expressions__polars_translation_matches_python_evaluator(rows: list[dict]) -> None:
    frame = pl.DataFrame(rows, schema=_FRAME_COLUMNS)
    types = {"a": "int64", "b": "float64", "s": "string", "f": "bool"}
    for text in _EXPRESSIONS:
        expr = parse_expr(text)
        load_recipe(steps(f"{{kind: filter, expr: {text!r}}}")).check_columns(list(types.items()))
        got = frame.select(expr_to_polars(expr).alias("r"))["r"].to_list()
        want = [eval_expr(expr, row) for row in rows]
        assert got == want, text


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            "version: 1\nsteps:\n  - {kind: trim, columns: [a]\n  - kind: cast\n",
            ":4:3:",
            "expected ',' or '}', but got '-' (while parsing a flow mapping that starts at "
            "line 3, column 5)",
        ),
        ("version: 1\nsteps: [{kind: trim, columns: [a]}]\nx: y: z\n", ":3:5:", "mapping values"),
        ("version: 1\n\tsteps: []\n", ":2:1:", "found character '\\t' that cannot start"),
        ("version: 1\nsteps:\n  - kind: \x07\n", ":3:11:", "found U+0007"),
    ],
)
def test_load_recipe__yaml_syntax_error_is_one_sentence_with_file_line_column(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}{where} recipe is not valid YAML: ")
    assert problem in message


def test_load_recipe__yaml_text_error_names_the_text_and_position() -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe("version: 1\nsteps: [\n")
    assert str(info.value).startswith("<recipe text>:3:1: recipe is not valid YAML: ")
    assert "\n" not in str(info.value)


def test_datasoil_clean__bad_yaml_exits_1_with_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datasoil.app.cli import cli

    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("version: 1\nsteps:\n  - {kind: trim, columns: [a]\n  - kind: cast\n")
    out = tmp_path / "out"
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["clean", str(data), "--recipe", str(recipe), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {recipe}:4:3: recipe is not valid YAML: expected ',' or '}}', but got '-' "
        "(while parsing a flow mapping that starts at line 3, column 5)"
    ]
    assert not out.exists()
