"""contracts/modules/fate.vy (through contracts/test/FateMock.vy) against the off-chain
definition, `datasoil.formats.fate` (`FateRecord.encode`, `fate_rules`), so the two
definitions of the `datasoil-fate-v1` record cannot drift.

Records come as `FateRecord` values; the chain sees only their encoding and must reach
the verdict the rules of docs/proofs.md give on the *fields* (`_verdict` below, written
from the docs, not from either implementation). A record that is valid for its cleaning
is accepted with its output index only if every field is read at its offset, and a
single field mutated away from the valid value must flip the verdict exactly where the
rules say. Raw byte records (a `kept` byte above 1, wrong lengths) are checked against
the Python rules `datasoil.formats.fate.fate_rules` as well.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasoil.formats import merkle
from datasoil.formats.fate import (
    FATE_NONE,
    FATE_RECORD_SIZE,
    FATE_STEP_NONE,
    FateRecord,
    fate_rules,
)
from tests.boa.conftest import load

U64 = 2**64 - 1
EXAMPLES = 2000 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 150
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def fate():
    return load("test/FateMock")


def _verdict(r: FateRecord, index: int, rows_in: int, rows_out: int) -> tuple[bool, int]:
    """The fate rules of docs/proofs.md on a record's fields: (ok, output index or none)."""
    kept = 1 if r.kept else 0
    ok = (
        r.input_index == index
        and r.kept_before <= index
        and r.kept_before + kept <= rows_out
        and (index + 1 != rows_in or r.kept_before + kept == rows_out)
        and (r.dup_of is None or r.dup_of < index)
    )
    if r.kept:
        ok = ok and r.output_index == r.kept_before and r.step is None and r.dup_of is None
    else:
        ok = ok and r.output_index is None and r.step is not None
    if not ok:
        return False, FATE_NONE
    return True, FATE_NONE if r.output_index is None else r.output_index


@st.composite
def cleanings(draw):
    """A consistent cleaning: each input row kept, or dropped by a step (a dedupe drop
    names an earlier row), with its records; returns (records, rows_out)."""
    n = draw(st.integers(1, 24))
    records, kept_so_far = [], 0
    for i in range(n):
        if draw(st.booleans()):
            records.append(FateRecord(i, True, kept_so_far, kept_so_far, None, None))
            kept_so_far += 1
        else:
            dup = draw(st.none() | st.integers(0, i - 1)) if i else None
            step = draw(st.integers(0, 254))
            records.append(FateRecord(i, False, None, kept_so_far, step, dup))
    return records, kept_so_far


U64S = st.integers(0, 40) | st.integers(0, U64) | st.just(U64 - 1)
OPTIONAL_U64S = st.none() | st.integers(0, 40) | st.integers(0, U64 - 1)
MUTATIONS = {
    "input_index": U64S,
    "kept": st.booleans(),
    "output_index": OPTIONAL_U64S,
    "kept_before": U64S,
    "step": st.none() | st.integers(0, 254),
    "dup_of": OPTIONAL_U64S,
}


def _check(fate, r: FateRecord, index: int, rows_in: int, rows_out: int) -> None:
    data = r.encode()
    assert len(data) == FATE_RECORD_SIZE
    expected = _verdict(r, index, rows_in, rows_out)
    assert tuple(fate.rules(data, index, rows_in, rows_out)) == expected
    ok, out = fate_rules(data, index, rows_in, rows_out)
    assert (ok, FATE_NONE if out is None else out) == expected


def test_constants__match_the_python_definition(fate):
    assert fate.size() == FATE_RECORD_SIZE
    assert fate.no_row() == FATE_NONE
    assert fate.no_step() == FATE_STEP_NONE


@SETTINGS
@given(cleaning=cleanings(), data=st.data())
def test_rules__valid_record_accepted_with_its_output_index(fate, cleaning, data):
    records, rows_out = cleaning
    i = data.draw(st.integers(0, len(records) - 1))
    r = records[i]
    assert _verdict(r, i, len(records), rows_out)[0]
    expected = (True, r.output_index if r.kept else FATE_NONE)
    assert tuple(fate.rules(r.encode(), i, len(records), rows_out)) == expected


@SETTINGS
@given(cleaning=cleanings(), data=st.data())
def test_rules__one_field_changed_matches_the_documented_rules(fate, cleaning, data):
    records, rows_out = cleaning
    i = data.draw(st.integers(0, len(records) - 1))
    field = data.draw(st.sampled_from(sorted(MUTATIONS)))
    value = data.draw(MUTATIONS[field])
    r = FateRecord(**{**records[i].__dict__, field: value})
    _check(fate, r, i, len(records), rows_out)


@SETTINGS
@given(
    r=st.builds(
        FateRecord,
        input_index=U64S,
        kept=st.booleans(),
        output_index=OPTIONAL_U64S,
        kept_before=U64S,
        step=st.none() | st.integers(0, 254),
        dup_of=OPTIONAL_U64S,
    ),
    index=st.integers(0, 40) | st.integers(0, U64 - 1),
    rows_in=st.integers(1, 41) | st.integers(1, U64),
    rows_out=st.integers(0, 41) | st.integers(0, U64),
)
def test_rules__any_record_matches_the_documented_rules(fate, r, index, rows_in, rows_out):
    _check(fate, r, index, rows_in, rows_out)


@SETTINGS
@given(raw=st.binary(min_size=FATE_RECORD_SIZE, max_size=FATE_RECORD_SIZE), data=st.data())
def test_rules__raw_bytes_match_the_python_mirror(fate, raw, data):
    # Any kept byte, including the 254 values FateRecord cannot write.
    raw = raw[:8] + bytes([data.draw(st.integers(0, 255))]) + raw[9:]
    index = data.draw(st.integers(0, 64) | st.just(int.from_bytes(raw[:8], "big")))
    rows_in, rows_out = data.draw(st.integers(1, 2**64)), data.draw(st.integers(0, 2**64))
    ok, out = fate_rules(raw, index, rows_in, rows_out)
    assert tuple(fate.rules(raw, index, rows_in, rows_out)) == (
        ok,
        FATE_NONE if out is None else out,
    )
    if raw[8] > 1:
        assert ok is False


def test_rules__kept_byte_above_one_rejected(fate):
    r = FateRecord(0, True, 0, 0, None, None).encode()
    assert tuple(fate.rules(r, 0, 1, 1)) == (True, 0)
    for kept in (2, 0x80, 0xFF):
        assert tuple(fate.rules(r[:8] + bytes([kept]) + r[9:], 0, 1, 1)) == (False, FATE_NONE)


@SETTINGS
@given(cleaning=cleanings(), data=st.data())
def test_opens__every_record_of_a_fate_tree(fate, cleaning, data):
    records, _ = cleaning
    blobs = [r.encode() for r in records]
    leaves = merkle.leaf_hashes(blobs)
    root = merkle.root(leaves)
    i = data.draw(st.integers(0, len(records) - 1))
    path = list(merkle.inclusion_proof(leaves, i).path)
    assert fate.opens(blobs[i], i, len(records), path, root)
    # Another record, another index, a truncated record: none opens.
    j = data.draw(st.integers(0, len(records) - 1))
    if blobs[j] != blobs[i]:
        assert not fate.opens(blobs[j], i, len(records), path, root)
    if j != i:
        assert not fate.opens(blobs[i], j, len(records), path, root)
    assert not fate.opens(blobs[i][:-1], i, len(records), path, root)
    assert not fate.opens(b"", i, len(records), path, root)
