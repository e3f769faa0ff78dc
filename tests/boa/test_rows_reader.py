"""contracts/modules/rows.vy (through contracts/test/RowsMock.vy) against
`datasoil.formats.rows`: every row the Python encoder writes, of every type, decodes on
chain and is written back byte for byte; and on arbitrary bytes the chain accepts exactly
what a reference reader written here from docs/formats/judge.md ("Values") accepts, with
the same values.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasoil.formats import rows
from tests.boa.conftest import load

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
SETTINGS = settings(
    max_examples=1500 if DEEP else 60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NULL, BOOL, INT, FLOAT, TEXT, BYTES = range(6)
INT64 = (-(2**63), 2**63 - 1)


@pytest.fixture(scope="module")
def mock():
    return load("test/RowsMock")


TYPES = ["bool", "int64", "float64", "float32", "string", "bytes", "timestamp", "date", "decimal"]
WHITE = list(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
TEXT_CHARS = st.sampled_from(WHITE + list("aZ9+-_é\u00df\u01c5\u4e2d\U0001f600")) | st.characters()
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def value_of(type_: str) -> st.SearchStrategy:
    return {
        "bool": st.booleans(),
        "int64": st.integers(*INT64)
        | st.sampled_from([0, -1, 23, 24, 255, 256, 65535, 65536, *INT64]),
        "float64": FINITE,
        "float32": st.floats(width=32, allow_nan=False, allow_infinity=False),
        "string": st.text(TEXT_CHARS, max_size=40) | st.text(max_size=300),
        "bytes": st.binary(max_size=300),
        "timestamp": st.datetimes(min_value=dt.datetime(1, 1, 2), timezones=st.just(dt.UTC)),
        "date": st.dates(),
        "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=3),
    }[type_]


@st.composite
def encoded_rows(draw, max_columns: int = 30) -> tuple[rows.Schema, tuple, bytes]:
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=max_columns))
    schema = rows.Schema(tuple(rows.Column(f"c{i}", t) for i, t in enumerate(types)))
    values = tuple(draw(st.none() | value_of(t)) for t in types)
    return schema, values, rows.encode_row(values, schema)


def reference(data: bytes) -> list[tuple] | None:
    """docs/formats/judge.md's reader: an array of at most 64 scalars with shortest heads,
    int64 integers, finite 64-bit floats but -0.0, strings inside the row, nothing after;
    None when the bytes are not such a row. Values as (kind, num, start, length)."""

    def head(p: int) -> tuple[int, int, int] | None:
        if p >= len(data):
            return None
        first = data[p]
        major, info = first >> 5, first & 31
        if info < 24:
            return major, info, p + 1
        if info > 27:
            return None
        size = 1 << (info - 24)
        if p + 1 + size > len(data):
            return None
        arg = int.from_bytes(data[p + 1 : p + 1 + size], "big")
        if major == 7:
            return (major, arg, p + 1 + size) if info == 27 else None
        if arg < (24 if size == 1 else 1 << (4 * size)):
            return None
        return major, arg, p + 1 + size

    top = head(0)
    if top is None or top[0] != 4 or top[1] > 64:
        return None
    p, values = top[2], []
    for _ in range(top[1]):
        h = head(p)
        if h is None:
            return None
        major, arg, q = h
        if major in (0, 1):
            if arg > INT64[1]:
                return None
            values.append((INT, arg if major == 0 else -1 - arg, 0, 0))
            p = q
        elif major in (2, 3):
            if q + arg > len(data):
                return None
            values.append((BYTES if major == 2 else TEXT, 0, q, arg))
            p = q + arg
        elif major == 7 and data[p] in (0xF4, 0xF5):
            values.append((BOOL, data[p] - 0xF4, 0, 0))
            p = q
        elif major == 7 and data[p] == 0xF6:
            values.append((NULL, 0, 0, 0))
            p = q
        elif major == 7 and data[p] == 0xFB:
            number = struct.unpack(">d", data[p + 1 : q])[0]
            if not math.isfinite(number) or arg == 1 << 63:
                return None
            values.append((FLOAT, arg, 0, 0))
            p = q
        else:
            return None
    return values if p == len(data) else None


def chain_values(decoded) -> list[tuple]:
    return [(v.kind, v.num, v.start, v.length) for v in decoded]


@SETTINGS
@given(case=encoded_rows())
def test_every_encoded_row__decodes_and_encodes_back_byte_for_byte(mock, case):
    schema, values, data = case
    ok, decoded = mock.decode(data)
    assert ok
    assert chain_values(decoded) == reference(data)
    kinds = {"bool": BOOL, "int64": INT, "timestamp": INT, "date": INT, "float64": FLOAT}
    kinds |= {"float32": FLOAT, "string": TEXT, "decimal": TEXT, "bytes": BYTES}
    assert [v.kind for v in decoded] == [
        NULL if x is None else kinds[c.type] for x, c in zip(values, schema.columns, strict=True)
    ]
    assert tuple(mock.reencode(data)) == (True, data)


def _mutations(data: bytes, draw) -> bytes:
    kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "extend"]))
    i = draw(st.integers(0, max(0, len(data) - 1)))
    if kind == "flip":
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    if kind == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=9)) + data[i:]
    if kind == "delete":
        return data[:i] + data[i + 1 :]
    if kind == "truncate":
        return data[:i]
    return data + draw(st.binary(min_size=1, max_size=3))


@SETTINGS
@given(case=encoded_rows(8), data=st.data())
def test_changed_bytes__are_accepted_exactly_when_the_reference_accepts(mock, case, data):
    raw = _mutations(case[2], data.draw)
    expected = reference(raw)
    ok, decoded = mock.decode(raw)
    assert ok == (expected is not None)
    if ok:
        assert chain_values(decoded) == expected
        assert tuple(mock.reencode(raw)) == (True, raw)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (bytes.fromhex("8118"), "a head cut short"),
        (bytes.fromhex("811817"), "23 with a one-byte argument"),
        (bytes.fromhex("81190017"), "a two-byte argument that fits one"),
        (bytes.fromhex("811b8000000000000000"), "2**63, beyond int64"),
        (bytes.fromhex("813b8000000000000000"), "-2**63 - 1"),
        (bytes.fromhex("81fb7ff8000000000000"), "NaN"),
        (bytes.fromhex("81fb7ff0000000000000"), "infinity"),
        (bytes.fromhex("81fb8000000000000000"), "-0.0"),
        (bytes.fromhex("81fa3fc00000"), "a 32-bit float"),
        (bytes.fromhex("81f93e00"), "a 16-bit float"),
        (bytes.fromhex("81f7"), "undefined"),
        (bytes.fromhex("81f0"), "another simple value"),
        (bytes.fromhex("818101"), "a nested array"),
        (bytes.fromhex("81a0"), "a map"),
        (bytes.fromhex("81d82a40"), "a tag"),
        (bytes.fromhex("8163616263" + "00"), "a byte after the row"),
        (bytes.fromhex("8263616263"), "a value missing"),
        (bytes.fromhex("816461626300"[:-2]), "a text past the end"),
        (bytes.fromhex("9f01ff"), "an indefinite array"),
        (bytes.fromhex("01"), "not an array"),
        (b"", "nothing"),
        (bytes.fromhex("9841") + b"\x01" * 65, "65 columns"),
    ],
)
def test_not_a_row__is_refused(mock, raw, why):
    assert reference(raw) is None, why
    assert mock.decode(raw)[0] is False, why
    assert tuple(mock.reencode(raw)) == (False, b""), why


def test_64_columns__is_the_widest_row(mock):
    raw = bytes.fromhex("9840") + b"\x01" * 64
    ok, decoded = mock.decode(raw)
    assert ok and len(decoded) == 64
    assert tuple(mock.reencode(raw)) == (True, raw)


@SETTINGS
@given(num=st.integers(*INT64) | st.integers(2**53 - 5, 2**53 + 5) | st.integers(-(2**60), 2**60))
def test_to_float__is_the_nearest_double_ties_to_even(mock, num):
    assert mock.to_float(num) == struct.unpack(">Q", struct.pack(">d", float(num)))[0]
