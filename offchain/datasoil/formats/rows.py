"""Typed schemas and datasoil's deterministic row encoding (``datasoil-rows-v1``).

A dataset is a sequence of rows under an explicit :class:`Schema` (column names, order,
types). The schema is inferred once, at publish, by the rules of :func:`infer_schema`, and
recorded; every later read (:func:`read_batches`) uses the recorded schema and checks each
value against it. Each row is encoded (:func:`encode_rows`, :func:`encode_row`) as the
deterministic DAG-CBOR array of its values in schema order; the leaf of the row root is
the RFC 9162 leaf hash of those bytes (:mod:`datasoil.formats.merkle`). The format is written down
in docs/formats/rows.md, which is the reference; this module implements it.

>>> s = Schema((Column("id", "int64"), Column("text", "string")))
>>> encode_row([1, "a"], s).hex()
'82016161'
>>> decode_row(bytes.fromhex("82016161"), s)
(1, 'a')
"""

from __future__ import annotations

import binascii
import contextlib
import datetime as dt
import decimal
import json
import math
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import libipld
import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.csv as _pcsv
import pyarrow.parquet as _pq

from datasoil.errors import EncodingError, ProofError, SchemaError
from datasoil.formats import merkle

# pyarrow's bundled type hints are partial (compute functions are generated at import):
# use these modules untyped rather than scatter ignores.
pc: Any = _pc
pcsv: Any = _pcsv
pq: Any = _pq

__all__ = [
    "DATA_SUFFIXES",
    "ENCODING_VERSION",
    "TYPES",
    "Column",
    "Schema",
    "batch_leaf_digests",
    "batch_leaf_hashes",
    "canonical_decimal",
    "dataset_consistency",
    "dataset_files",
    "dataset_leaf_hashes",
    "dataset_root",
    "dataset_rows",
    "decode_row",
    "encode_batch",
    "encode_row",
    "encode_rows",
    "infer_schema",
    "infer_schema_from",
    "load_schema",
    "read_batches",
    "read_range",
    "read_stream",
    "reads_as_stream",
]

ENCODING_VERSION = "datasoil-rows-v1"
"""Name of the row encoding and reading rules implemented here (docs/formats/rows.md)."""

TYPES: tuple[str, ...] = (
    "bool",
    "int64",
    "float64",
    "float32",
    "string",
    "bytes",
    "timestamp",
    "date",
    "decimal",
)
"""Column types: see docs/formats/rows.md for each one's values and encoding."""

_ARROW_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "float32": pa.float32(),
    "string": pa.string(),
    "bytes": pa.binary(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "decimal": pa.string(),
}

DATA_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
"""File name suffixes (case-insensitive) of the data files datasoil reads, and their format."""

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_EPOCH_DATE = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_DECIMAL_EXPONENT = 1000

# Text grammars (CSV fields, and strings read into non-string columns).
_INT_TEXT = r"^-?[0-9]+$"
_CANONICAL_INT_TEXT = r"^-?(0|[1-9][0-9]*)$"
_NUMBER_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_FLOAT_TEXT_INFER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_BOOL_TEXT = r"^(?i:true|false)$"
_DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP_TEXT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
_DATE_RE = re.compile(_DATE_TEXT)
_TIMESTAMP_RE = re.compile(_TIMESTAMP_TEXT)
_NUMBER_RE = re.compile(_NUMBER_TEXT)


@dataclass(frozen=True)
class Column:
    """One column: its name, one of :data:`TYPES`, and whether it may hold nulls."""

    name: str
    type: str
    nullable: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError(f"column name: expected a non-empty string, found {self.name!r}")
        if self.type not in TYPES:
            raise SchemaError(
                f"column {self.name!r}: expected a type among {', '.join(TYPES)}, "
                f"found {self.type!r}"
            )
        if not isinstance(self.nullable, bool):
            raise SchemaError(
                f"column {self.name!r}: expected nullable true or false, found {self.nullable!r}"
            )

    def to_json(self) -> dict[str, Any]:
        """``{"name": ..., "type": ..., "nullable": ...}``."""
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


@dataclass(frozen=True)
class Schema:
    """An ordered tuple of uniquely named columns; rows are encoded in this order.

    Raises :class:`~datasoil.errors.SchemaError` on no columns or duplicate names.
    """

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        cols = tuple(self.columns)
        object.__setattr__(self, "columns", cols)
        if not cols:
            raise SchemaError("schema: expected at least one column, found none")
        seen: set[str] = set()
        for c in cols:
            if not isinstance(c, Column):
                raise SchemaError(f"schema: expected Column objects, found {c!r}")
            if c.name in seen:
                raise SchemaError(f"schema: expected unique column names, found {c.name!r} twice")
            seen.add(c.name)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(c.name for c in self.columns)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: ``{"encoding": ENCODING_VERSION, "columns": [...]}``."""
        return {"encoding": ENCODING_VERSION, "columns": [c.to_json() for c in self.columns]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        """Parse :meth:`to_json` output. Raises :class:`~datasoil.errors.SchemaError`."""
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise SchemaError(f"schema: expected an object with a columns list, found {data!r}")
        encoding = data.get("encoding", ENCODING_VERSION)
        if encoding != ENCODING_VERSION:
            raise SchemaError(f"schema: expected encoding {ENCODING_VERSION!r}, found {encoding!r}")
        cols = []
        for c in data["columns"]:
            if not isinstance(c, dict) or set(c) - {"name", "type", "nullable"}:
                raise SchemaError(f"schema column: expected name, type, nullable; found {c!r}")
            cols.append(Column(c.get("name"), c.get("type"), c.get("nullable", True)))  # type: ignore[arg-type]
        return cls(tuple(cols))

    def to_arrow(self) -> pa.Schema:
        """The Arrow schema :func:`read_batches` produces (``decimal`` is canonical strings,
        ``timestamp`` is microseconds in UTC, ``date`` is date32)."""
        return pa.schema(
            [pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in self.columns]
        )


# ---------------------------------------------------------------------------------------
# files


def _format_of(path: Path) -> str:
    fmt = DATA_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise SchemaError(
            f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; expected one of "
            f"{', '.join(sorted(DATA_SUFFIXES))}"
        )
    return fmt


def dataset_files(path: Path) -> list[Path]:
    """The data files of a dataset, in row order.

    A file is its own dataset (its suffix must be one of :data:`DATA_SUFFIXES`). A directory's
    data files are those with a data suffix anywhere below it, skipping hidden files and
    directories (a path component starting with ``.``), ordered bytewise by their relative
    POSIX path in UTF-8 (as Kubo orders directory links). Other files are not rows.

    Raises :class:`~datasoil.errors.SchemaError` for a missing path, an unsupported single
    file, or a directory without data files.
    """
    path = Path(path)
    if path.is_file():
        _format_of(path)
        return [path]
    if not path.is_dir():
        raise SchemaError(f"{path}: expected a data file or a directory, found nothing there")
    found: list[tuple[bytes, Path]] = []
    for p in path.rglob("*"):
        rel = p.relative_to(path)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.suffix.lower() in DATA_SUFFIXES:
            found.append((rel.as_posix().encode("utf-8", "surrogateescape"), p))
    if not found:
        raise SchemaError(
            f"{path}: expected data files ({', '.join(sorted(DATA_SUFFIXES))}), found none"
        )
    found.sort(key=lambda t: t[0])
    return [p for _, p in found]


# ---------------------------------------------------------------------------------------
# values


def canonical_decimal(value: object) -> str:
    """The canonical decimal string of an int, :class:`decimal.Decimal` or decimal string.

    Plain notation (no exponent), no ``+``, no leading zeros, no trailing fractional zeros
    and no trailing point; zero is ``"0"``. ``"1.50"`` -> ``"1.5"``, ``"1E+3"`` -> ``"1000"``.

    >>> canonical_decimal("-001.2500e1")
    '-12.5'

    Raises :class:`~datasoil.errors.EncodingError` for NaN, infinities, text that is not a
    decimal number, or exponents beyond +-1000.
    """
    if isinstance(value, bool):
        raise EncodingError(f"decimal: expected a number, found {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if not _NUMBER_RE.match(value):
            raise EncodingError(f"decimal: expected a decimal number, found {value!r}")
        value = decimal.Decimal(value)
    if not isinstance(value, decimal.Decimal):
        raise EncodingError(f"decimal: expected int, Decimal or str, found {value!r}")
    if not value.is_finite():
        raise EncodingError(f"decimal: expected a finite number, found {value}")
    if abs(value.adjusted()) > _MAX_DECIMAL_EXPONENT:
        raise EncodingError(f"decimal: expected an exponent within +-1000, found {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def _timestamp_micros(text: str) -> int:
    if not _TIMESTAMP_RE.match(text):
        raise ValueError("not an ISO 8601 timestamp")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return _datetime_micros(value)


def _datetime_micros(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _date_days(text: str) -> int:
    if not _DATE_RE.match(text):
        raise ValueError("not an ISO 8601 date")
    return (dt.date.fromisoformat(text) - _EPOCH_DATE).days


def _b64(text: str) -> bytes:
    return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)


def _float32(x: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


# ---------------------------------------------------------------------------------------
# reading


class _Where:
    """Error context: file and the 1-based data row number of a batch's first row."""

    __slots__ = ("path", "row")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.row = 1

    def at(self, offset: int, column: str) -> str:
        return f"{self.path}: row {self.row + offset}, column {column!r}"


def _first_false(mask: pa.Array) -> int:
    """Index of the first False (null counts as True) in a boolean array."""
    filled = pc.fill_null(mask, True)
    idx = pc.index(filled, False).as_py()
    return int(idx)


def _check_mask(mask: pa.Array, arr: pa.Array, col: Column, where: _Where, exc: type) -> None:
    if pc.all(pc.fill_null(mask, True)).as_py() is False:
        i = _first_false(mask)
        raise exc(f"{where.at(i, col.name)}: expected {col.type}, found {arr[i].as_py()!r}")


def _per_value(
    arr: pa.Array, col: Column, where: _Where, fn: Any, out_type: pa.DataType
) -> pa.Array:
    out: list[Any] = []
    for i, v in enumerate(arr.to_pylist()):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(fn(v))
        except (ValueError, TypeError, EncodingError, binascii.Error, OverflowError) as exc:
            raise SchemaError(
                f"{where.at(i, col.name)}: expected {col.type}, found {v!r} ({exc})"
            ) from None
    return pa.array(out, type=out_type)


def _from_text(arr: pa.Array, col: Column, where: _Where) -> pa.Array:
    """Convert a string array to ``col``'s type by the text rules of docs/formats/rows.md."""
    t = col.type
    if t == "string":
        return arr.cast(pa.string())
    if t == "bool":
        _check_mask(pc.match_substring_regex(arr, _BOOL_TEXT), arr, col, where, SchemaError)
        return pc.equal(pc.utf8_lower(arr), "true")
    if t == "int64":
        _check_mask(pc.match_substring_regex(arr, _INT_TEXT), arr, col, where, SchemaError)
        try:
            return arr.cast(pa.int64())
        except pa.ArrowInvalid:
            return _per_value(arr, col, where, _checked_int64, pa.int64())
    if t in ("float64", "float32"):
        lowered = pc.utf8_lower(pc.utf8_trim(arr, "+-"))
        special = pc.is_in(lowered, pa.array(["nan", "inf", "infinity"]))
        if pc.any(special).as_py():
            i = int(pc.index(special, True).as_py())
            raise EncodingError(
                f"{where.at(i, col.name)}: expected a finite {t}, found {arr[i].as_py()!r} "
                "(NaN and infinities are not encodable; a recipe can turn them into nulls)"
            )
        _check_mask(pc.match_substring_regex(arr, _NUMBER_TEXT), arr, col, where, SchemaError)
        return _finite_float(arr.cast(pa.float64()), col, where)
    if t == "decimal":
        return _per_value(arr, col, where, canonical_decimal, pa.string())
    if t == "timestamp":
        return _per_value(arr, col, where, _timestamp_micros, pa.int64()).cast(
            _ARROW_TYPES["timestamp"]
        )
    if t == "date":
        return _per_value(arr, col, where, _date_days, pa.int32()).cast(pa.date32())
    if t == "bytes":
        return _per_value(arr, col, where, _b64, pa.binary())
    raise AssertionError(t)  # pragma: no cover


def _checked_int64(text: str) -> int:
    v = int(text)
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise ValueError("outside int64; use the decimal type")
    return v


def _finite_float(arr: pa.Array, col: Column, where: _Where) -> pa.Array:
    """float64 array -> the column's float type, finite, with -0.0 turned into 0.0."""
    if col.type == "float32":
        arr = arr.cast(pa.float32(), safe=False)
    finite = pc.is_finite(arr)
    if pc.all(pc.fill_null(finite, True)).as_py() is False:
        i = _first_false(finite)
        raise EncodingError(
            f"{where.at(i, col.name)}: expected a finite {col.type}, found {arr[i].as_py()!r} "
            "(NaN and infinities are not encodable; a recipe can turn them into nulls)"
        )
    return pc.add(arr, pa.scalar(0.0, arr.type))  # -0.0 + 0.0 == +0.0


def _from_arrow(arr: pa.Array, col: Column, where: _Where) -> pa.Array:
    """Convert a typed (Parquet) array to ``col``'s type without loss, or raise."""
    src = arr.type
    t = col.type
    if pa.types.is_string(src) or pa.types.is_large_string(src) or pa.types.is_string_view(src):
        return _from_text(arr.cast(pa.string()), col, where)
    if pa.types.is_dictionary(src):
        return _from_arrow(arr.dictionary_decode(), col, where)
    if pa.types.is_null(src):
        return pa.nulls(len(arr), _ARROW_TYPES[t])
    try:
        if t == "bool" and pa.types.is_boolean(src):
            return arr
        if t == "int64" and pa.types.is_integer(src):
            return arr.cast(pa.int64())
        if t in ("float64", "float32") and (pa.types.is_floating(src) or pa.types.is_integer(src)):
            return _finite_float(arr.cast(pa.float64()), col, where)
        if t == "bytes" and (
            pa.types.is_binary(src)
            or pa.types.is_large_binary(src)
            or pa.types.is_fixed_size_binary(src)
            or pa.types.is_binary_view(src)
        ):
            return arr.cast(pa.binary())
        if t == "timestamp" and pa.types.is_timestamp(src):
            if src.tz is None:
                arr = arr.cast(pa.timestamp(src.unit, tz="UTC"))
            return arr.cast(_ARROW_TYPES["timestamp"])
        if t == "timestamp" and pa.types.is_date(src):
            return arr.cast(pa.timestamp("us")).cast(_ARROW_TYPES["timestamp"])
        if t == "date" and pa.types.is_date(src):
            return arr.cast(pa.date32())
        if t == "decimal" and (pa.types.is_integer(src) or pa.types.is_decimal(src)):
            return _per_value(arr, col, where, canonical_decimal, pa.string())
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise SchemaError(
            f"{where.path}: rows {where.row}-{where.row + len(arr) - 1}, column {col.name!r}: "
            f"a value does not fit {t}: {exc}"
        ) from None
    raise SchemaError(
        f"{where.path}: column {col.name!r}: expected values of type {t}, found Parquet type {src}"
    )


def _typed_batch(
    arrays: Sequence[pa.Array], schema: Schema, arrow: pa.Schema, where: _Where
) -> pa.RecordBatch:
    for col, arr in zip(schema.columns, arrays, strict=True):
        if not col.nullable and arr.null_count:
            i = _first_false(pc.is_valid(arr))
            raise SchemaError(f"{where.at(i, col.name)}: expected a value, found null")
    return pa.RecordBatch.from_arrays(list(arrays), schema=arrow)


def _csv_reader(
    path: Path, names: Sequence[str] | None, batch_bytes: int, stream: BinaryIO | None = None
) -> Any:
    try:
        header = _csv_header(path)
    except UnicodeDecodeError as exc:
        raise EncodingError(f"{path}: expected UTF-8 text, found invalid bytes ({exc})") from None
    if names is not None and tuple(header) != tuple(names):
        raise SchemaError(f"{path}: expected CSV columns {list(names)}, found {header}")
    if len(set(header)) != len(header) or "" in header:
        raise SchemaError(f"{path}: expected unique non-empty CSV column names, found {header}")
    try:
        return pcsv.open_csv(
            path if stream is None else stream,
            read_options=pcsv.ReadOptions(use_threads=False, block_size=batch_bytes),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                check_utf8=True,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise _csv_error(path, exc) from None


def _csv_header(path: Path) -> list[str]:
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    if not first.strip():
        raise SchemaError(f"{path}: expected a CSV header line, found an empty file")
    text = first.decode("utf-8")
    text = text.removeprefix("\ufeff")
    table = pcsv.read_csv(
        pa.py_buffer(text.encode("utf-8")),
        read_options=pcsv.ReadOptions(use_threads=False),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
    )
    return list(table.column_names)


_ARROW_RAGGED = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+): ?(.*)")


def _csv_error(path: Path, exc: Exception) -> Exception:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "UTF8" in msg or "utf8" in msg.lower():
        return EncodingError(f"{path}: expected UTF-8 text, found invalid bytes ({msg})")
    ragged = _ARROW_RAGGED.search(msg)
    if ragged:
        # Arrow numbers rows from the header (row 1); the spec names data rows from 1.
        row, want, got, text = ragged.groups()
        return SchemaError(
            f"{path}: ragged CSV row: data row {int(row) - 1} has {got} fields, expected "
            f"{want} (the header's): {text[:80]!r}"
        )
    if "columns" in msg:
        return SchemaError(f"{path}: ragged CSV row: {msg}")
    return SchemaError(f"{path}: cannot read CSV: {msg}")


def _read_csv(
    path: Path, schema: Schema, batch_rows: int, stream: BinaryIO | None = None
) -> Iterator[pa.RecordBatch]:
    reader = _csv_reader(path, schema.names, 1 << 22, stream)
    arrow = schema.to_arrow()
    where = _Where(path)
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, OSError) as exc:
            raise _csv_error(path, exc) from None
        for start in range(0, batch.num_rows, batch_rows):
            part = batch.slice(start, batch_rows)
            arrays = [
                _from_text(part.column(i), col, where) for i, col in enumerate(schema.columns)
            ]
            yield _typed_batch(arrays, schema, arrow, where)
            where.row += part.num_rows


def _parquet_file(path: Path) -> Any:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{path}: cannot read Parquet: {exc}") from None


def _read_parquet(
    path: Path, schema: Schema, batch_rows: int, first: int = 0
) -> Iterator[pa.RecordBatch]:
    """The file's rows from row ``first`` (from 0) on, entered at the row group that holds it."""
    pf = _parquet_file(path)
    names = tuple(pf.schema_arrow.names)
    if names != schema.names:
        raise SchemaError(f"{path}: expected Parquet columns {list(schema.names)}, found {names}")
    arrow = schema.to_arrow()
    where = _Where(path)
    groups: list[int] = []
    skip = first
    for i in range(pf.metadata.num_row_groups):
        size = pf.metadata.row_group(i).num_rows
        if groups or skip < size:
            groups.append(i)
        else:
            skip -= size
    where.row = first - skip + 1
    try:
        for batch in pf.iter_batches(batch_size=batch_rows, row_groups=groups, use_threads=False):
            if skip:
                cut = min(skip, batch.num_rows)
                skip -= cut
                where.row += cut
                batch = batch.slice(cut)
                if not batch.num_rows:
                    continue
            arrays = [
                _from_arrow(batch.column(i), col, where) for i, col in enumerate(schema.columns)
            ]
            yield _typed_batch(arrays, schema, arrow, where)
            where.row += batch.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{path}: cannot read Parquet: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number datasoil accepts")


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _json_lines(path: Path, stream: BinaryIO | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) of each non-blank line of a JSONL file (read from
    ``stream`` if given, else opened at ``path``)."""
    with open(path, "rb") if stream is None else contextlib.nullcontext(stream) as f:
        for lineno, raw in enumerate(f, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EncodingError(
                    f"{path}: line {lineno}: expected UTF-8 text, found invalid bytes ({exc})"
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(
                    line,
                    parse_float=decimal.Decimal,
                    parse_constant=_reject_constant,
                    object_pairs_hook=_json_pairs,
                )
            except ValueError as exc:
                raise SchemaError(f"{path}: line {lineno}: expected a JSON object: {exc}") from None
            if not isinstance(obj, dict):
                raise SchemaError(
                    f"{path}: line {lineno}: expected a JSON object, found {type(obj).__name__}"
                )
            yield lineno, obj


def _json_value(v: Any, t: str) -> Any:
    """Convert one JSON value (floats parsed as Decimal) to the column type's Python value."""
    if t == "string":
        if isinstance(v, str):
            return v
    elif t == "bool":
        if isinstance(v, bool):
            return v
    elif t == "int64":
        if isinstance(v, int) and not isinstance(v, bool):
            return _checked_int64(str(v))
    elif t in ("float64", "float32"):
        if isinstance(v, (int, decimal.Decimal)) and not isinstance(v, bool):
            x = float(v)  # correctly rounded
            if not math.isfinite(x):
                raise EncodingError(f"expected a finite {t}, found {v} (overflow)")
            return _float32(x) if t == "float32" else x
    elif t == "decimal":
        if isinstance(v, (int, decimal.Decimal, str)) and not isinstance(v, bool):
            return canonical_decimal(v)
    elif t == "timestamp":
        if isinstance(v, str):
            return _timestamp_micros(v)
    elif t == "date":
        if isinstance(v, str):
            return _date_days(v)
    elif t == "bytes" and isinstance(v, str):
        return _b64(v)
    raise ValueError(f"a JSON {type(v).__name__} does not fit {t}")


_JSON_ARROW = {**_ARROW_TYPES, "timestamp": pa.int64(), "date": pa.int32()}


def _read_jsonl(
    path: Path, schema: Schema, batch_rows: int, stream: BinaryIO | None = None
) -> Iterator[pa.RecordBatch]:
    arrow = schema.to_arrow()
    names = schema.names
    known = set(names)
    cols: list[list[Any]] = [[] for _ in names]
    where = _Where(path)
    row = 0  # 1-based data row number of the current object

    def flush() -> pa.RecordBatch:
        arrays = []
        for col, values in zip(schema.columns, cols, strict=True):
            arr = pa.array(values, type=_JSON_ARROW[col.type])
            if col.type in ("timestamp", "date"):
                arr = arr.cast(_ARROW_TYPES[col.type])
            elif col.type in ("float64", "float32"):
                arr = pc.add(arr, pa.scalar(0.0, arr.type))
            arrays.append(arr)
            values.clear()
        return _typed_batch(arrays, schema, arrow, where)

    for row, (lineno, obj) in enumerate(_json_lines(path, stream), 1):
        extra = obj.keys() - known
        if extra:
            raise SchemaError(
                f"{path}: row {row} (line {lineno}): unexpected keys {sorted(extra)}; "
                f"expected only {list(names)}"
            )
        for j, col in enumerate(schema.columns):
            v = obj.get(col.name)
            if v is not None:
                try:
                    v = _json_value(v, col.type)
                except EncodingError as exc:
                    raise EncodingError(
                        f"{path}: row {row} (line {lineno}), column {col.name!r}: {exc}"
                    ) from None
                except (ValueError, binascii.Error, OverflowError) as exc:
                    raise SchemaError(
                        f"{path}: row {row} (line {lineno}), column {col.name!r}: expected "
                        f"{col.type}, found {obj.get(col.name)!r} ({exc})"
                    ) from None
            cols[j].append(v)
        if len(cols[0]) >= batch_rows:
            yield flush()
            where.row = row + 1
    if cols[0]:
        yield flush()


_READERS: dict[str, Callable[..., Iterator[pa.RecordBatch]]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "jsonl": _read_jsonl,
}


def read_batches(path: Path, schema: Schema, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
    """Stream the dataset at ``path`` (file or directory) as batches typed to ``schema``.

    Files are read in :func:`dataset_files` order; each batch has ``schema.to_arrow()`` and
    at most ``batch_rows`` rows. Values are converted by the rules of docs/formats/rows.md.

    Raises :class:`~datasoil.errors.SchemaError` naming the file, row and column when a value
    does not fit (or the file's columns differ from the schema, or a CSV row is ragged), and
    :class:`~datasoil.errors.EncodingError` for invalid UTF-8, NaN or infinities.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows: expected a positive number, found {batch_rows}")
    for f in dataset_files(Path(path)):
        yield from _READERS[_format_of(f)](f, schema, batch_rows)


def dataset_rows(path: Path) -> int | None:
    """The dataset's row count from its Parquet footers alone, or None when it has a CSV or
    JSON Lines file (whose rows are known only by reading them).

    Raises :class:`~datasoil.errors.SchemaError` as :func:`dataset_files` and a Parquet
    file that cannot be opened do.
    """
    total = 0
    for f in dataset_files(Path(path)):
        if _format_of(f) != "parquet":
            return None
        total += int(_parquet_file(f).metadata.num_rows)
    return total


def read_range(
    path: Path, schema: Schema, start: int, count: int, batch_rows: int = 65536
) -> Iterator[pa.RecordBatch]:
    """Rows ``start`` to ``start + count - 1`` (from 0) of :func:`read_batches` of ``path``,
    typed and checked the same way, in batches of at most ``batch_rows`` rows.

    Parquet files before the range are skipped by their footers and the range's first
    file is entered at the row group holding ``start``; CSV and JSON Lines files are read
    from their beginning (their row positions are known only by reading). Raises what
    :func:`read_batches` raises for the rows read.
    """
    if start < 0 or count < 0 or batch_rows < 1:
        raise ValueError(f"read_range: expected start, count >= 0, found {start}, {count}")
    end = start + count
    pos = 0  # dataset row number of the next file's first row
    for f in dataset_files(Path(path)):
        if pos >= end:
            return
        fmt = _format_of(f)
        if fmt == "parquet":
            size = int(_parquet_file(f).metadata.num_rows)
            if pos + size <= start:
                pos += size
                continue
            first = max(0, start - pos)
            batches, base = _read_parquet(f, schema, batch_rows, first), pos + first
        else:
            batches, base = _READERS[fmt](f, schema, batch_rows), pos
        for batch in batches:
            lo, hi = max(base, start), min(base + batch.num_rows, end)
            if hi > lo:
                yield batch.slice(lo - base, hi - lo)
            base += batch.num_rows
            if base >= end:
                return
        pos = base


_STREAM_READERS: dict[str, Callable[..., Iterator[pa.RecordBatch]]] = {
    "csv": _read_csv,
    "jsonl": _read_jsonl,
}


def reads_as_stream(path: Path) -> bool:
    """Whether :func:`read_stream` and :func:`infer_schema_from` can take the data file at
    ``path`` as a stream (CSV and JSONL can; Parquet needs random access to its file).

    Raises :class:`~datasoil.errors.SchemaError` for an unsupported file type.
    """
    return _format_of(Path(path)) in _STREAM_READERS


def read_stream(
    path: Path, stream: BinaryIO, schema: Schema, batch_rows: int = 65536
) -> Iterator[pa.RecordBatch]:
    """:func:`read_batches` of the one data file ``path``, its bytes taken from ``stream``.

    ``stream`` is read once, from where it stands to its end, and never seeked: a caller
    reading the file for other purposes too (hashing, content addressing) can hand the
    same bytes here instead of the file being read again. ``path`` names the format and
    appears in errors; it is opened only for a CSV file's header line. The batches and
    errors are those of :func:`read_batches` on ``path``.

    Raises what :func:`read_batches` raises, and :class:`ValueError` for a file that
    :func:`reads_as_stream` says cannot be streamed.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows: expected a positive number, found {batch_rows}")
    if not reads_as_stream(path):
        raise ValueError(f"expected a CSV or JSONL file to read as a stream, found {path}")
    yield from _STREAM_READERS[_format_of(Path(path))](Path(path), schema, batch_rows, stream)


# ---------------------------------------------------------------------------------------
# inference

# Internal inferred kinds, from most to least specific; None means "only nulls seen".
_TEXT_KINDS = ("bool", "int64", "decimal", "float64", "date", "timestamp", "string")


class _TextKinds:
    """Which text kinds every non-null value of a column seen so far fits."""

    def __init__(self) -> None:
        self.seen = False
        self.ok = {k: True for k in ("bool", "int", "int64", "float", "date", "timestamp")}

    def update(self, arr: pa.Array) -> None:
        values = arr.drop_null()
        if len(values) == 0:
            return
        self.seen = True
        ok = self.ok

        def all_match(pattern: str) -> bool:
            return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())

        if ok["bool"]:
            ok["bool"] = all_match(_BOOL_TEXT)
        if ok["int"]:
            ok["int"] = all_match(_CANONICAL_INT_TEXT)
            if ok["int"] and ok["int64"]:
                try:
                    values.cast(pa.int64())
                except pa.ArrowInvalid:
                    ok["int64"] = False
        if ok["float"]:
            ok["float"] = all_match(_FLOAT_TEXT_INFER)
        for kind, fn in (("date", _date_days), ("timestamp", _timestamp_micros)):
            if ok[kind]:
                ok[kind] = all_match(_DATE_TEXT if kind == "date" else _TIMESTAMP_TEXT)
                if ok[kind]:
                    try:
                        for v in values.to_pylist():
                            fn(v)
                    except ValueError:
                        ok[kind] = False

    def kind(self) -> str | None:
        if not self.seen:
            return None
        ok = self.ok
        if ok["bool"]:
            return "bool"
        if ok["int"]:
            return "int64" if ok["int64"] else "decimal"
        if ok["float"]:
            return "float64"
        if ok["date"]:
            return "date"
        if ok["timestamp"]:
            return "timestamp"
        return "string"


def _infer_csv(path: Path, stream: BinaryIO | None = None) -> list[tuple[str, str | None]]:
    reader = _csv_reader(path, None, 1 << 22, stream)
    names = reader.schema.names
    kinds = [_TextKinds() for _ in names]
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError) as exc:
            raise _csv_error(path, exc) from None
        for i, k in enumerate(kinds):
            k.update(batch.column(i))
    return [(n, k.kind()) for n, k in zip(names, kinds, strict=True)]


def _parquet_kind(path: Path, name: str, t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "decimal" if t == pa.uint64() else "int64"
    if pa.types.is_float32(t) or pa.types.is_float16(t):
        return "float32"
    if pa.types.is_float64(t):
        return "float64"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    ):
        return "bytes"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_decimal(t):
        return "decimal"
    raise SchemaError(f"{path}: column {name!r}: unsupported Parquet type {t}")


def _infer_parquet(path: Path, stream: BinaryIO | None = None) -> list[tuple[str, str | None]]:
    # Only the footer is read, from ``path``: a Parquet file is never streamed.
    try:
        arrow = pq.ParquetFile(path).schema_arrow
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{path}: cannot read Parquet: {exc}") from None
    return [(f.name, _parquet_kind(path, f.name, f.type)) for f in arrow]


def _infer_jsonl(path: Path, stream: BinaryIO | None = None) -> list[tuple[str, str | None]]:
    order: dict[str, set[str]] = {}
    strings: dict[str, list[str]] = {}
    for lineno, obj in _json_lines(path, stream):
        for k, v in obj.items():
            kinds = order.setdefault(k, set())
            if v is None:
                continue
            if isinstance(v, bool):
                kinds.add("bool")
            elif isinstance(v, int):
                kinds.add("int64" if _INT64_MIN <= v <= _INT64_MAX else "bigint")
            elif isinstance(v, decimal.Decimal):
                kinds.add("float")
            elif isinstance(v, str):
                kinds.add("string")
                strings.setdefault(k, []).append(v)
            else:
                raise SchemaError(
                    f"{path}: line {lineno}, key {k!r}: unsupported JSON {type(v).__name__} "
                    "(nested values are not supported)"
                )
    if not order:
        raise SchemaError(f"{path}: expected JSON objects to infer a schema from, found none")
    out: list[tuple[str, str | None]] = []
    for k, kinds in order.items():
        kind: str | None
        if not kinds:
            kind = None
        elif kinds == {"bool"}:
            kind = "bool"
        elif kinds == {"int64"}:
            kind = "int64"
        elif kinds <= {"int64", "bigint"}:
            kind = "decimal"
        elif kinds <= {"int64", "float"}:
            kind = "float64"
        elif kinds == {"string"}:
            tk = _TextKinds()
            tk.ok.update(bool=False, int=False, int64=False, float=False)
            tk.update(pa.array(strings[k], pa.string()))
            kind = tk.kind()
        else:
            raise SchemaError(
                f"{path}: key {k!r}: expected one JSON type per key, found {sorted(kinds)}"
            )
        out.append((k, kind))
    return out


_INFER = {"csv": _infer_csv, "parquet": _infer_parquet, "jsonl": _infer_jsonl}


def _merge(a: str | None, b: str | None) -> str | None:
    if a is None or a == b:
        return b
    if b is None:
        return a
    pair = {a, b}
    if pair == {"int64", "float64"}:
        return "float64"
    if pair == {"int64", "decimal"}:
        return "decimal"
    raise ValueError(f"{a} and {b}")


def infer_schema(path: Path) -> Schema:
    """Infer a dataset's schema by datasoil's own rules (docs/formats/rows.md, "Inference").

    Every file of a directory must give the same column names in the same order; types are
    merged (int64 with float64 gives float64, int64 with decimal gives decimal, a column with
    only nulls takes the other files' type, or string). Inferred columns are nullable.

    Raises :class:`~datasoil.errors.SchemaError` (unsupported file, no columns, files that
    disagree) or :class:`~datasoil.errors.EncodingError` (invalid UTF-8).
    """
    return infer_schema_from((f, None) for f in dataset_files(Path(path)))


def infer_schema_from(files: Iterable[tuple[Path, BinaryIO | None]]) -> Schema:
    """:func:`infer_schema` over the data files ``files`` gives, in order, as (path, stream).

    A stream, where given, is read once to its end in place of opening the path (see
    :func:`read_stream`; Parquet files, whose footer is all inference reads, take ``None``).

    Raises what :func:`infer_schema` raises, and SchemaError for no files at all.
    """
    merged: list[tuple[str, str | None]] | None = None
    for f, stream in files:
        if stream is not None and not reads_as_stream(f):
            raise ValueError(f"expected a CSV or JSONL file to read as a stream, found {f}")
        cols = _INFER[_format_of(f)](f, stream)
        if merged is None:
            merged = cols
            first = f
            continue
        if [n for n, _ in cols] != [n for n, _ in merged]:
            raise SchemaError(
                f"{f}: expected the columns of {first} {[n for n, _ in merged]}, "
                f"found {[n for n, _ in cols]}"
            )
        try:
            merged = [(n, _merge(a, b)) for (n, a), (_, b) in zip(merged, cols, strict=True)]
        except ValueError as exc:
            raise SchemaError(f"{f}: column types disagree with {first}: {exc}") from None
    if merged is None:
        raise SchemaError("expected at least one data file to infer a schema from, found none")
    return Schema(tuple(Column(n, k or "string") for n, k in merged))


# ---------------------------------------------------------------------------------------
# encoding


def _encode(values: list[object]) -> bytes:
    """DAG-CBOR of a row (a flat array of scalars) through libipld.

    libipld writes a byte string that happens to parse as a CID as a tag-42 link; a row's
    bytes are plain byte strings, so rows holding bytes are framed here, element by element
    (each scalar's encoding is canonical on its own).
    """
    if not any(isinstance(v, bytes | bytearray) for v in values):
        return bytes(libipld.encode_dag_cbor(values))
    parts = [_cbor_head(0x80, len(values))]
    for v in values:
        if isinstance(v, bytes | bytearray):
            parts.append(_cbor_head(0x40, len(v)) + bytes(v))
        else:
            parts.append(bytes(libipld.encode_dag_cbor(v)))
    return b"".join(parts)


_NULL = pa.scalar(b"\xf6", pa.binary())
_TRUE = pa.scalar(b"\xf5", pa.binary())
_FALSE = pa.scalar(b"\xf4", pa.binary())


def _cbor_head(major: int, value: int) -> bytes:
    """The CBOR head (major type and argument) in its shortest form."""
    if value < 24:
        return bytes([major | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major | info]) + value.to_bytes(size, "big")
    raise EncodingError(f"CBOR argument: expected below 2**64, found {value}")


def _binary_from_rows(matrix: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]) -> pa.Array:
    """Binary array whose item i is ``matrix[i, :lengths[i]]``."""
    n = len(lengths)
    if n and lengths.min() == lengths.max():  # one width: a slice, no mask
        width = int(lengths[0])
        data = np.ascontiguousarray(matrix[:, :width])
        offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
        return pa.Array.from_buffers(
            pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data.reshape(-1))]
        )
    mask = np.arange(matrix.shape[1])[None, :] < lengths[:, None]
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = np.ascontiguousarray(matrix[mask])
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


_HEAD_EXTRA = np.array([0, 1, 2, 4, 8], np.int64)  # argument bytes per head class
_HEAD_INFO = np.array([0, 24, 25, 26, 27], np.uint64)  # additional-info value per class


def _heads(major: int | np.ndarray[Any, Any], u: np.ndarray[Any, Any]) -> pa.Array:
    """Vectorised :func:`_cbor_head`: ``major`` (one for all, or uint8 per item) and
    arguments ``u`` (uint64)."""
    n = len(u)
    if n and int(u.max()) < 24:  # every argument in the first byte: one byte each
        first = np.bitwise_or(u.astype(np.uint8), np.asarray(major, np.uint8), dtype=np.uint8)
        return _binary_from_rows(first.reshape(n, 1), np.ones(n, np.int64))
    # head class: 0 (argument in the first byte), 1, 2, 4 or 8 argument bytes
    k = (u >= 24).astype(np.int8)
    k += u >= 1 << 8
    k += u >= 1 << 16
    k += u >= 1 << 32
    if n and k.min() == k.max():  # one class for every item: n x (1 + size) bytes at once
        size = int(_HEAD_EXTRA[k[0]])
        out = np.empty((n, 1 + size), np.uint8)
        out[:, 0] = np.asarray(major, np.uint8) | np.uint8(_HEAD_INFO[k[0]])
        out[:, 1:] = u.astype(">u8").view(np.uint8).reshape(n, 8)[:, 8 - size :]
        return _binary_from_rows(out, np.full(n, 1 + size, np.int64))
    extra = _HEAD_EXTRA[k]
    info = np.where(k == 0, u, _HEAD_INFO[k]).astype(np.uint8)
    matrix = np.zeros((n, 9), np.uint8)
    matrix[:, 0] = major | info
    big_endian = u.astype(">u8").view(np.uint8).reshape(n, 8)
    for size in (1, 2, 4, 8):
        sel = extra == size
        if sel.any():
            matrix[sel, 1 : 1 + size] = big_endian[sel, 8 - size :]
    return _binary_from_rows(matrix, extra + 1)


def _int_pieces(arr: pa.Array) -> pa.Array:
    if pa.types.is_date32(arr.type):
        arr = arr.cast(pa.int32())
    v = pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    negative = v < 0
    u = np.where(negative, -1 - v, v).astype(np.uint64)
    major = np.where(negative, 0x20, 0x00).astype(np.uint8)
    return _heads(major, u)


def _float_pieces(arr: pa.Array, col: Column) -> pa.Array:
    finite = pc.is_finite(arr)
    if pc.all(pc.fill_null(finite, True)).as_py() is False:
        i = _first_false(finite)
        raise EncodingError(
            f"row {i} of the batch, column {col.name!r}: expected a finite {col.type}, found "
            f"{arr[i].as_py()!r} (NaN and infinities are not encodable)"
        )
    v = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False) + 0.0
    n = len(v)
    matrix = np.empty((n, 9), np.uint8)
    matrix[:, 0] = 0xFB  # DAG-CBOR floats are always 64-bit
    matrix[:, 1:] = v.astype(">f8").view(np.uint8).reshape(n, 8)
    offsets = np.arange(0, 9 * n + 1, 9, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.reshape(-1))]
    )


def _bytes_pieces(arr: pa.Array, major: int) -> list[pa.Array]:
    """The heads, then the values themselves (joined as they are, nulls as nothing)."""
    arr = arr.cast(pa.binary())
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset : arr.offset + len(arr) + 1]
    lengths = np.diff(offsets).astype(np.uint64)
    return [_heads(major, lengths), arr]


def _pieces(arr: pa.Array, col: Column) -> list[pa.Array]:
    """Binary arrays whose items, joined, are each value's DAG-CBOR encoding (nulls as
    ``0xf6``); only a string or bytes value array may hold nulls (joined as nothing)."""
    t = col.type
    if t == "bool":
        pieces = [pc.if_else(arr, _TRUE, _FALSE)]
    elif t in ("int64", "timestamp", "date"):
        pieces = [_int_pieces(arr)]
    elif t in ("float64", "float32"):
        pieces = [_float_pieces(arr, col)]
    elif t in ("string", "decimal"):
        pieces = _bytes_pieces(arr, 0x60)
    else:
        pieces = _bytes_pieces(arr, 0x40)
    if arr.null_count:
        pieces[0] = pc.if_else(pc.is_valid(arr), pieces[0], _NULL)
    return pieces


def _check_batch(batch: pa.RecordBatch, schema: Schema) -> None:
    expected = schema.to_arrow()
    if batch.num_columns != len(expected) or any(
        batch.schema.field(i).name != f.name or batch.schema.field(i).type != f.type
        for i, f in enumerate(expected)
    ):
        raise EncodingError(f"batch: expected Arrow schema {expected}, found {batch.schema}")
    for i, col in enumerate(schema.columns):
        if not col.nullable and batch.column(i).null_count:
            j = _first_false(pc.is_valid(batch.column(i)))
            raise EncodingError(f"row {j} of the batch, column {col.name!r}: expected a value")


def encode_batch(batch: pa.RecordBatch, schema: Schema, prefix: bytes = b"") -> pa.Array:
    """Encode every row of a batch at once (vectorised), as an Arrow binary array.

    Item i is ``prefix`` followed by the encoding of row i (``prefix=b"\\x00"`` gives the
    RFC 9162 leaf-hash input directly). Byte-identical to :func:`encode_row` per row.
    Raises what :func:`encode_rows` raises.
    """
    _check_batch(batch, schema)
    if batch.num_rows == 0:
        return pa.array([], pa.binary())
    pieces = [p for i, c in enumerate(schema.columns) for p in _pieces(batch.column(i), c)]
    head = pa.scalar(prefix + _cbor_head(0x80, len(schema.columns)), pa.binary())
    return pc.binary_join_element_wise(head, *pieces, b"", null_handling="skip")


def encode_rows(batch: pa.RecordBatch, schema: Schema) -> list[bytes]:
    """Encode each row of a batch typed to ``schema`` (as :func:`read_batches` yields).

    Raises :class:`~datasoil.errors.EncodingError` when the batch's Arrow schema is not
    ``schema.to_arrow()`` (field names and types), a non-nullable column holds a null, or a
    float is NaN or infinite.
    """
    return encode_batch(batch, schema).to_pylist()  # type: ignore[no-any-return]


def batch_leaf_hashes(
    batch: pa.RecordBatch, schema: Schema, key: bytes | None = None
) -> list[bytes]:
    """RFC 9162 leaf hashes of a batch's rows (HMAC leaves with ``key``, see
    :func:`datasoil.formats.merkle.keyed_leaf_hash`). Raises what :func:`encode_rows` raises.

    The list form of :func:`batch_leaf_digests` (same hashes).
    """
    packed = batch_leaf_digests(batch, schema, key)
    return [packed[i : i + 32] for i in range(0, len(packed), 32)]


def batch_leaf_digests(batch: pa.RecordBatch, schema: Schema, key: bytes | None = None) -> bytes:
    """The leaf hashes of a batch's rows packed, ``32 * num_rows`` bytes (for
    :meth:`datasoil.formats.merkle.RootBuilder.extend_digests`). Raises what :func:`encode_rows`
    raises, and :class:`~datasoil.errors.ProofError` on a key that is not 32 bytes.

    The encoder writes the leaf-hash prefix in front of each row, and the hashes are
    computed over the encoded Arrow buffer at once (:func:`datasoil.formats.merkle.leaf_digests`).
    """
    prefix = merkle.leaf_input_prefix(key)
    encoded = encode_batch(batch, schema, prefix)
    return merkle.leaf_digests(encoded, key, prefixed=True)


def _encode_value(v: object, col: Column) -> object:
    t = col.type
    if v is None:
        if not col.nullable:
            raise EncodingError(f"column {col.name!r}: expected a value, found null")
        return None
    if t == "bool" and isinstance(v, bool):
        return v
    if t == "int64" and isinstance(v, int) and not isinstance(v, bool):
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise EncodingError(
                f"column {col.name!r}: expected an int64, found {v} (use the decimal type)"
            )
        return v
    if t in ("float64", "float32") and isinstance(v, (int, float)) and not isinstance(v, bool):
        x = float(v)
        if not math.isfinite(x):
            raise EncodingError(
                f"column {col.name!r}: expected a finite {t}, found {v!r} "
                "(NaN and infinities are not encodable)"
            )
        if t == "float32":
            try:
                x = _float32(x)
            except OverflowError:
                raise EncodingError(
                    f"column {col.name!r}: expected a finite float32, found {v!r} (overflow)"
                ) from None
        return x + 0.0
    if t == "string" and isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise EncodingError(
                f"column {col.name!r}: expected valid Unicode text, found lone surrogates"
            ) from None
        return v
    if t == "bytes" and isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if t == "timestamp" and isinstance(v, dt.datetime):
        return _datetime_micros(v)
    if t == "date" and isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return (v - _EPOCH_DATE).days
    if t == "decimal" and isinstance(v, (int, decimal.Decimal, str)) and not isinstance(v, bool):
        return canonical_decimal(v)
    raise EncodingError(f"column {col.name!r}: expected a {t} value, found {v!r}")


def encode_row(values: Sequence[object], schema: Schema) -> bytes:
    """Encode one row given as Python values in schema order.

    Values: ``bool``; ``int`` (int64 range); ``float`` (float32 columns round to the nearest
    float32); ``str``; ``bytes``; aware ``datetime`` for timestamp (naive means UTC);
    ``date``; ``int``/``Decimal``/decimal ``str`` for decimal; ``None`` for null.

    Raises :class:`~datasoil.errors.EncodingError` when a value does not fit its column.
    """
    if len(values) != len(schema.columns):
        raise EncodingError(f"row: expected {len(schema.columns)} values, found {len(values)}")
    return _encode([_encode_value(v, c) for v, c in zip(values, schema.columns, strict=True)])


def _decode_value(v: object, col: Column) -> object:
    if v is None:
        return None
    t = col.type
    if t == "timestamp" and isinstance(v, int) and not isinstance(v, bool):
        return _EPOCH + dt.timedelta(microseconds=v)
    if t == "date" and isinstance(v, int) and not isinstance(v, bool):
        return _EPOCH_DATE + dt.timedelta(days=v)
    if t in ("float64", "float32") and isinstance(v, float):
        return v
    ok = {
        "bool": bool,
        "int64": int,
        "string": str,
        "bytes": bytes,
        "decimal": str,
    }.get(t)
    if ok is not None and isinstance(v, ok) and (t == "bool") == isinstance(v, bool):
        return v
    raise EncodingError(f"column {col.name!r}: expected an encoded {t}, found {v!r}")


def decode_row(data: bytes, schema: Schema) -> tuple[object, ...]:
    """Decode :func:`encode_row` output back to Python values (see :func:`encode_row`).

    Timestamps come back as UTC ``datetime``, dates as ``date``, decimals as canonical
    strings. Raises :class:`~datasoil.errors.EncodingError` on bytes that are not a
    ``datasoil-rows-v1`` row of this schema (including non-canonical encodings).
    """
    try:
        values = libipld.decode_dag_cbor(data)
    except ValueError as exc:
        raise EncodingError(f"row: expected DAG-CBOR, found invalid bytes ({exc})") from None
    if not isinstance(values, list) or len(values) != len(schema.columns):
        raise EncodingError(f"row: expected an array of {len(schema.columns)} values")
    out = tuple(_decode_value(v, c) for v, c in zip(values, schema.columns, strict=True))
    if encode_row(out, schema) != data:
        raise EncodingError("row: expected the canonical encoding, found another")
    return out


# ---------------------------------------------------------------------------------------
# committing


def dataset_leaf_hashes(
    path: Path, schema: Schema, key: bytes | None = None, batch_rows: int = 65536
) -> Iterator[list[bytes]]:
    """Yield, per batch, the leaf hashes of the dataset's rows (keyed with ``key`` if given).

    Raises what :func:`read_batches` and :func:`encode_rows` raise.
    """
    for batch in read_batches(path, schema, batch_rows):
        yield batch_leaf_hashes(batch, schema, key)


def load_schema(path: Path) -> Schema:
    """Read a schema file: the JSON of :meth:`Schema.to_json`, or the output of
    ``datasoil root`` (whose ``schema`` field is used).

    Raises SchemaError when the file is not such JSON.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: expected a JSON schema, found: {exc}") from None
    if isinstance(data, dict) and "schema" in data:  # `datasoil root` output as is
        data = data["schema"]
    return Schema.from_json(data)


def dataset_consistency(
    old: Path, new: Path, schema: Schema, key: bytes | None = None
) -> merkle.ConsistencyProof:
    """The RFC 9162 consistency proof that dataset ``new`` extends dataset ``old``: its
    first rows are ``old``'s rows, in order, under ``schema`` (keyed with ``key``).

    One pass over ``old``, two over ``new`` (its size, then the proof); memory
    logarithmic in the row counts. The proof verifies
    against the two registered roots and row counts alone (no data needed).

    Raises:
        ProofError: ``new`` has fewer rows than ``old``, or its first rows are not
            ``old``'s (the message says where the roots part).
        and what :func:`read_batches` raises.
    """
    old_root, old_size = dataset_root(Path(old), schema, key)
    new_size = sum(len(h) for h in dataset_leaf_hashes(Path(new), schema, key))
    if new_size < old_size:
        raise ProofError(
            f"expected {new} to extend {old}, found {new_size} rows where {old} has {old_size}"
        )
    leaves = (h for hashes in dataset_leaf_hashes(Path(new), schema, key) for h in hashes)
    proof = merkle.consistency_proof_from_iter(leaves, old_size, new_size)
    if proof.old_root != old_root:
        raise ProofError(
            f"expected {new} to extend {old}, found its first {old_size} rows hash to "
            f"0x{proof.old_root.hex()}, not {old}'s root 0x{old_root.hex()}"
        )
    return proof


def dataset_root(
    path: Path, schema: Schema | None = None, key: bytes | None = None
) -> tuple[bytes, int]:
    """Return ``(row root, row count)`` of the dataset at ``path`` (schema inferred if None).

    A dataset with no rows gives :data:`datasoil.formats.merkle.EMPTY_ROOT` and 0; callers that must
    refuse empty input check the count. Raises what :func:`read_batches` raises.
    """
    if schema is None:
        schema = infer_schema(Path(path))
    builder = merkle.RootBuilder()
    for batch in read_batches(Path(path), schema, 65536):
        builder.extend_digests(batch_leaf_digests(batch, schema, key))
    return builder.root(), builder.size
