"""Quality reports: the metrics behind a quality attestation (metric set ``datasoil.quality.v1``).

:func:`compute_report` scans a dataset file (CSV, TSV, Parquet, JSON Lines) with Polars'
lazy streaming engine and measures row count, completeness, exact and key duplicates,
schema conformance, distinct counts, numeric summaries, Tukey outliers, label balance
and PII hits, then derives an integer score in 0..10,000. Every metric that enters the
score is an exact ratio of counts (Python ``Fraction``), so the score is the same on
every machine. The formulas are in docs/quality.md; :func:`render` prints a terminal
summary.

>>> metric_set_id().hex()[:16]
'9ef9b070ff1232dd'
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from io import StringIO
from pathlib import Path
from typing import Any

import polars as pl
from eth_utils.crypto import keccak

from datasoil.engine import progress
from datasoil.errors import NotFound, SchemaError

__all__ = [
    "EMAIL_PATTERN",
    "METRIC_SET",
    "PHONE_PATTERN",
    "SCORE_WEIGHTS",
    "TYPES",
    "ColumnReport",
    "LabelReport",
    "NumericSummary",
    "QualityReport",
    "compute_report",
    "metric_set_id",
    "render",
]

#: Name of the metric set; its keccak256 is the id attestations carry.
METRIC_SET = "datasoil.quality.v1"
#: Declared column types of the metric set.
TYPES = ("integer", "float", "boolean", "string")
#: An e-mail address anywhere in a text cell.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
#: A phone number in a text cell: E.164 (``+`` and 8-15 digits), or an optional ``+cc``
#: then three groups of digits separated by a space or hyphen (the first may be in
#: parentheses), e.g. ``+1 415-555-2671``, ``(030) 1234 5678``. Dots are not separators,
#: so decimals, IP addresses and versions do not match.
PHONE_PATTERN = (
    r"(?:^|[^\w+])(?:\+\d{8,15}|(?:\+\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?|\d{2,4}[ -])"
    r"\d{3,4}[ -]\d{3,4})(?:$|\W)"
)
#: Weight of each score component; components that do not apply are left out.
SCORE_WEIGHTS: Mapping[str, int] = {
    "completeness": 30,
    "uniqueness": 20,
    "conformance": 20,
    "key_uniqueness": 10,
    "outliers": 10,
    "label_balance": 10,
    "pii": 10,
}
_TUKEY_K = Fraction(3, 2)
_QUANTILES = (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4))


def metric_set_id() -> bytes:
    """Return keccak256(``"datasoil.quality.v1"``), the metric-set id attestations carry."""
    return keccak(text=METRIC_SET)


# -- value objects ---------------------------------------------------------------------


@dataclass(frozen=True)
class NumericSummary:
    """Exact order statistics and Tukey outliers of a numeric column (NaN and nulls excluded).

    ``mean`` and ``std`` (sample, n − 1) are informative floats rounded to 12
    significant digits; everything else is exact.
    """

    count: int
    min: float | int
    max: float | int
    mean: float
    std: float | None
    q25: Fraction
    q50: Fraction
    q75: Fraction
    nan: int
    outliers: int

    @property
    def lower_fence(self) -> Fraction:
        """Q1 − 1.5 · IQR."""
        return self.q25 - _TUKEY_K * (self.q75 - self.q25)

    @property
    def upper_fence(self) -> Fraction:
        """Q3 + 1.5 · IQR."""
        return self.q75 + _TUKEY_K * (self.q75 - self.q25)

    def to_json(self) -> dict[str, Any]:
        """Return the summary as a JSON-ready dict."""
        return {
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "q25": float(self.q25),
            "median": float(self.q50),
            "q75": float(self.q75),
            "lower_fence": float(self.lower_fence),
            "upper_fence": float(self.upper_fence),
            "nan": self.nan,
            "outliers": self.outliers,
            "outlier_rate": _ratio(self.outliers, self.count),
        }


@dataclass(frozen=True)
class ColumnReport:
    """Metrics of one column."""

    name: str
    declared_type: str
    present: int
    rows: int
    distinct: int
    conforming: int
    emails: int
    phones: int
    pii_cells: int
    numeric: NumericSummary | None = None

    @property
    def completeness(self) -> Fraction:
        """Share of rows where the column is present (not null, not an empty string)."""
        return Fraction(self.present, self.rows) if self.rows else Fraction(0)

    def to_json(self) -> dict[str, Any]:
        """Return the column's metrics as a JSON-ready dict."""
        return {
            "name": self.name,
            "type": self.declared_type,
            "present": self.present,
            "missing": self.rows - self.present,
            "completeness": _ratio(self.present, self.rows),
            "distinct": self.distinct,
            "conforming": self.conforming,
            "conformance": _ratio(self.conforming, self.present, empty=1.0),
            "pii": {"emails": self.emails, "phones": self.phones, "cells": self.pii_cells},
            "numeric": self.numeric.to_json() if self.numeric else None,
        }


@dataclass(frozen=True)
class LabelReport:
    """Class balance of the label column (classes are the raw present values)."""

    column: str
    classes: tuple[tuple[str, int], ...]  # (value, count), by count desc then value
    missing: int

    @property
    def total(self) -> int:
        """Rows with a present label."""
        return sum(n for _, n in self.classes)

    @property
    def normalized_entropy(self) -> float:
        """Shannon entropy of the class shares divided by ln(k); 0 when k <= 1."""
        k, total = len(self.classes), self.total
        if k <= 1:
            return 0.0
        h = -math.fsum(n / total * math.log(n / total) for _, n in self.classes)
        return h / math.log(k)

    @property
    def balance(self) -> Fraction:
        """Normalised Gini-Simpson index (1 − Σ p²) · k / (k − 1): exact, 1 when balanced."""
        k, total = len(self.classes), self.total
        if k <= 1:
            return Fraction(0)
        simpson = 1 - sum(Fraction(n, total) ** 2 for _, n in self.classes)
        return Fraction(simpson * k, k - 1)

    def to_json(self) -> dict[str, Any]:
        """Return the label metrics as a JSON-ready dict."""
        return {
            "column": self.column,
            "classes": [
                {"value": v, "count": n, "share": _ratio(n, self.total)} for v, n in self.classes
            ],
            "missing": self.missing,
            "normalized_entropy": round(self.normalized_entropy, 12),
            "balance": float(self.balance),
        }


@dataclass(frozen=True)
class QualityReport:
    """A quality report under :data:`METRIC_SET`; ``to_json()`` is what gets pinned."""

    format: str
    rows: int
    columns: tuple[ColumnReport, ...]
    distinct_rows: int
    key: tuple[str, ...] = ()
    distinct_keys: int | None = None
    label: LabelReport | None = None
    components: tuple[tuple[str, Fraction], ...] = field(default=())
    score: int = 0

    @property
    def duplicate_rows(self) -> int:
        """Rows equal to an earlier row in every column."""
        return self.rows - self.distinct_rows

    @property
    def key_duplicate_rows(self) -> int | None:
        """Rows whose key equals an earlier row's key (None without key columns)."""
        return None if self.distinct_keys is None else self.rows - self.distinct_keys

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict (see :meth:`to_json_bytes` for pinning)."""
        cells = self.rows * len(self.columns)
        present = sum(c.present for c in self.columns)
        numeric = [c.numeric for c in self.columns if c.numeric]
        num_cells = sum(n.count for n in numeric)
        text_present = sum(c.present for c in self.columns if c.declared_type == "string")
        pii_cells = sum(c.pii_cells for c in self.columns)
        return {
            "metric_set": METRIC_SET,
            "metric_set_id": "0x" + metric_set_id().hex(),
            "format": self.format,
            "rows": self.rows,
            "columns": [c.to_json() for c in self.columns],
            "completeness": _ratio(present, cells),
            "conformance": _ratio(sum(c.conforming for c in self.columns), present, empty=1.0),
            "duplicates": {
                "exact": self.duplicate_rows,
                "exact_rate": _ratio(self.duplicate_rows, self.rows),
                "key": list(self.key),
                "key_duplicates": self.key_duplicate_rows,
                "key_rate": (
                    None
                    if self.key_duplicate_rows is None
                    else _ratio(self.key_duplicate_rows, self.rows)
                ),
            },
            "outliers": {
                "rule": "tukey-1.5-iqr",
                "cells": sum(n.outliers for n in numeric),
                "numeric_cells": num_cells,
                "rate": _ratio(sum(n.outliers for n in numeric), num_cells),
            },
            "label": self.label.to_json() if self.label else None,
            "pii": {
                "emails": sum(c.emails for c in self.columns),
                "phones": sum(c.phones for c in self.columns),
                "cells": pii_cells,
                "text_cells": text_present,
                "rate": _ratio(pii_cells, text_present),
            },
            "score": {
                "value": self.score,
                "max": 10_000,
                "components": {k: float(v) for k, v in self.components},
                "weights": {k: SCORE_WEIGHTS[k] for k, _ in self.components},
            },
        }

    def to_json_bytes(self) -> bytes:
        """Return canonical JSON bytes (sorted keys, no whitespace): the pinned document."""
        return json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")


def _ratio(num: int, den: int, *, empty: float = 0.0) -> float:
    return float(Fraction(num, den)) if den else empty


# -- computing -------------------------------------------------------------------------

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def _scan(path: Path) -> tuple[str, pl.LazyFrame]:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SchemaError(
            f"expected a file ending in {', '.join(sorted(_FORMATS))}, found {path.name!r}"
        )
    if fmt in ("csv", "tsv"):
        # Every CSV value is read as text; types are decided below, not by the reader.
        sep = "," if fmt == "csv" else "\t"
        return fmt, pl.scan_csv(path, infer_schema=False, separator=sep)
    if fmt == "parquet":
        return fmt, pl.scan_parquet(path)
    names = pl.scan_ndjson(path, infer_schema_length=None).collect_schema().names()
    return fmt, pl.scan_ndjson(path, schema=dict.fromkeys(names, pl.String))


def _native_type(dtype: pl.DataType) -> str | None:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.String:
        return None  # decided from the values
    return "string"  # dates, decimals, nested: reported as present/distinct only


def _present(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    return col.is_not_null() & (col != "") if dtype == pl.String else col.is_not_null()


def _typed(name: str, dtype: pl.DataType, declared: str) -> pl.Expr:
    """The column's values under the declared type; null where a present value does not fit."""
    col = pl.col(name)
    if dtype != pl.String:
        if declared == "string" or _native_type(dtype) == declared:
            return col
        if declared == "boolean":
            return pl.lit(None, pl.Boolean)
        return col.cast({"integer": pl.Int64, "float": pl.Float64}[declared], strict=False)
    if declared == "integer":
        return col.cast(pl.Int64, strict=False)
    if declared == "float":
        return col.cast(pl.Float64, strict=False)
    if declared == "boolean":
        low = col.str.to_lowercase()
        return pl.when(low == "true").then(True).when(low == "false").then(False)
    return col


def _collect(lf: pl.LazyFrame, path: Path) -> pl.DataFrame:
    try:
        return lf.collect(engine="streaming")
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchemaError(f"expected a readable dataset at {path}, found: {first}") from None


def compute_report(
    path: Path | str,
    *,
    label: str | None = None,
    key: Sequence[str] | None = None,
    schema: Mapping[str, str] | None = None,
) -> QualityReport:
    """Compute the quality report of a dataset file, streaming.

    ``label`` names a label column (class balance); ``key`` names key columns (key
    duplicates); ``schema`` gives declared types (``integer``, ``float``, ``boolean``,
    ``string``) for some or all columns — e.g. the dataset's recorded schema. Columns
    without a declared type get one by the majority rule (docs/quality.md).

    Four streaming passes over the file, each one Polars query: counts (presence,
    distinct values, type fits, PII, duplicates), conformance and moments under the
    declared types, exact order statistics for the quartiles, and Tukey outliers against
    the exact fences; then a label count when a label column is named.

    Raises:
        NotFound: ``path`` does not exist.
        SchemaError: unsupported file type, unreadable file, unknown label/key/schema
            column, or an unknown type name.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"expected a dataset file at {path}, found nothing")
    fmt, lf = _scan(path)
    try:
        dtypes = dict(lf.collect_schema())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SchemaError(f"expected a readable dataset at {path}, found: {exc}") from None
    key_cols = tuple(key or ())
    _check_columns(dtypes, label, key_cols, schema)
    scan = _Scan(path, lf, dtypes)
    progress.begin(f"quality of {path.name}", 5 if label else 4, "passes")
    first = _pass_counts(scan, key_cols)
    progress.advance(1)
    rows = int(first["__rows"])
    declared = _declare_types(dtypes, first, schema)
    numeric = [c for c in dtypes if declared[c] in ("integer", "float")]
    second = _pass_conformance(scan, declared, numeric)
    progress.advance(1)
    quartiles = _pass_quartiles(scan, declared, numeric, second)
    progress.advance(1)
    fourth = _pass_outliers(scan, declared, quartiles)
    progress.advance(1)
    columns = _column_reports(dtypes, declared, rows, first, second, fourth, quartiles)
    label_report = _label_report(scan, label, rows) if label else None
    progress.advance(1 if label else 0)
    report = QualityReport(
        format=fmt,
        rows=rows,
        columns=columns,
        distinct_rows=int(first.get("__distinct_rows", 0)),
        key=key_cols,
        distinct_keys=int(first["__distinct_keys"]) if key_cols else None,
        label=label_report,
    )
    components = _components(report)
    return dataclasses.replace(report, components=components, score=_score(components, rows))


@dataclass(frozen=True)
class _Scan:
    """The file being scored: its path (for errors), lazy frame and column types."""

    path: Path
    lf: pl.LazyFrame
    dtypes: dict[str, Any]

    def index(self, column: str) -> int:
        return list(self.dtypes).index(column)

    def one_row(self, exprs: list[pl.Expr]) -> dict[str, Any]:
        """Run one streaming query of ``exprs``; its single row (empty when none)."""
        if not exprs:
            return {}
        row: dict[str, Any] = _collect(self.lf.select(exprs), self.path).row(0, named=True)
        return row


def _check_columns(
    dtypes: Mapping[str, Any],
    label: str | None,
    key_cols: Sequence[str],
    schema: Mapping[str, str] | None,
) -> None:
    """Raise SchemaError for a label, key or schema column the file lacks, or a bad type."""
    names = list(dtypes)
    for what, cols in (("label", [label] if label else []), ("key", key_cols)):
        for c in cols:
            if c not in dtypes:
                raise SchemaError(
                    f"expected {what} column {c!r} among {names}, found no such column"
                )
    for c, t in (schema or {}).items():
        if c not in dtypes:
            raise SchemaError(f"expected schema column {c!r} among {names}, found no such column")
        if t not in TYPES:
            raise SchemaError(f"expected a type in {TYPES} for column {c!r}, found {t!r}")


def _pass_counts(scan: _Scan, key_cols: Sequence[str]) -> dict[str, Any]:
    """Pass 1: rows, distinct rows and keys; per column presence, distinct values, PII
    and how many text values fit each type (for the majority rule)."""
    exprs: list[pl.Expr] = [pl.len().alias("__rows")]
    if scan.dtypes:
        exprs.append(pl.struct(pl.all()).n_unique().alias("__distinct_rows"))
    if key_cols:
        exprs.append(pl.struct(*key_cols).n_unique().alias("__distinct_keys"))
    for i, (c, dt) in enumerate(scan.dtypes.items()):
        present = _present(c, dt)
        exprs += [
            present.sum().alias(f"p{i}"),
            pl.col(c).filter(present).n_unique().alias(f"d{i}"),
        ]
        if dt == pl.String:
            text = pl.col(c)
            email = present & text.str.contains(EMAIL_PATTERN)
            phone = present & text.str.contains(PHONE_PATTERN)
            exprs += [
                email.sum().alias(f"e{i}"),
                phone.sum().alias(f"t{i}"),
                (email | phone).sum().alias(f"x{i}"),
            ]
            for t in ("integer", "float", "boolean"):
                exprs.append((present & _typed(c, dt, t).is_not_null()).sum().alias(f"{t}{i}"))
    return scan.one_row(exprs)


def _declare_types(
    dtypes: Mapping[str, Any], first: Mapping[str, Any], schema: Mapping[str, str] | None
) -> dict[str, str]:
    """Each column's declared type: the given schema's, the file's native type, or the
    majority rule (the first of integer, float, boolean that more than half of the
    present values fit; otherwise string)."""
    declared: dict[str, str] = {}
    for i, (c, dt) in enumerate(dtypes.items()):
        if schema and c in schema:
            declared[c] = schema[c]
        elif (native := _native_type(dt)) is not None:
            declared[c] = native
        else:
            p = int(first[f"p{i}"])
            fits = [t for t in ("integer", "float", "boolean") if 2 * int(first[f"{t}{i}"]) > p]
            declared[c] = fits[0] if fits else "string"
    return declared


def _numbers(scan: _Scan, c: str, declared: Mapping[str, str]) -> pl.Expr:
    """Column ``c``'s values as its declared numeric type, without nulls and NaN."""
    typed = _typed(c, scan.dtypes[c], declared[c])
    return typed.filter(typed.is_not_null() & typed.cast(pl.Float64).is_not_nan())


def _pass_conformance(
    scan: _Scan, declared: Mapping[str, str], numeric: Sequence[str]
) -> dict[str, Any]:
    """Pass 2: conformance under the declared types; numeric counts, NaN and moments."""
    exprs = []
    for i, (c, dt) in enumerate(scan.dtypes.items()):
        typed = _typed(c, dt, declared[c])
        exprs.append((_present(c, dt) & typed.is_not_null()).sum().alias(f"c{i}"))
        if c in numeric:
            v = _numbers(scan, c, declared)
            exprs += [
                v.len().alias(f"n{i}"),
                typed.cast(pl.Float64).is_nan().sum().alias(f"nan{i}"),
                v.min().alias(f"min{i}"),
                v.max().alias(f"max{i}"),
                v.cast(pl.Float64).mean().alias(f"mean{i}"),
                v.cast(pl.Float64).std(ddof=1).alias(f"std{i}"),
            ]
    return scan.one_row(exprs)


def _pass_quartiles(
    scan: _Scan,
    declared: Mapping[str, str],
    numeric: Sequence[str],
    second: Mapping[str, Any],
) -> dict[str, tuple[Fraction, ...]]:
    """Pass 3: exact quartiles (linear interpolation) from the order statistics they
    need, gathered from each numeric column sorted."""
    positions: dict[str, list[int]] = {}
    exprs = []
    for c in numeric:
        i = scan.index(c)
        n = int(second[f"n{i}"])
        if n == 0:
            continue
        positions[c] = sorted(
            {k for q in _QUANTILES for k in (math.floor(q * (n - 1)), math.ceil(q * (n - 1)))}
        )
        exprs.append(
            _numbers(scan, c, declared).sort().gather(positions[c]).implode().alias(f"o{i}")
        )
    third = scan.one_row(exprs)
    quartiles: dict[str, tuple[Fraction, ...]] = {}
    for c, pos in positions.items():
        i = scan.index(c)
        at = dict(zip(pos, (Fraction(x) for x in third[f"o{i}"]), strict=True))
        n = int(second[f"n{i}"])
        qs = []
        for q in _QUANTILES:
            h = q * (n - 1)
            lo, hi = math.floor(h), math.ceil(h)
            qs.append(at[lo] + (h - lo) * (at[hi] - at[lo]))
        quartiles[c] = tuple(qs)
    return quartiles


def _pass_outliers(
    scan: _Scan, declared: Mapping[str, str], quartiles: Mapping[str, tuple[Fraction, ...]]
) -> dict[str, Any]:
    """Pass 4: Tukey outliers against the exact fences."""
    exprs = []
    for c, (q1, _, q3) in quartiles.items():
        i = scan.index(c)
        typed = _typed(c, scan.dtypes[c], declared[c])
        low, high = q1 - _TUKEY_K * (q3 - q1), q3 + _TUKEY_K * (q3 - q1)
        below, above = _outside(typed, low, high, declared[c] == "integer")
        # Polars orders NaN above every number, so NaN is excluded explicitly.
        real = typed.is_not_null() & typed.cast(pl.Float64).is_not_nan()
        exprs.append((real & (below | above)).fill_null(False).sum().alias(f"out{i}"))
    return scan.one_row(exprs)


def _column_reports(
    dtypes: Mapping[str, Any],
    declared: Mapping[str, str],
    rows: int,
    first: Mapping[str, Any],
    second: Mapping[str, Any],
    fourth: Mapping[str, Any],
    quartiles: Mapping[str, tuple[Fraction, ...]],
) -> tuple[ColumnReport, ...]:
    """Each column's report from the passes' results."""
    columns = []
    for i, c in enumerate(dtypes):
        summary = None
        if c in quartiles:
            q1, q2, q3 = quartiles[c]
            std = second[f"std{i}"]
            summary = NumericSummary(
                count=int(second[f"n{i}"]),
                min=_plain(second[f"min{i}"]),
                max=_plain(second[f"max{i}"]),
                mean=_round(second[f"mean{i}"]),
                std=None if std is None else _round(std),
                q25=q1,
                q50=q2,
                q75=q3,
                nan=int(second[f"nan{i}"]),
                outliers=int(fourth[f"out{i}"]),
            )
        columns.append(
            ColumnReport(
                name=c,
                declared_type=declared[c],
                present=int(first[f"p{i}"]),
                rows=rows,
                distinct=int(first[f"d{i}"]),
                conforming=int(second[f"c{i}"]),
                emails=int(first.get(f"e{i}", 0)),
                phones=int(first.get(f"t{i}", 0)),
                pii_cells=int(first.get(f"x{i}", 0)),
                numeric=summary,
            )
        )
    return tuple(columns)


def _label_report(scan: _Scan, label: str, rows: int) -> LabelReport:
    """Class counts of the label column (most frequent first, then by value)."""
    present = _present(label, scan.dtypes[label])
    counts = _collect(
        scan.lf.filter(present).group_by(pl.col(label).cast(pl.String)).len(), scan.path
    ).rows()
    classes = tuple(sorted(((str(v), int(n)) for v, n in counts), key=lambda t: (-t[1], t[0])))
    return LabelReport(label, classes, rows - sum(n for _, n in classes))


def _outside(
    typed: pl.Expr, low: Fraction, high: Fraction, integer: bool
) -> tuple[pl.Expr, pl.Expr]:
    """Exact ``typed < low`` and ``typed > high`` for rational fences."""
    if integer:
        # x < low <=> x <= ceil(low) - 1;  x > high <=> x >= floor(high) + 1
        return typed <= math.ceil(low) - 1, typed >= math.floor(high) + 1
    lo_f = float(low)  # nearest double; step to the largest double <= low
    if Fraction(lo_f) > low:
        lo_f = math.nextafter(lo_f, -math.inf)
    below = typed <= lo_f if Fraction(lo_f) < low else typed < lo_f
    hi_f = float(high)  # smallest double >= high
    if Fraction(hi_f) < high:
        hi_f = math.nextafter(hi_f, math.inf)
    above = typed >= hi_f if Fraction(hi_f) > high else typed > hi_f
    return below, above


def _plain(value: Any) -> float | int:
    return value if isinstance(value, int) else float(value)


def _round(value: float) -> float:
    return float(f"{value:.12g}")


def _components(report: QualityReport) -> tuple[tuple[str, Fraction], ...]:
    """Score components in [0, 1], each an exact ratio of counts (docs/quality.md)."""
    rows, cols = report.rows, report.columns
    if rows == 0 or not cols:
        return ()
    present = sum(c.present for c in cols)
    out: list[tuple[str, Fraction]] = [
        ("completeness", Fraction(present, rows * len(cols))),
        ("uniqueness", Fraction(report.distinct_rows, rows)),
        (
            "conformance",
            Fraction(sum(c.conforming for c in cols), present) if present else Fraction(1),
        ),
    ]
    if report.distinct_keys is not None:
        out.append(("key_uniqueness", Fraction(report.distinct_keys, rows)))
    numeric = [c.numeric for c in cols if c.numeric]
    num_cells = sum(n.count for n in numeric)
    if num_cells:
        out.append(("outliers", 1 - Fraction(sum(n.outliers for n in numeric), num_cells)))
    if report.label is not None:
        out.append(("label_balance", report.label.balance))
    text = sum(c.present for c in cols if c.declared_type == "string")
    if text:
        out.append(("pii", 1 - Fraction(sum(c.pii_cells for c in cols), text)))
    return tuple(out)


def _score(components: tuple[tuple[str, Fraction], ...], rows: int) -> int:
    """floor(10,000 · Σ wᵢ cᵢ / Σ wᵢ) over the components that apply; 0 for no rows."""
    if rows == 0 or not components:
        return 0
    total = sum(SCORE_WEIGHTS[k] for k, _ in components)
    weighted = sum(SCORE_WEIGHTS[k] * v for k, v in components)
    return math.floor(10_000 * Fraction(weighted) / total)


# -- rendering -------------------------------------------------------------------------


def _bar(share: float, width: int = 12) -> str:
    full = round(share * width)
    return "█" * full + "·" * (width - full)


def _num(value: float | Fraction | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, Fraction):
        value = float(value)
    return f"{value:.6g}"


def render(report: QualityReport, *, width: int = 110) -> str:
    """Return a readable summary: a table per column, bars for completeness and labels."""
    from rich.console import Console
    from rich.table import Table

    buffer = StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None)
    doc = report.to_json()
    console.print(
        f"[bold]{METRIC_SET}[/bold]  score [bold]{report.score:,}[/bold] / 10,000  ·  "
        f"{report.rows:,} rows × {len(report.columns)} columns ({report.format})"
    )
    table = Table(show_edge=False, pad_edge=False)
    for title in ("column", "type", "completeness", "distinct", "conform", "min", "median"):
        table.add_column(title, justify="left" if title in ("column", "type") else "right")
    for title in ("max", "outliers", "PII"):
        table.add_column(title, justify="right")
    for col in report.columns:
        n = col.numeric
        table.add_row(
            col.name,
            col.declared_type,
            f"{_bar(float(col.completeness))} {float(col.completeness):6.1%}",
            f"{col.distinct:,}",
            f"{_ratio(col.conforming, col.present, empty=1.0):.1%}",
            _num(n.min if n else None),
            _num(n.q50 if n else None),
            _num(n.max if n else None),
            f"{n.outliers:,}" if n else "–",
            f"{col.pii_cells:,}" if col.pii_cells else "–",
        )
    console.print(table)
    dup = doc["duplicates"]
    line = f"duplicates: {dup['exact']:,} exact ({dup['exact_rate']:.2%})"
    if dup["key_duplicates"] is not None:
        line += (
            f", {dup['key_duplicates']:,} by key {', '.join(dup['key'])} ({dup['key_rate']:.2%})"
        )
    console.print(line)
    out = doc["outliers"]
    console.print(
        f"outliers (Tukey 1.5·IQR): {out['cells']:,} of {out['numeric_cells']:,} numeric cells "
        f"({out['rate']:.2%})  ·  PII: {doc['pii']['emails']:,} e-mails, "
        f"{doc['pii']['phones']:,} phones in {doc['pii']['cells']:,} cells"
    )
    if report.label is not None:
        lab = report.label
        console.print(
            f"label [bold]{lab.column}[/bold]: {len(lab.classes)} classes, normalised entropy "
            f"{lab.normalized_entropy:.3f}, balance {float(lab.balance):.3f}"
            + (f", {lab.missing:,} missing" if lab.missing else "")
        )
        for value, count in lab.classes[:12]:
            share = count / lab.total
            console.print(f"  {value[:24]:<24} {_bar(share, 24)} {share:6.1%}  {count:,}")
        if len(lab.classes) > 12:
            console.print(f"  … {len(lab.classes) - 12} more classes")
    parts = "  ".join(f"{k} {v:.3f}" for k, v in doc["score"]["components"].items())
    console.print(f"components: {parts}")
    return buffer.getvalue()
