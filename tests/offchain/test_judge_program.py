"""Judge programs (datasoil.formats.judge): which steps are judgeable, the layout of
docs/formats/judge.md byte by byte, the proof's judge record, and that recipes that
existed keep their canonical bytes and CIDs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from eth_hash.auto import keccak

from datasoil.engine.clean import clean, load_proof, verify
from datasoil.errors import ProofError, RecipeError
from datasoil.formats import judge, rows
from datasoil.formats.recipe import (
    Cmp,
    Col,
    Lit,
    expr_to_polars,
    load_recipe,
    parse_expr,
    recipe_from_json,
    render_expr,
)

DEMO = Path(__file__).parents[2] / "examples" / "recipes" / "clean.yaml"


def recipe(*yaml_steps: str):
    return load_recipe("version: 1\nsteps:\n" + "".join(f"  - {s}\n" for s in yaml_steps))


def schema(*columns: tuple[str, str]) -> rows.Schema:
    return rows.Schema(tuple(rows.Column(n, t) for n, t in columns))


def test_existing_recipes__keep_their_canonical_bytes_and_cid() -> None:
    demo = load_recipe(DEMO)
    # Pinned before judge programs existed: marking steps judgeable changes no byte.
    assert demo.cid == "bafkreig7mxazfygqv5c5lzxtz2ttuvqgllvrbvfj57pjfrefcljn2bqgvy"
    assert b"judge" not in demo.canonical_bytes()


def test_demo_recipe__marks_each_step_judgeable_or_not_with_a_reason() -> None:
    demo = load_recipe(DEMO)
    marks = [(s.kind, s.judgeable) for s in demo.steps]
    assert marks == [
        ("trim", True),
        ("normalise", False),  # NFKC and full Unicode lower case
        ("normalise", False),  # NFKC and whitespace collapsing
        ("cast", True),
        ("drop_nulls", True),
        ("dedupe", True),
        ("filter", True),
        ("redact_pii", False),
        ("outliers", True),
        ("fill", True),
    ]
    for step in demo.steps:
        assert (step.unjudgeable_reason is None) == step.judgeable
    assert "NFKC" in (demo.steps[1].unjudgeable_reason or "")
    assert "regular-expression" in (demo.steps[7].unjudgeable_reason or "")


@pytest.mark.parametrize(
    ("step", "why"),
    [
        ("{kind: normalise, columns: [s]}", "NFKC"),
        ("{kind: normalise, columns: [s], unicode: null, case: lower}", "full Unicode case"),
        ("{kind: redact_pii, columns: [s]}", "regular-expression"),
        ("{kind: cast, columns: {s: float64}}", "float64"),
    ],
)
def test_unjudgeable_steps__refuse_to_compile_naming_the_step(step: str, why: str) -> None:
    r = recipe("{kind: trim, columns: [s]}", step)
    assert not r.steps[1].judgeable
    with pytest.raises(judge.Unjudgeable, match=rf"step 1 \([a-z_]+\): .*{why}"):
        judge.compile_judge(r, schema(("s", "string")), [{}, {}])


def test_collapse__compiles_unless_after_a_fill_default_it_would_change() -> None:
    collapse = "{kind: normalise, columns: [s], unicode: null, whitespace: collapse}"
    lower = (
        "{kind: normalise, columns: [s], unicode: null, case: ascii_lower, whitespace: collapse}"
    )
    program = judge.compile_judge(
        recipe("{kind: fill, values: {s: 'a b'}}", collapse, lower),
        schema(("s", "string")),
        [{}] * 3,
    ).program
    # mode: no case | collapse, then ascii_lower | collapse; one column, position 0
    assert program.endswith(bytes([judge.OP_CASE, 4, 1, 0, judge.OP_CASE, 5, 1, 0]))
    r = recipe("{kind: fill, values: {s: 'a\u3000b'}}", collapse)
    assert r.steps[1].judgeable
    with pytest.raises(
        judge.Unjudgeable, match=r"step 1 \(normalise\): collapses whitespace after a fill default"
    ):
        judge.compile_judge(r, schema(("s", "string")), [{}, {}])


def test_cast_from_float__is_refused_by_the_compiler() -> None:
    r = recipe("{kind: cast, columns: {x: int64}}")
    assert r.steps[0].judgeable  # the recipe alone does not say the source is a float
    with pytest.raises(judge.Unjudgeable, match=r"step 0 \(cast\): casts from float64 to int64"):
        judge.compile_judge(r, schema(("x", "float64")), [{}])


def test_layout__matches_docs_formats_judge_md_byte_by_byte() -> None:
    r = recipe(
        "{kind: rename, columns: {a: b}}",
        "{kind: select, columns: [s, b]}",
        "{kind: cast, columns: {b: string}, on_error: drop}",
        "{kind: trim, columns: [s, b]}",
        "{kind: normalise, columns: [s], unicode: null, case: ascii_upper}",
        "{kind: drop_nulls, columns: [b]}",
        "{kind: fill, values: {s: 'x'}}",
        "{kind: filter, expr: \"s == 'A' or not is_null(b)\"}",
        "{kind: dedupe, columns: [s]}",
    )
    program = judge.compile_judge(r, schema(("a", "int64"), ("s", "string")), [{}] * 9)
    expected = bytes.fromhex(
        "010209"  # version, two input columns, nine steps
        "00"  # rename: nothing
        "01020100"  # select s (position 1), b (position 0)
        "0202010101"  # cast, drop, one column: position 1, int64->string
        "03020001"  # trim positions 0 and 1
        "04020100"  # ASCII upper, position 0
        "050101"  # drop_nulls position 1
        "0601006178"  # fill position 0 with text "x"
        "07000a01000261410803010406"  # filter: s == "A" or not is_null(b)
        "090100"  # dedupe on position 0
    )
    assert program.program == expected
    assert program.hash == keccak(expected)


def test_literals_and_fills__are_encoded_as_rows_encode_values() -> None:
    r = recipe(
        "{kind: fill, values: {f: 2, i: -3, b: true}}",
        "{kind: filter, expr: 'f > -0.0 and i < 1.5 and b != false'}",
    )
    program = judge.compile_judge(
        r, schema(("f", "float64"), ("i", "int64"), ("b", "bool")), [{}, {}]
    ).program
    fill = bytes.fromhex("060302f500fb40000000000000000122")
    assert program[3 : 3 + len(fill)] == fill  # b, f (2 -> 2.0), i (-3 -> 0x22), sorted
    assert bytes.fromhex("02fb0000000000000000") in program  # -0.0 is 0.0
    assert bytes.fromhex("02fb3ff8000000000000") in program  # 1.5


def test_integer_literal_beyond_int64__is_not_judged() -> None:
    r = recipe("{kind: filter, expr: 'i < 9223372036854775808'}")
    with pytest.raises(judge.Unjudgeable, match="outside int64"):
        judge.compile_judge(r, schema(("i", "int64")), [{}])


def test_outlier_fences__are_the_recorded_ones_as_the_engine_applies_them() -> None:
    r = recipe("{kind: outliers, columns: [i, f], action: drop}")
    bounds = [
        {"column": "i", "lower": -1.5, "upper": 7.5, "int_lower": -1, "int_upper": 7},
        {"column": "f", "lower": None, "upper": None},
        {
            "column": "i",
            "lower": -1e300,
            "upper": 1e300,
            "int_lower": -(10**300),
            "int_upper": 10**300,
        },
    ]
    program = judge.compile_judge(
        r, schema(("i", "int64"), ("f", "float64")), [{"bounds": bounds}]
    ).program
    # -1 and 7; the second column measured nothing; fences beyond int64 clamped into it.
    clamped = "3b7fffffffffffffff1b7fffffffffffffff"
    assert program[3:] == bytes.fromhex("08010200200700" + clamped)


def test_wide_rows_and_long_programs__are_not_judged() -> None:
    wide = schema(*[(f"c{i}", "int64") for i in range(65)])
    with pytest.raises(judge.Unjudgeable, match="65 columns"):
        judge.compile_judge(recipe("{kind: select, columns: [c0]}"), wide, [{}])
    long_text = "x" * 5000
    r = recipe(f"{{kind: filter, expr: \"s != '{long_text}'\"}}")
    with pytest.raises(judge.Unjudgeable, match=r"the chain takes at most 4096"):
        judge.compile_judge(r, schema(("s", "string")), [{}])


def test_ascii_case__maps_only_ascii_letters_in_the_engine() -> None:
    lower = recipe("{kind: normalise, columns: [s], unicode: null, case: ascii_lower}")
    upper = recipe("{kind: normalise, columns: [s], unicode: null, case: ascii_upper}")
    frame = pl.DataFrame({"s": ["Hello ÉCOLE ǅ ß", None]})
    plan_l = lower.steps[0].plan({"s": "string"}, {})
    plan_u = upper.steps[0].plan({"s": "string"}, {})
    assert frame.select(plan_l.columns[0][1]).to_series().to_list() == ["hello École ǅ ß", None]
    assert frame.select(plan_u.columns[0][1]).to_series().to_list() == ["HELLO ÉCOLE ǅ ß", None]
    with pytest.raises(RecipeError, match="'case'"):
        recipe("{kind: normalise, columns: [s], case: title}")


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text)
    return path


def test_proof__records_the_program_and_verify_compares_it(tmp_path: Path) -> None:
    data = _csv(tmp_path, "name,age\n  Ann ,30\nBOB,x\n,12\n")
    r = recipe(
        "{kind: trim, columns: [name]}",
        "{kind: normalise, columns: [name], unicode: null, case: ascii_lower}",
        "{kind: cast, columns: {age: int64}, on_error: 'null'}",
        "{kind: drop_nulls, columns: [name]}",
    )
    result = clean(data, r, tmp_path / "out")
    record = result.proof["judge"]
    program = bytes.fromhex(record["program"][2:])
    assert record["format"] == "datasoil-judge-v1"
    assert bytes.fromhex(record["hash"][2:]) == keccak(program)
    expected = judge.compile_judge(
        r, rows.Schema.from_json(result.proof["schema_in"]), result.proof["steps"]
    )
    assert program == expected.program
    verify(result.proof_path, data, result.data_path)

    forged = load_proof(result.proof_path)
    forged["judge"] = {**record, "hash": "0x" + "00" * 32}
    with pytest.raises(ProofError, match="judge: the proof claims"):
        verify(forged, data, result.data_path)
    older = {k: v for k, v in forged.items() if k != "judge"}  # proofs from before judges
    verify(older, data, result.data_path)


def test_proof__of_an_unjudgeable_recipe_says_why(tmp_path: Path) -> None:
    data = _csv(tmp_path, "name\nx\n")
    result = clean(data, recipe("{kind: normalise, columns: [name]}"), tmp_path / "out")
    record = result.proof["judge"]
    assert record["hash"] is None and record["program"] is None
    assert record["reason"].startswith("step 0 (normalise): NFKC")
    assert json.loads(result.proof_path.read_bytes())["judge"] == record


def test_proof__with_a_row_over_4096_bytes_records_no_program(tmp_path: Path) -> None:
    data = _csv(tmp_path, "name\n" + "y" * 5000 + "\nz\n")
    result = clean(data, recipe("{kind: trim, columns: [name]}"), tmp_path / "out")
    assert result.proof["judge"]["hash"] is None
    assert "a row is 5004 bytes" in result.proof["judge"]["reason"]


def test_canonical_filter_text__with_control_characters_reads_back() -> None:
    # render_expr writes literals as JSON does (\r, \b, \f, \u000b); the parser read only
    # \n and \t of those, so such a recipe's canonical form did not load (found by the
    # judge's equivalence tests).
    text = render_expr(Cmp("==", Col("s"), Lit("\r\b\f\x0b\x85\u3000")))
    r = recipe(f"{{kind: filter, expr: {json.dumps(text)}}}")
    assert recipe_from_json(r.to_json()) == r
    assert r.steps[0].expr == Cmp("==", Col("s"), Lit("\r\b\f\x0b\x85\u3000"))


def test_outliers_on_int64_extremes__clean_with_fences_in_int64(tmp_path: Path) -> None:
    # Fences of ceil(q1 - k * iqr) beyond int64 made pl.lit(..., Int64) raise (found by
    # the judge's equivalence tests); they are brought into int64, as the program has them.
    data = tmp_path / "in.jsonl"
    data.write_text('{"n": -9223372036854775808}\n{"n": 9223372036854775807}\n{"n": 0}\n')
    result = clean(data, recipe("{kind: outliers, columns: [n], action: clip}"), tmp_path / "out")
    bounds = result.proof["steps"][0]["bounds"][0]
    assert bounds["int_lower"] < -(2**63) and bounds["int_upper"] > 2**63 - 1
    assert result.rows_out == 3
    program = bytes.fromhex(result.proof["judge"]["program"][2:])
    assert program.endswith(bytes.fromhex("3b7fffffffffffffff1b7fffffffffffffff"))


def test_null_literal_in_logic__keeps_a_boolean_result_in_the_engine() -> None:
    # `not (... and null)` made Polars fail ("dtype Null not supported in 'not'") when the
    # other side was null too (found by the judge's equivalence tests).
    condition = expr_to_polars(parse_expr("not ((d == d) and null) or false"))
    frame = pl.DataFrame({"d": [None, None]}, schema={"d": pl.Date})
    assert frame.select(condition).to_series().to_list() == [None, None]
