"""The subject reader, property-tested: for random `datasoil-rows-v1` rows (every column
type before and after the subject column, random values and nulls) and subject values
that are right or wrong in every way a value can be (kind, length, case, prefix, digits,
type, null), Consent.request_withdrawal reaches the verdict of
datasoil.protocol.consent.subject_value: the same subject on success, the same reason on
refusal."""

from __future__ import annotations

import os

import boa
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasoil.errors import ConsentError
from datasoil.formats import rows
from datasoil.protocol import consent as protocol

from .conftest import bare, event

EXAMPLES = 400 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 40
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALUES = {
    "int64": st.integers(-(2**63), 2**63 - 1),
    "float64": st.floats(allow_nan=False, allow_infinity=False, width=64),
    "bool": st.booleans(),
    "string": st.text(max_size=40),
    "bytes": st.binary(max_size=40),
}


@st.composite
def columns(draw, names):
    out = []
    for name in names:
        type_ = draw(st.sampled_from(sorted(VALUES)))
        out.append((rows.Column(name, type_), draw(st.none() | VALUES[type_])))
    return out


@st.composite
def subject_values(draw):
    """(kind, column type, value, secret): a subject, often malformed."""
    kind = draw(st.sampled_from([protocol.ADDRESS_SUBJECT, protocol.COMMITMENT_SUBJECT]))
    secret = draw(st.binary(min_size=32, max_size=32))
    raw = (
        keccak(secret)
        if kind == protocol.COMMITMENT_SUBJECT
        else draw(st.binary(min_size=20, max_size=20))
    )
    shape = draw(
        st.sampled_from(
            [
                "bytes",
                "text",
                "upper",
                "short",
                "long",
                "no0x",
                "nothex",
                "int",
                "null",
                "other kind",
            ]
        )
    )
    if shape == "bytes":
        return kind, "bytes", raw, secret
    if shape == "other kind":
        return kind, "bytes", draw(st.binary(min_size=20, max_size=32)), secret
    text = "0x" + raw.hex()
    if shape == "upper":
        text = "0x" + raw.hex().upper()
    elif shape == "short":
        text = text[:-2]
    elif shape == "long":
        text += "ab"
    elif shape == "no0x":
        text = "1x" + text[2:]
    elif shape == "nothex":
        text = text[:-1] + draw(st.sampled_from("gGz !"))
    elif shape == "int":
        return kind, "int64", draw(VALUES["int64"]), secret
    elif shape == "null":
        return kind, "string", None, secret
    return kind, "string", text, secret


@SETTINGS
@given(data=st.data())
def test_reader__contract_reaches_the_python_verdict(consent, publish, owner, other, data):
    before = data.draw(columns([f"b{i}" for i in range(data.draw(st.integers(0, 6)))]))
    after = data.draw(columns([f"a{i}" for i in range(data.draw(st.integers(0, 3)))]))
    kind, type_, value, secret = data.draw(subject_values())
    schema = rows.Schema(
        (*(c for c, _ in before), rows.Column("who", type_), *(c for c, _ in after))
    )
    values = (*(v for _, v in before), value, *(v for _, v in after))
    dataset = publish([values], schema)
    column = len(before)
    consent.declare_subjects(dataset.dataset_id, column, kind, sender=owner)
    proof = bare(dataset, 0, secret=secret)
    try:
        subject = protocol.subject_value(dataset.rows[0], column, kind)
    except ConsentError as exc:
        with boa.reverts(str(exc)):
            consent.request_withdrawal(dataset.dataset_id, 0, proof, sender=other)
        return
    if kind == protocol.COMMITMENT_SUBJECT and protocol.commitment(secret) != subject.to_bytes(
        32, "big"
    ):  # a well-formed commitment of some other secret ("other kind" draws one)
        with boa.reverts("consent: secret does not open the row's commitment"):
            consent.request_withdrawal(dataset.dataset_id, 0, proof, sender=other)
        return
    sender = protocol.subject_text(subject, kind) if kind == protocol.ADDRESS_SUBJECT else other
    consent.request_withdrawal(dataset.dataset_id, 0, proof, sender=sender)
    assert event(consent, "WithdrawalRequested").subject == subject.to_bytes(32, "big")
