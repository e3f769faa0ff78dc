"""Tests for datasoil.engine.quality: exact metrics on hand-made data, a plain-Python reference
on random data, score monotonicity, and the ``datasoil quality`` command."""

from __future__ import annotations

import csv
import json
import math
import random
import re
import statistics
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from Crypto.Hash import keccak as pycryptodome_keccak

from datasoil.app.cli import cli
from datasoil.engine.quality import (
    EMAIL_PATTERN,
    METRIC_SET,
    PHONE_PATTERN,
    QualityReport,
    compute_report,
    metric_set_id,
    render,
)
from datasoil.errors import NotFound, SchemaError

PEOPLE = """id,age,city,email,label
1,30,Paris,a@example.com,cat
2,40,Berlin,,dog
3,,Paris,,cat
4,35,Rome,,cat
5,1000,Berlin,+1 415-555-2671,dog
1,30,Paris,a@example.com,cat
6,abc,,,bird
"""


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    return path


def _col(report: QualityReport, name: str) -> dict[str, object]:
    [col] = [c for c in report.to_json()["columns"] if c["name"] == name]
    return col


def test_metric_set_id__is_keccak256_of_the_name() -> None:
    h = pycryptodome_keccak.new(digest_bits=256)
    h.update(b"datasoil.quality.v1")
    assert METRIC_SET == "datasoil.quality.v1"
    assert metric_set_id() == h.digest()


def test_report__hand_made_csv_exact_numbers(people: Path) -> None:
    report = compute_report(people, label="label", key=["id"])
    doc = report.to_json()
    assert doc["rows"] == 7 and doc["format"] == "csv"
    assert [(c["name"], c["type"]) for c in doc["columns"]] == [
        ("id", "integer"),
        ("age", "integer"),  # 5 of 6 present values are integers: the majority rule
        ("city", "string"),
        ("email", "string"),
        ("label", "string"),
    ]
    assert [c["present"] for c in doc["columns"]] == [7, 6, 6, 3, 7]
    assert [c["distinct"] for c in doc["columns"]] == [6, 5, 3, 2, 3]
    assert [c["conforming"] for c in doc["columns"]] == [7, 5, 6, 3, 7]
    assert doc["completeness"] == 29 / 35
    assert doc["conformance"] == 28 / 29
    assert doc["duplicates"] == {
        "exact": 1,
        "exact_rate": 1 / 7,
        "key": ["id"],
        "key_duplicates": 1,
        "key_rate": 1 / 7,
    }
    ident = _col(report, "id")["numeric"]
    assert ident == {
        "count": 7,
        "min": 1,
        "max": 6,
        "mean": round(22 / 7, 11),
        "std": pytest.approx(statistics.stdev([1, 1, 2, 3, 4, 5, 6]), rel=1e-11),
        "q25": 1.5,
        "median": 3.0,
        "q75": 4.5,
        "lower_fence": -3.0,
        "upper_fence": 9.0,
        "nan": 0,
        "outliers": 0,
        "outlier_rate": 0.0,
    }
    age = _col(report, "age")["numeric"]
    assert isinstance(age, dict)
    assert (age["q25"], age["median"], age["q75"]) == (30.0, 35.0, 40.0)
    assert (age["lower_fence"], age["upper_fence"], age["outliers"]) == (15.0, 55.0, 1)
    assert doc["outliers"] == {
        "rule": "tukey-1.5-iqr",
        "cells": 1,
        "numeric_cells": 12,
        "rate": 1 / 12,
    }
    assert _col(report, "email")["pii"] == {"emails": 2, "phones": 1, "cells": 3}
    assert doc["pii"] == {"emails": 2, "phones": 1, "cells": 3, "text_cells": 16, "rate": 3 / 16}
    label = doc["label"]
    assert label["classes"] == [
        {"value": "cat", "count": 4, "share": 4 / 7},
        {"value": "dog", "count": 2, "share": 2 / 7},
        {"value": "bird", "count": 1, "share": 1 / 7},
    ]
    entropy = -sum(p * math.log(p) for p in (4 / 7, 2 / 7, 1 / 7)) / math.log(3)
    assert label["normalized_entropy"] == pytest.approx(entropy, abs=1e-12)
    assert label["balance"] == 6 / 7  # (1 - 21/49) * 3/2
    components = {
        "completeness": Fraction(29, 35),
        "uniqueness": Fraction(6, 7),
        "conformance": Fraction(28, 29),
        "key_uniqueness": Fraction(6, 7),
        "outliers": Fraction(11, 12),
        "label_balance": Fraction(6, 7),
        "pii": Fraction(13, 16),
    }
    weights = {
        "completeness": 30,
        "uniqueness": 20,
        "conformance": 20,
        "key_uniqueness": 10,
        "outliers": 10,
        "label_balance": 10,
        "pii": 10,
    }
    assert doc["score"]["components"] == {k: float(v) for k, v in components.items()}
    expected = math.floor(10_000 * sum(weights[k] * v for k, v in components.items()) / 110)
    assert report.score == doc["score"]["value"] == expected == 8704


def test_report__same_table_as_jsonl_and_parquet_gives_the_same_metrics(
    people: Path, tmp_path: Path
) -> None:
    frame = pl.read_csv(people, infer_schema=False)
    lines = []
    for row in frame.iter_rows(named=True):
        # native JSON numbers where the text is an integer, absent keys for missing values
        lines.append(
            json.dumps(
                {
                    k: (int(v) if v.isdigit() else v)
                    for k, v in row.items()
                    if v is not None and v != ""
                }
            )
        )
    (tmp_path / "people.jsonl").write_text("\n".join(lines) + "\n")
    frame.write_parquet(tmp_path / "people.parquet")
    want = compute_report(people, label="label", key=["id"]).to_json()
    for name in ("people.jsonl", "people.parquet"):
        got = compute_report(tmp_path / name, label="label", key=["id"]).to_json()
        assert got.pop("format") != want["format"]
        assert got == {k: v for k, v in want.items() if k != "format"}


def test_report__native_parquet_types_and_nan(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "x": [1.0, 2.0, float("nan"), None, 3.0, 6.0, 0.0],
            "n": [1, 2, 3, None, 5, 6, 7],
            "ok": [True, False, None, True, True, True, True],
        }
    ).write_parquet(tmp_path / "t.parquet")
    report = compute_report(tmp_path / "t.parquet")
    x = _col(report, "x")
    assert (x["type"], x["present"], x["conforming"]) == ("float", 6, 6)
    # sorted [0, 1, 2, 3, 6]: Q1 = 1, Q3 = 3, fences -2 and 6; 6 sits on the fence
    assert x["numeric"] == {
        "count": 5,
        "min": 0.0,
        "max": 6.0,
        "mean": 2.4,
        "std": pytest.approx(statistics.stdev([0, 1, 2, 3, 6]), rel=1e-11),
        "q25": 1.0,
        "median": 2.0,
        "q75": 3.0,
        "lower_fence": -2.0,
        "upper_fence": 6.0,
        "nan": 1,
        "outliers": 0,
        "outlier_rate": 0.0,
    }
    assert _col(report, "ok")["type"] == "boolean" and _col(report, "n")["type"] == "integer"


def test_report__a_value_just_past_the_fence_is_an_outlier(tmp_path: Path) -> None:
    past = math.nextafter(6.0, math.inf)
    pl.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, past]}).write_parquet(tmp_path / "t.pq")
    # sorted [0,1,2,3,3,3,3,past]: Q1 at h=1.75 -> 1.75, Q3 at h=5.25 -> 3: fences -0.125, 4.875
    assert _col(compute_report(tmp_path / "t.pq"), "x")["numeric"]["outliers"] == 1  # type: ignore[index]


def test_report__explicit_schema_overrides_the_majority_rule(people: Path) -> None:
    report = compute_report(people, schema={"age": "string", "city": "integer"})
    assert _col(report, "age")["type"] == "string" and _col(report, "age")["conforming"] == 6
    assert _col(report, "city")["conforming"] == 0
    with pytest.raises(SchemaError, match="expected a type in"):
        compute_report(people, schema={"age": "int"})


def test_report__empty_and_header_only_files(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a,b\n")
    report = compute_report(tmp_path / "h.csv")
    assert (report.rows, report.score) == (0, 0)
    assert report.to_json()["completeness"] == 0.0
    assert "score 0 / 10,000" in render(report)


def test_report__bad_input(tmp_path: Path, people: Path) -> None:
    with pytest.raises(NotFound, match="expected a dataset file"):
        compute_report(tmp_path / "missing.csv")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(SchemaError, match="expected a file ending in"):
        compute_report(tmp_path / "data.xlsx")
    with pytest.raises(SchemaError, match="label column 'nope'"):
        compute_report(people, label="nope")
    with pytest.raises(SchemaError, match="key column 'nope'"):
        compute_report(people, key=["id", "nope"])
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(SchemaError, match="readable dataset"):
        compute_report(tmp_path / "bad.parquet")


@pytest.mark.parametrize(
    ("text", "email", "phone"),
    [
        ("write to jane.doe+x@mail.example.org today", True, False),
        ("a@b", False, False),
        ("call +1 415-555-2671", False, True),
        ("+14155552671", False, True),
        ("(030) 1234 5678", False, True),
        ("+44 20 7946 0958", False, True),
        ("192.168.100.200", False, False),
        ("3.14159265", False, False),
        ("12345678", False, False),
        ("v1.2.3", False, False),
    ],
)
def test_pii_patterns(tmp_path: Path, text: str, email: bool, phone: bool) -> None:
    assert bool(re.search(EMAIL_PATTERN, text)) is email
    assert bool(re.search(PHONE_PATTERN, text)) is phone
    (tmp_path / "t.jsonl").write_text(json.dumps({"t": text}) + "\n")
    pii = _col(compute_report(tmp_path / "t.jsonl"), "t")["pii"]
    assert pii == {"emails": int(email), "phones": int(phone), "cells": int(email or phone)}


# -- a plain-Python reference on random data ----------------------------------------------


def _reference(path: Path, label: str) -> dict[str, object]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    out: dict[str, object] = {"rows": len(body), "distinct_rows": len({tuple(r) for r in body})}
    cols = []
    for j, name in enumerate(header):
        present = [r[j] for r in body if r[j] != ""]

        def fits_int(v: str) -> bool:
            return re.fullmatch(r"[+-]?\d+", v) is not None

        ints = [int(v) for v in present if fits_int(v)]
        typ = "integer" if 2 * len(ints) > len(present) else "string"
        col: dict[str, object] = {
            "name": name,
            "type": typ,
            "present": len(present),
            "distinct": len(set(present)),
            "conforming": len(ints) if typ == "integer" else len(present),
        }
        if typ == "integer":
            q1, q2, q3 = statistics.quantiles(ints, n=4, method="inclusive")
            lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
            col.update(
                n=len(ints),
                q=(q1, q2, q3),
                outliers=sum(1 for v in ints if v < lo or v > hi),
                min=min(ints),
                max=max(ints),
            )
        else:
            col["pii"] = sum(
                1 for v in present if re.search(EMAIL_PATTERN, v) or re.search(PHONE_PATTERN, v)
            )
        cols.append(col)
    out["columns"] = cols
    labels = [r[header.index(label)] for r in body if r[header.index(label)] != ""]
    out["classes"] = sorted(
        ((v, labels.count(v)) for v in set(labels)), key=lambda t: (-t[1], t[0])
    )
    return out


def test_report__matches_a_plain_python_reference_on_random_data(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    path = tmp_path / "random.csv"
    words = ["alpha", "beta", "gamma", "x@y.io", "+1 212-555-0100", "", "7"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["k", "v", "w", "t", "label"])
        for _ in range(3000):
            w.writerow(
                [
                    rng.randrange(2500),
                    rng.choice(
                        ["", "oops", str(int(rng.gauss(0, 100)))] + [str(rng.randrange(50))] * 3
                    ),
                    rng.choice(words),
                    rng.choice(["", "1", "2", "3", "four"]),
                    rng.choice(["a", "a", "a", "b", "c", ""]),
                ]
            )
    ref = _reference(path, "label")
    report = compute_report(path, label="label")
    doc = report.to_json()
    assert doc["rows"] == ref["rows"]
    assert report.distinct_rows == ref["distinct_rows"]
    for want, got in zip(ref["columns"], doc["columns"], strict=True):  # type: ignore[call-overload]
        assert (got["name"], got["type"], got["present"], got["distinct"], got["conforming"]) == (
            want["name"],
            want["type"],
            want["present"],
            want["distinct"],
            want["conforming"],
        )
        if want["type"] == "integer":
            num = got["numeric"]
            assert (num["q25"], num["median"], num["q75"]) == want["q"]
            assert (num["count"], num["outliers"], num["min"], num["max"]) == (
                want["n"],
                want["outliers"],
                want["min"],
                want["max"],
            )
        else:
            assert got["pii"]["cells"] == want["pii"]
    assert [(c["value"], c["count"]) for c in doc["label"]["classes"]] == ref["classes"]
    # the report is deterministic: a second run gives the same canonical bytes
    assert compute_report(path, label="label").to_json_bytes() == report.to_json_bytes()


# -- score ------------------------------------------------------------------------------


def _score(tmp_path: Path, text: str, **kw: object) -> int:
    path = tmp_path / f"s{abs(hash(text))}.csv"
    path.write_text(text)
    return compute_report(path, **kw).score  # type: ignore[arg-type]


BASE = "id,name,size\n1,ann,10\n2,bob,12\n3,cy,11\n4,dee,13\n5,eve,12\n"


def test_score__clean_data_scores_full_marks(tmp_path: Path) -> None:
    assert _score(tmp_path, BASE) == 10_000
    assert _score(tmp_path, BASE, key=["id"]) == 10_000


def test_score__duplicates_lower_it(tmp_path: Path) -> None:
    scores = [_score(tmp_path, BASE + "2,bob,12\n" * k) for k in range(4)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4
    # rows that differ but repeat a key: only the key duplicate rate changes
    extra = ["".join(f"3,z{j},11\n" for j in range(i)) for i in range(3)]
    keyed = [_score(tmp_path, BASE + e, key=["id"]) for e in extra]
    assert keyed == sorted(keyed, reverse=True) and len(set(keyed)) == 3


def test_score__nulls_lower_it(tmp_path: Path) -> None:
    holes = [
        BASE,
        BASE.replace("2,bob,12", "2,,12"),
        BASE.replace("2,bob,12", "2,,"),
        BASE.replace("2,bob,12", "2,,").replace("4,dee,13", "4,,"),
    ]
    scores = [_score(tmp_path, t) for t in holes]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4


def test_score__misfits_outliers_and_pii_lower_it(tmp_path: Path) -> None:
    base = _score(tmp_path, BASE)
    assert _score(tmp_path, BASE.replace("3,cy,11", "3,cy,eleven")) < base
    assert _score(tmp_path, BASE.replace("3,cy,11", "3,cy,9999")) < base
    assert _score(tmp_path, BASE.replace("3,cy,11", "3,cy@example.com,11")) < base


def test_score__label_imbalance_lowers_it(tmp_path: Path) -> None:
    balanced = "x,y\n1,a\n2,b\n3,a\n4,b\n"
    skewed = "x,y\n1,a\n2,a\n3,a\n4,b\n"
    single = "x,y\n1,a\n2,a\n3,a\n4,a\n"
    assert _score(tmp_path, balanced, label="y") == 10_000
    assert (
        _score(tmp_path, balanced, label="y")
        > _score(tmp_path, skewed, label="y")
        > _score(tmp_path, single, label="y")
    )


# -- CLI ----------------------------------------------------------------------------------


def test_cli__json_is_the_canonical_report(people: Path) -> None:
    result = CliRunner().invoke(
        cli, ["quality", str(people), "--label", "label", "--key", "id", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = compute_report(people, label="label", key=["id"])
    assert result.output == report.to_json_bytes().decode() + "\n"
    assert json.loads(result.output)["score"]["value"] == 8704


def test_cli__readable_summary(people: Path) -> None:
    result = CliRunner().invoke(cli, ["quality", str(people), "--label", "label", "--key", "id,"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "datasoil.quality.v1  score 8,704 / 10,000" in out
    assert "7 rows × 5 columns (csv)" in out
    assert "1 exact (14.29%), 1 by key id (14.29%)" in out
    assert "2 e-mails, 1 phones" in out
    assert re.search(r"cat\s+█+·*\s+57\.1%\s+4", out)
    assert re.search(r"age\s+│ integer\s+│ █+·* +85\.7%", out)


def test_cli__user_mistakes_are_one_line(people: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["quality", str(people), "--label", "nope"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: expected label column 'nope' among ['id', 'age', 'city', 'email', 'label'], "
        "found no such column"
    ]
    result = CliRunner().invoke(cli, ["quality", str(tmp_path / "gone.csv")])
    assert result.exit_code == 1 and "expected a dataset file" in result.output


def test_report__float_outliers_match_exact_rational_fences(tmp_path: Path) -> None:
    rng = random.Random(7)
    for trial in range(5):
        values = [
            round(rng.gauss(0, 1), rng.choice([1, 2, 17])) for _ in range(rng.randrange(5, 400))
        ]
        ordered = sorted(Fraction(v) for v in values)
        n = len(ordered)

        def q(p: Fraction, ordered: list[Fraction] = ordered, n: int = n) -> Fraction:
            h = p * (n - 1)
            lo, hi = math.floor(h), math.ceil(h)
            return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])

        q1, q3 = q(Fraction(1, 4)), q(Fraction(3, 4))
        low, high = q1 - Fraction(3, 2) * (q3 - q1), q3 + Fraction(3, 2) * (q3 - q1)
        # put values exactly on and just past the fences when they are representable
        for fence in (low, high):
            if Fraction(float(fence)) == fence:
                values += [float(fence), math.nextafter(float(fence), math.inf)]
        path = tmp_path / f"f{trial}.parquet"
        pl.DataFrame({"x": values}).write_parquet(path)
        ordered = sorted(Fraction(v) for v in values)
        n = len(ordered)
        q1, q3 = q(Fraction(1, 4), ordered, n), q(Fraction(3, 4), ordered, n)
        low, high = q1 - Fraction(3, 2) * (q3 - q1), q3 + Fraction(3, 2) * (q3 - q1)
        want = sum(1 for v in ordered if v < low or v > high)
        num = _col(compute_report(path), "x")["numeric"]
        assert isinstance(num, dict)
        assert (num["q25"], num["q75"], num["outliers"]) == (float(q1), float(q3), want)
