"""Outlier fences of a column above QUANTILE_MEMORY_ROWS values come from a selection over
the values' order-preserving bits, in streaming passes (formats.recipe._select), not from
a sort held in memory: the same fences, bit for bit, as the sort on any column."""

from __future__ import annotations

import math
import os
import struct

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasoil.formats import recipe

EXAMPLES = 500 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 60

FLOATS = st.floats(allow_nan=False, width=64) | st.sampled_from(
    [0.0, -0.0, 5e-324, -5e-324, 1.0, -1.0, float("inf"), -float("inf"), 1.7976931348623157e308]
)
INTS = st.integers(-(2**63), 2**63 - 1) | st.sampled_from([0, 1, -1, 2**53 + 1])
# Values sharing their top bits (one sign and exponent), and few distinct values: the
# buckets then hold several values, so the in-memory pick and the refinement both run.
CLUSTERED = st.floats(1.0, 1.001) | st.sampled_from([1.0, 1.0000001, 1.5, -0.0, 0.0])
FEW_INTS = st.integers(-3, 40)


def _bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _both(monkeypatch: pytest.MonkeyPatch, frame: pl.LazyFrame, is_int: bool, hold: int):
    sorted_ = recipe._fences(frame, "x", 1.5, is_int)
    with monkeypatch.context() as m:
        m.setattr(recipe, "QUANTILE_MEMORY_ROWS", 0)
        m.setattr(recipe, "SELECT_HOLD", hold)
        selected = recipe._fences(frame, "x", 1.5, is_int)
    return sorted_, selected


def _same(a: dict, b: dict) -> bool:
    keys = [k for k in a if isinstance(a[k], float)]
    return (
        a.keys() == b.keys()
        and all((math.isnan(a[k]) and math.isnan(b[k])) or _bits(a[k]) == _bits(b[k]) for k in keys)
        and all(a[k] == b[k] for k in a if k not in keys)
    )


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    values=st.lists(st.none() | FLOATS, min_size=1, max_size=60)
    | st.lists(st.none() | CLUSTERED, min_size=1, max_size=60),
    nan=st.booleans(),
    hold=st.sampled_from([0, 1, 3, 1 << 22]),
)
def test_select__float_fences_are_the_sorts(values, nan, hold):
    if nan:
        values = [*values, float("nan")]
    frame = pl.LazyFrame({"x": pl.Series(values, dtype=pl.Float64)})
    with pytest.MonkeyPatch.context() as mp:
        sorted_, selected = _both(mp, frame, False, hold)
    assert _same(sorted_, selected), (sorted_, selected)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    values=st.lists(st.none() | INTS, min_size=1, max_size=60)
    | st.lists(st.none() | FEW_INTS, min_size=1, max_size=60),
    hold=st.sampled_from([0, 2, 1 << 22]),
)
def test_select__int_fences_are_the_sorts(values, hold):
    frame = pl.LazyFrame({"x": pl.Series(values, dtype=pl.Int64)})
    with pytest.MonkeyPatch.context() as mp:
        sorted_, selected = _both(mp, frame, True, hold)
    assert _same(sorted_, selected), (sorted_, selected)


def test_select__many_ties_refine_through_all_64_bits(monkeypatch):
    """A rank inside a run of equal values larger than SELECT_HOLD: every 16-bit round
    keeps the whole run, and the value comes from the 64 fixed bits."""
    values = [3.25] * 40 + [-1.0] * 5 + [7.0] * 5
    frame = pl.LazyFrame({"x": values})
    sorted_, selected = _both(monkeypatch, frame, False, 4)
    assert _same(sorted_, selected) and selected["q1"] == selected["q3"] == 3.25
